import {existsSync, mkdtempSync, readFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {describe, expect, it} from 'vitest'

import {runCli} from '../support/cli.js'

const dir = () => mkdtempSync(join(tmpdir(), 'wbc-conventions-'))

describe('the conventions of an oclif CLI', () => {
  it("shows a command's help for `help status`, `status -h` and `status --help` alike", async () => {
    const outputs = await Promise.all(
      [
        ['help', 'status'],
        ['status', '-h'],
        ['status', '--help'],
      ].map((args) => runCli(args, {cwd: dir()})),
    )
    for (const {code, stdout, stderr} of outputs) {
      expect(code).toBe(0)
      expect(stderr).toBe('')
      expect(stdout).toContain('USAGE\n  $ wbc status')
      expect(stdout).toContain('--max-age=<value>')
    }
    expect(outputs[1].stdout).toBe(outputs[0].stdout)
    expect(outputs[2].stdout).toBe(outputs[0].stdout)
  })

  it('answers a misspelled command with the closest one, as a usage error (exit 2) like every other', async () => {
    const {code, stdout, stderr} = await runCli(['stauts'], {cwd: dir()})
    expect({code, stdout}).toEqual({code: 2, stdout: ''})
    expect(stderr).toBe('Error: stauts is not a wbc command. Did you mean wbc status?\nHint: Run `wbc help` for the list of commands.\n')

    const nested = await runCli(['deadletter', 'lsit'], {cwd: dir()})
    expect(nested.code).toBe(2)
    expect(nested.stderr).toBe('Error: deadletter lsit is not a wbc command. Did you mean wbc deadletter list?\nHint: Run `wbc help deadletter` for the list of commands.\n')

    const far = await runCli(['xyzzy'], {cwd: dir()})
    expect(far.code).toBe(2)
    expect(far.stderr).toBe('Error: xyzzy is not a wbc command.\nHint: Run `wbc help` for the list of commands.\n')

    const flag = await runCli(['--jsn'], {cwd: dir()})
    expect(flag.code).toBe(2)
    expect(flag.stderr).toBe('Error: Nonexistent flag: --jsn\nHint: Run `wbc help` for the list of commands; flags go after the command.\n')

    const help = await runCli(['help', 'flsuh'], {cwd: dir()})
    expect(help.code).toBe(2)
    expect(help.stderr).toBe('Error: flsuh is not a wbc command. Did you mean wbc flush?\nHint: Run `wbc help` for the list of commands.\n')
  })

  it('writes one JSON error document under --json for an unknown command', async () => {
    const {code, stdout, stderr} = await runCli(['stauts', '--json'], {cwd: dir()})
    expect(code).toBe(2)
    expect(stderr).toBe('')
    expect(JSON.parse(stdout)).toEqual({
      error: {code: 'USAGE', message: 'stauts is not a wbc command. Did you mean wbc status?', hint: 'Run `wbc help` for the list of commands.', exitCode: 2},
    })
  })

  it('names arguments a command does not take, in the same format, JSON included', async () => {
    const plain = await runCli(['status', 'extra'], {cwd: dir()})
    expect(plain.code).toBe(2)
    expect(plain.stderr).toBe('Error: Unexpected argument for wbc status: extra\nHint: See `wbc help status` for what it takes.\n')

    const json = await runCli(['doctor', 'one', 'two', '--json'], {cwd: dir()})
    expect(json.code).toBe(2)
    expect(JSON.parse(json.stdout)).toEqual({
      error: {code: 'USAGE', message: 'Unexpected arguments for wbc doctor: one two', hint: 'See `wbc help doctor` for what it takes.', exitCode: 2},
    })

    const taken = await runCli(['compact', 'events', 'more', '--json'], {cwd: dir()})
    expect(taken.code).toBe(2)
    expect(JSON.parse(taken.stdout).error).toMatchObject({code: 'USAGE', message: 'Unexpected argument: more', exitCode: 2})
  })

  it('describes each topic by what it holds, not by one of its commands', async () => {
    const {code, stdout} = await runCli(['--help'], {cwd: dir()})
    expect(code).toBe(0)
    const words = stdout.replaceAll(/\s+/g, ' ')
    expect(words).toContain('deadletter Entries the database refused: list them with the reason, retry them, or drop them for good.')
    expect(words).toContain('locks Flush leases: who holds each, whether the holder is alive; release a stuck one.')
    expect(words).toContain('streams Streams under the prefix (insert queues, the event stream): list them, read their entries.')
    expect(stdout).not.toContain('Discard dead letters for good. Asks')
    const topic = await runCli(['deadletter'], {cwd: dir()})
    expect(topic.stdout.split('\n')[0]).toBe('Entries the database refused: list them with the reason, retry them, or drop them for good.')
  })

  it('generates bash and zsh completion that knows every command', async () => {
    const cache = dir()
    const env = {HOME: cache, XDG_CACHE_HOME: cache}
    const refreshed = await runCli(['autocomplete', '--refresh-cache'], {cwd: dir(), env})
    expect(refreshed.code).toBe(0)
    const bash = readFileSync(join(cache, 'wbc/autocomplete/functions/bash/wbc.bash'), 'utf8')
    const zsh = readFileSync(join(cache, 'wbc/autocomplete/functions/zsh/_wbc'), 'utf8')
    for (const command of ['status --json', 'flush', 'deadletter:list', 'streams:tail']) expect(bash).toContain(command)
    for (const command of ['status', 'flush', 'deadletter', 'recover']) expect(zsh).toContain(command)
    expect(existsSync(join(cache, 'wbc/autocomplete/bash_setup'))).toBe(true)

    const script = await runCli(['autocomplete', 'script', 'zsh'], {cwd: dir(), env})
    expect(script.code).toBe(0)
    expect(script.stdout).toContain('wbc/autocomplete/zsh_setup')
  })
})
