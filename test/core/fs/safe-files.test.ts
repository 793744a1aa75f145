import {chmodSync, chownSync, closeSync, existsSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, statSync, symlinkSync, writeFileSync, writeSync} from 'node:fs'
import {execFileSync} from 'node:child_process'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {describe, expect, it} from 'vitest'

import {createPrivateFileIfAbsent, openPrivateAppend, writeFileAtomic} from '../../../src/core/fs/safe-files.js'

const fresh = () => mkdtempSync(join(tmpdir(), 'wbc-safe-'))
const modeOf = (path: string) => statSync(path).mode & 0o777
const errorOf = (fn: () => unknown) => {
  try {
    fn()
  } catch (error) {
    return error as {code: string; message: string; hint?: string; exitCode: number}
  }
  return null
}

describe('writeFileAtomic', () => {
  it('never writes through a link planted at a predictable temporary name', () => {
    const dir = fresh()
    const victim = join(dir, 'victim')
    writeFileSync(victim, 'secret', {mode: 0o600})
    const out = join(dir, 'wbc.prom')
    // The names the old code used (`<out>.<pid>.tmp`) and a spread of others an attacker might guess.
    for (const pid of [process.pid, ...Array.from({length: 50}, (_, i) => i + 1)]) symlinkSync(victim, `${out}.${pid}.tmp`)
    writeFileAtomic(out, 'metrics\n', 'the metrics file')
    expect(readFileSync(victim, 'utf8')).toBe('secret')
    expect(readFileSync(out, 'utf8')).toBe('metrics\n')
    expect(modeOf(out)).toBe(0o600)
    // No temporary file is left behind.
    expect(readdirSync(dir).filter((name) => name.startsWith('.'))).toEqual([])
  })

  it('refuses a symbolic link at the path (the link and its target stay as they are)', () => {
    const dir = fresh()
    const target = join(dir, 'target')
    writeFileSync(target, 'kept')
    const out = join(dir, 'out')
    symlinkSync(target, out)
    expect(errorOf(() => writeFileAtomic(out, 'x', 'the metrics file'))).toMatchObject({
      code: 'SYMLINK_REFUSED',
      exitCode: 2,
      message: `the metrics file ${out} is a symbolic link; wbc does not write through links`,
    })
    expect(readlinkSync(out)).toBe(target)
    expect(readFileSync(target, 'utf8')).toBe('kept')
    expect(readdirSync(dir).sort()).toEqual(['out', 'target'])
  })

  it('replaces an existing file atomically with the mode asked for', () => {
    const out = join(fresh(), 'out')
    writeFileSync(out, 'old', {mode: 0o666})
    writeFileAtomic(out, 'new', 'the metrics file', 0o644)
    expect(readFileSync(out, 'utf8')).toBe('new')
    expect(modeOf(out)).toBe(0o644)
  })
})

describe('openPrivateAppend', () => {
  it('refuses a symbolic link, dangling or not', () => {
    const dir = fresh()
    const target = join(dir, 'target')
    writeFileSync(target, 'kept\n')
    symlinkSync(target, join(dir, 'link'))
    symlinkSync(join(dir, 'missing'), join(dir, 'dangling'))
    for (const name of ['link', 'dangling']) {
      expect(errorOf(() => openPrivateAppend(join(dir, name), 'the archive'))).toMatchObject({
        code: 'SYMLINK_REFUSED',
        message: `the archive ${join(dir, name)} is a symbolic link; wbc does not write through links`,
      })
    }
    expect(readFileSync(target, 'utf8')).toBe('kept\n')
    expect(existsSync(join(dir, 'missing'))).toBe(false)
  })

  it('creates 0600, narrows an existing loose mode to 0600 and appends', () => {
    const dir = fresh()
    const created = join(dir, 'new.ndjson')
    closeSync(openPrivateAppend(created, 'the archive'))
    expect(modeOf(created)).toBe(0o600)
    const loose = join(dir, 'loose.ndjson')
    writeFileSync(loose, 'a\n')
    chmodSync(loose, 0o644)
    const fd = openPrivateAppend(loose, 'the archive')
    writeSync(fd, 'b\n')
    closeSync(fd)
    expect(readFileSync(loose, 'utf8')).toBe('a\nb\n')
    expect(modeOf(loose)).toBe(0o600)
  })

  it('refuses a named pipe (without blocking) and a folder', () => {
    const dir = fresh()
    const fifo = join(dir, 'fifo')
    execFileSync('mkfifo', [fifo])
    expect(errorOf(() => openPrivateAppend(fifo, 'the archive'))).toMatchObject({code: 'NOT_A_FILE', message: `the archive ${fifo} is a named pipe, not a regular file`})
    expect(errorOf(() => openPrivateAppend(dir, 'the archive'))).toMatchObject({code: 'NOT_A_FILE', message: `the archive ${dir} is a directory, not a regular file`})
  })

  it.skipIf(process.getuid?.() !== 0)('refuses a file of another user (root must not append to it)', () => {
    const theirs = join(fresh(), 'theirs.ndjson')
    writeFileSync(theirs, 'theirs\n', {mode: 0o600})
    chownSync(theirs, 65534, 65534)
    expect(errorOf(() => openPrivateAppend(theirs, 'the archive'))).toMatchObject({code: 'FOREIGN_OWNER', message: `the archive ${theirs} belongs to another user (uid 65534; wbc runs as uid 0)`})
    expect(readFileSync(theirs, 'utf8')).toBe('theirs\n')
    expect(modeOf(theirs)).toBe(0o600)
  })
})

describe('createPrivateFileIfAbsent', () => {
  it('creates 0600 once, keeps an existing file, refuses a dangling link (a link to a file only when allowed)', () => {
    const dir = fresh()
    const path = join(dir, 'db.sqlite')
    expect(createPrivateFileIfAbsent(path, 'the SQLite database')).toBe(true)
    expect(modeOf(path)).toBe(0o600)
    expect(createPrivateFileIfAbsent(path, 'the SQLite database')).toBe(false)
    const dangling = join(dir, 'dangling')
    symlinkSync(join(dir, 'nowhere'), dangling)
    expect(errorOf(() => createPrivateFileIfAbsent(dangling, 'the SQLite database', {allowLink: true}))).toMatchObject({code: 'SYMLINK_REFUSED'})
    expect(existsSync(join(dir, 'nowhere'))).toBe(false)
    const link = join(dir, 'link')
    symlinkSync(path, link)
    expect(createPrivateFileIfAbsent(link, 'the SQLite database', {allowLink: true})).toBe(false)
    expect(errorOf(() => createPrivateFileIfAbsent(link, 'the checkpoint'))).toMatchObject({code: 'SYMLINK_REFUSED'})
  })
})
