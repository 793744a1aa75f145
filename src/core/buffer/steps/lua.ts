import {readFileSync} from 'node:fs'

/**
 * The Lua of a step, ready to load: `lua/{name}.lua` with every `--@include {piece}` line replaced
 * by `lua/include/{piece}.lua` (itself expanded the same way). A piece is put in once per script,
 * where it is first included, so pieces that need one another may each say so.
 */
export function stepLua(name: string): string {
  return expand(read(`${name}.lua`), new Set())
}

const read = (path: string) => readFileSync(new URL(`./lua/${path}`, import.meta.url), 'utf8')

function expand(source: string, included: Set<string>): string {
  return source.replace(/^--@include ([a-z-]+)[ \t]*$/gm, (_line, piece: string) => {
    if (included.has(piece)) return `-- (${piece}: included above)`
    included.add(piece)
    return expand(read(`include/${piece}.lua`), included)
  })
}
