/** Minimal ANSI styling: on for a terminal, off under NO_COLOR, --no-color or when piped; --color forces it on. */
export interface Style {
  color: boolean
  bold(text: string): string
  dim(text: string): string
  red(text: string): string
  green(text: string): string
  yellow(text: string): string
}

const wrap = (enabled: boolean, open: number, close: number) => (text: string) => (enabled ? `\u001B[${open}m${text}\u001B[${close}m` : text)

export function createStyle(color: boolean): Style {
  return {
    color,
    bold: wrap(color, 1, 22),
    dim: wrap(color, 2, 22),
    red: wrap(color, 31, 39),
    green: wrap(color, 32, 39),
    yellow: wrap(color, 33, 39),
  }
}

/** `flag`: true for an explicit --color (colour even into a pipe), false for --no-color, undefined to decide from NO_COLOR and the terminal. */
export function colorWanted(flag: boolean | undefined, stream: NodeJS.WriteStream = process.stdout, env: NodeJS.ProcessEnv = process.env): boolean {
  if (flag !== undefined) return flag
  return !('NO_COLOR' in env) && Boolean(stream.isTTY)
}
