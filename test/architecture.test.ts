import {readdirSync, readFileSync, statSync} from 'node:fs'
import {dirname, join, relative, resolve} from 'node:path'

import {describe, expect, it} from 'vitest'

/**
 * The layering the design relies on, read from the source: static imports only (a lazy
 * `import()` is how a command avoids loading what it does not need, and is allowed to point up).
 */
const root = resolve(import.meta.dirname, '..', 'src')

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name)
    if (statSync(path).isDirectory()) return sourceFiles(path)
    return /\.tsx?$/.test(name) && !name.endsWith('.d.ts') ? [path] : []
  })
}

/** The files a file imports statically (type-only imports included: they tie the modules together too). */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8')
  const targets: string[] = []
  for (const match of text.matchAll(/^(?:import|export)\b[^'"]*?from\s+'(\.{1,2}\/[^']+)'|^import\s+'(\.{1,2}\/[^']+)'/gm)) {
    const spec = (match[1] ?? match[2]).replace(/\.js$/, '')
    const base = resolve(dirname(file), spec)
    const found = [`${base}.ts`, `${base}.tsx`, join(base, 'index.ts')].find((candidate) => {
      try {
        return statSync(candidate).isFile()
      } catch {
        return false
      }
    })
    if (found) targets.push(found)
  }
  return targets
}

const files = sourceFiles(root)
const graph = new Map(files.map((file) => [file, importsOf(file)]))
const name = (file: string) => relative(root, file)

describe('the module layers', () => {
  it('has no import cycle in src/', () => {
    const cycles: string[] = []
    const state = new Map<string, 'open' | 'done'>()
    const stack: string[] = []
    const visit = (file: string) => {
      state.set(file, 'open')
      stack.push(file)
      for (const next of graph.get(file) ?? []) {
        if (state.get(next) === 'open') cycles.push([...stack.slice(stack.indexOf(next)), next].map(name).join(' > '))
        else if (!state.has(next)) visit(next)
      }
      stack.pop()
      state.set(file, 'done')
    }
    for (const file of files) if (!state.has(file)) visit(file)
    expect(cycles).toEqual([])
  })

  it('keeps the store surface (src/core/ipc) and the SQL layer (src/core/sql) free of the buffer layer', () => {
    const upward = files
      .filter((file) => /^core\/(ipc|sql)\//.test(name(file)))
      .flatMap((file) => (graph.get(file) ?? []).filter((target) => name(target).startsWith('core/buffer/')).map((target) => `${name(file)} imports ${name(target)}`))
    expect(upward).toEqual([])
  })

  it('finds the imports it checks (the reader is not blind)', () => {
    expect(graph.get(join(root, 'core', 'buffer', 'flusher.ts'))?.map(name)).toContain('core/buffer/flush/run.ts')
    expect(files.length).toBeGreaterThan(100)
  })
})
