import {lstatSync, statSync} from 'node:fs'
import {dirname} from 'node:path'

import type {WbcConfig} from '../config/schema.js'
import {resolveConnection} from '../config/connections.js'

/** A file or folder wbc keeps that other users could read, write or reach, and how to close it. */
export interface FileModeFinding {
  path: string
  problem: string
  fix: string
}

interface Kept {
  path: string
  kind: 'folder' | 'file' | 'socket'
}

/**
 * The files and folders of this config that must be owner-only: the socket and its folder, the
 * checkpoint with its folder and lock files, and each SQLite database file (with -wal and -shm).
 */
export function keptFiles(config: WbcConfig): Kept[] {
  const kept: Kept[] = []
  if (config.ipc.driver === 'memory') {
    kept.push({path: dirname(config.ipc.socket), kind: 'folder'}, {path: config.ipc.socket, kind: 'socket'})
    const checkpoint = config.buffer.checkpointPath
    kept.push({path: dirname(checkpoint), kind: 'folder'})
    for (const path of [checkpoint, `${checkpoint}-lock`, `${checkpoint}.lock`]) kept.push({path, kind: 'file'})
  }
  for (const path of sqliteFiles(config)) for (const file of [path, `${path}-wal`, `${path}-shm`]) kept.push({path: file, kind: 'file'})
  // One folder may hold several of them (./.wbc/): each path once.
  return kept.filter((k, i) => kept.findIndex((o) => o.path === k.path) === i)
}

export function sqliteFiles(config: WbcConfig): string[] {
  const files: string[] = []
  for (const [name, target] of Object.entries(config.connections)) {
    try {
      const resolved = resolveConnection(name, target)
      const filename = (resolved.knex.connection as {filename?: unknown} | undefined)?.filename
      if (resolved.dialect === 'sqlite' && typeof filename === 'string' && filename !== ':memory:' && !filename.startsWith('file:')) files.push(filename)
    } catch {
      // An invalid connection is the database check's to report.
    }
  }
  return files
}

/** Each kept path that exists and is not this user's alone; absent paths are fine (created owner-only). */
export function fileModeFindings(kept: Kept[]): FileModeFinding[] {
  const self = typeof process.getuid === 'function' ? process.getuid() : null
  if (self === null) return [] // No POSIX owners and modes (Windows).
  const findings: FileModeFinding[] = []
  for (const {path, kind} of kept) {
    let stats
    try {
      stats = lstatSync(path).isSymbolicLink() ? statSync(path) : lstatSync(path)
    } catch {
      continue
    }
    const mode = stats.mode & 0o777
    if (stats.uid !== self) findings.push({path, problem: `${path} belongs to another user (uid ${stats.uid}; wbc runs as uid ${self})`, fix: `chown ${self} ${path} (or run wbc as its owner)`})
    if (mode & 0o077) {
      const wanted = kind === 'folder' ? '700' : '600'
      const why = kind === 'folder' ? 'others can reach what is inside' : kind === 'socket' ? 'others can connect' : 'others can read it'
      findings.push({path, problem: `${path} has mode ${mode.toString(8)}, expected ${wanted}: ${why}`, fix: `chmod ${wanted} ${path}`})
    }
  }
  return findings
}
