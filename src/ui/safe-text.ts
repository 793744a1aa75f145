/**
 * Text that reaches a person's terminal. Anything read from the state store or said by a service
 * (where values, field values, error texts, lease holders' host names, stream entries, key names)
 * may hold characters that drive the terminal or fake output lines: escape sequences can retitle
 * the window, clear the screen or hide text; a newline adds a row a cron script will parse; a
 * bidirectional override shows text in another order than it is stored. They are shown escaped
 * instead, in a visible form (`\x1b`, `\n`, `\u202e`). JSON output is never passed through here:
 * JSON.stringify already escapes C0 controls and the document stays exact.
 *
 * A backslash is left as it is, so a value that holds the four characters `\x1b` looks like one
 * holding ESC; `--json` tells them apart.
 */

/**
 * C0 controls (tab and newline included), DEL, C1 controls, the Arabic letter mark, the zero-width
 * space, the left-to-right and right-to-left marks, the line and paragraph separators, the bidi
 * embeddings, overrides and isolates, the invisible operators and deprecated format characters
 * (U+2060–U+206F) and the byte order mark.
 */
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200b\u200e\u200f\u2028-\u202e\u2060-\u206f\ufeff]/g
const UNSAFE_BUT_LINES = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200b\u200e\u200f\u2028-\u202e\u2060-\u206f\ufeff]/g
/** The colour codes wbc's own styling (and Ink's) adds: Select Graphic Rendition, nothing else. */
const SGR = /\u001b\[[0-9;]*m/y

const SHORT: Record<string, string> = {'\n': '\\n', '\r': '\\r', '\t': '\\t'}

function escapeOne(char: string): string {
  const short = SHORT[char]
  if (short) return short
  const code = char.charCodeAt(0)
  return code < 0x100 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`
}

/** One value, shown on one line: every character that could act on the terminal, newline and tab included, escaped. */
export function printable(value: unknown): string {
  return String(value).replace(UNSAFE, escapeOne)
}

/**
 * A whole rendered output, the last line of defence before it is written: the same escaping, but
 * its own newlines and tabs stay, and (with colour on) so do the SGR colour codes the renderer
 * added. Values must still go through `printable` where they are put into the text: only there can
 * a newline inside a value be told from the newline between two lines.
 */
export function printableLines(text: string, keepColour = false): string {
  return text.replace(UNSAFE_BUT_LINES, (char, offset: number) => {
    if (keepColour && char === '\u001b') {
      SGR.lastIndex = offset
      if (SGR.test(text)) return char
    }
    return escapeOne(char)
  })
}

/**
 * JSON text made safe for a terminal and still exact: JSON.stringify leaves DEL, C1 controls and
 * the bidi and separator characters raw inside strings; as `\uXXXX` escapes they parse back to the
 * same value. Outside strings JSON has only ASCII, so only string contents change.
 */
export function printableJson(json: string): string {
  return json.replace(UNSAFE_BUT_LINES, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`)
}

/** Text the renderer made itself (colour codes included) and that render helpers pass through as it is. */
export class Rendered {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text
  }
}

/** Marks text built by wbc itself (e.g. a coloured figure) so a table cell is not escaped again. */
export const rendered = (text: string) => new Rendered(text)

/** A table cell or pair value: a value to escape, or text wbc rendered itself. */
export type Cell = string | number | Rendered

export const cellText = (cell: Cell): string => (cell instanceof Rendered ? cell.text : printable(cell))
