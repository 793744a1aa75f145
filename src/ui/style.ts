/** Minimal ANSI styling that switches off under NO_COLOR, --no-color, or when not on a terminal. */
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

export function colorWanted(flag: boolean, stream: NodeJS.WriteStream = process.stdout, env: NodeJS.ProcessEnv = process.env): boolean {
  return flag && !('NO_COLOR' in env) && Boolean(stream.isTTY)
}
