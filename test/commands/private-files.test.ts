import {spawn} from 'node:child_process'
import {chmodSync, existsSync, mkdtempSync, statSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {describe, expect, it} from 'vitest'

import {runCli} from '../support/cli.js'
import {until} from '../support/spawn.js'

const bin = join(import.meta.dirname, '..', '..', 'bin', 'run.js')
const modeOf = (path: string) => (statSync(path).mode & 0o777).toString(8)

/** `wbc demo` started by a shell with umask 000 (a careless service manager). */
function demoUnderLooseUmask(cwd: string, seconds: number) {
  const env: Record<string, string | undefined> = {...process.env, NO_COLOR: '1'}
  for (const name of ['WBC_CONFIG', 'WBC_REDIS_URL', 'DATABASE_URL']) delete env[name]
  const child = spawn('sh', ['-c', `umask 000 && exec "${process.execPath}" "${bin}" demo --seconds ${seconds} --rate 200`], {cwd, env, stdio: ['ignore', 'pipe', 'pipe']})
  let output = ''
  child.stdout.on('data', (c) => (output += c))
  child.stderr.on('data', (c) => (output += c))
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
  return {exit, output: () => output}
}

type Check = {name: string; ok: boolean; detail: string; warning?: string; fix?: string}
const filesCheck = async (cwd: string) => {
  const doctor = await runCli(['doctor', '--json'], {cwd})
  return (JSON.parse(doctor.stdout).checks as Check[]).find((c) => c.name === 'files')
}

describe('the files of the embedded default are owner-only, and doctor checks them', () => {
  it('under umask 000 the demo creates .wbc 0700, socket, checkpoint, lock files and SQLite database 0600', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'wbc-private-'))
    const wbcDir = join(cwd, '.wbc')
    const demo = demoUnderLooseUmask(cwd, 4)
    await until(() => existsSync(join(wbcDir, 'wbc.sock')), 20_000, 'the demo socket')
    const whileRunning = {
      '.wbc': modeOf(wbcDir),
      'wbc.sock': modeOf(join(wbcDir, 'wbc.sock')),
      'wbc.sqlite': modeOf(join(wbcDir, 'wbc.sqlite')),
      'wbc.sqlite-wal': modeOf(join(wbcDir, 'wbc.sqlite-wal')),
      'checkpoint.lmdb': modeOf(join(wbcDir, 'checkpoint.lmdb')),
      'checkpoint.lmdb-lock': modeOf(join(wbcDir, 'checkpoint.lmdb-lock')),
      'checkpoint.lmdb.lock': modeOf(join(wbcDir, 'checkpoint.lmdb.lock')),
    }
    expect(whileRunning).toEqual({
      '.wbc': '700',
      'wbc.sock': '600',
      'wbc.sqlite': '600',
      'wbc.sqlite-wal': '600',
      'checkpoint.lmdb': '600',
      'checkpoint.lmdb-lock': '600',
      'checkpoint.lmdb.lock': '600',
    })
    expect(await filesCheck(cwd)).toEqual({name: 'files', ok: true, detail: 'the socket, checkpoint and database files that exist are owner-only'})
    expect(await demo.exit, demo.output()).toBe(0)
  })

  it('doctor warns about each file or folder open to others, with the fix; the application refuses the open folder', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'wbc-private-'))
    const wbcDir = join(cwd, '.wbc')
    const demo = demoUnderLooseUmask(cwd, 1)
    expect(await demo.exit, demo.output()).toBe(0)
    chmodSync(wbcDir, 0o755)
    chmodSync(join(wbcDir, 'wbc.sqlite'), 0o644)
    chmodSync(join(wbcDir, 'checkpoint.lmdb'), 0o640)
    const check = await filesCheck(cwd)
    expect(check).toEqual({
      name: 'files',
      ok: true,
      detail: check!.warning,
      warning: [
        `${wbcDir} has mode 755, expected 700: others can reach what is inside`,
        `${join(wbcDir, 'checkpoint.lmdb')} has mode 640, expected 600: others can read it`,
        `${join(wbcDir, 'wbc.sqlite')} has mode 644, expected 600: others can read it`,
      ].join('; '),
      fix: [`chmod 700 ${wbcDir}`, `chmod 600 ${join(wbcDir, 'checkpoint.lmdb')}`, `chmod 600 ${join(wbcDir, 'wbc.sqlite')}`].join('; '),
    })
    const human = await runCli(['doctor'], {cwd})
    expect(human.stdout).toContain(`warn files: ${wbcDir} has mode 755`)
    expect(human.stdout).toContain(`     fix: chmod 700 ${wbcDir}; chmod 600 ${join(wbcDir, 'checkpoint.lmdb')}; chmod 600 ${join(wbcDir, 'wbc.sqlite')}`)
    // And an application will not serve its socket in the open folder.
    const again = demoUnderLooseUmask(cwd, 1)
    expect(await again.exit).toBe(2)
    expect(again.output()).toContain(`the folder of the socket ${wbcDir} is open to other users (mode 755)`)
  })
})
