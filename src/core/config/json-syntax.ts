/**
 * Where a JSON text first goes wrong, as line and column, and what was expected there. JSON.parse
 * says "at position N" only for some errors, and for others quotes the text itself (which may hold
 * a password): this scanner walks the grammar and never quotes more than one character.
 */
export interface JsonSyntaxProblem {
  line: number
  column: number
  /** What is wrong, e.g. `expected "," or "}" but found "]"`. */
  problem: string
}

class Stop extends Error {
  constructor(
    readonly at: number,
    readonly problem: string,
  ) {
    super(problem)
  }
}

export function findJsonSyntaxProblem(text: string): JsonSyntaxProblem | undefined {
  let at = text.charCodeAt(0) === 0xfeff ? 1 : 0
  const found = () => (at >= text.length ? 'the end of the file' : `"${JSON.stringify(text[at]).slice(1, -1)}"`)
  const fail = (expected: string): never => {
    throw new Stop(at, `expected ${expected} but found ${found()}`)
  }
  const space = () => {
    while (at < text.length && ' \t\n\r'.includes(text[at])) at++
  }
  const literal = (word: string) => {
    for (const char of word) {
      if (text[at] !== char) fail(`"${word}"`)
      at++
    }
  }
  const string = () => {
    at++ // the opening quote
    for (;;) {
      if (at >= text.length) fail("a closing '\"'")
      const char = text[at]
      if (char === '"') return void at++
      if (char < ' ') throw new Stop(at, 'a line break or control character inside a string (write it as \\n or \\u00XX)')
      if (char === '\\') {
        at++
        if (text[at] === 'u') {
          at++
          for (let i = 0; i < 4; i++, at++) if (!/[0-9a-fA-F]/.test(text[at] ?? '')) fail('four hex digits after \\u')
          continue
        }
        if (!'"\\/bfnrt'.includes(text[at] ?? 'x')) fail('an escape: \\" \\\\ \\/ \\b \\f \\n \\r \\t or \\uXXXX')
      }
      at++
    }
  }
  const number = () => {
    const match = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(at))
    if (!match) fail('a value')
    at += match![0].length
  }
  const value = (): void => {
    space()
    const char = text[at]
    if (char === '{') return object()
    if (char === '[') return array()
    if (char === '"') return string()
    if (char === 't') return literal('true')
    if (char === 'f') return literal('false')
    if (char === 'n') return literal('null')
    if (char === '-' || (char >= '0' && char <= '9')) return number()
    fail('a value')
  }
  const object = () => {
    at++
    space()
    if (text[at] === '}') return void at++
    for (;;) {
      space()
      if (text[at] !== '"') fail('a field name in double quotes')
      string()
      space()
      if (text[at] !== ':') fail('":"')
      at++
      value()
      space()
      if (text[at] === ',') {
        at++
        space()
        if (text[at] === '}') fail('another field (no comma after the last one)')
        continue
      }
      if (text[at] === '}') return void at++
      fail('"," or "}"')
    }
  }
  const array = () => {
    at++
    space()
    if (text[at] === ']') return void at++
    for (;;) {
      value()
      space()
      if (text[at] === ',') {
        at++
        space()
        if (text[at] === ']') fail('another value (no comma after the last one)')
        continue
      }
      if (text[at] === ']') return void at++
      fail('"," or "]"')
    }
  }
  try {
    value()
    space()
    if (at < text.length) fail('the end of the file (one JSON value only)')
    return undefined
  } catch (error) {
    if (!(error instanceof Stop)) throw error
    const before = text.slice(0, error.at).split('\n')
    return {line: before.length, column: before.at(-1)!.length + 1, problem: error.problem}
  }
}
