import {describe, expect, it} from 'vitest'

import {printable, printableJson, printableLines, rendered} from '../../src/ui/safe-text.js'
import {renderPairs, renderTable} from '../../src/ui/table.js'

/** Every code point that must never reach a terminal raw from a value. */
const UNSAFE = [
  ...Array.from({length: 0x20}, (_, i) => i),
  ...Array.from({length: 0x21}, (_, i) => 0x7f + i),
  0x061c,
  0x200b,
  0x200e,
  0x200f,
  ...Array.from({length: 7}, (_, i) => 0x2028 + i),
  ...Array.from({length: 0x10}, (_, i) => 0x2060 + i),
  0xfeff,
].map((code) => String.fromCharCode(code))

describe('printable', () => {
  it('escapes each unsafe character visibly and leaves no raw one', () => {
    for (const char of UNSAFE) {
      const shown = printable(`a${char}b`)
      expect(shown, `U+${char.charCodeAt(0).toString(16)}`).toMatch(/^a\\(x[0-9a-f]{2}|u[0-9a-f]{4}|[nrt])b$/)
    }
    expect(printable('7\u001b]0;PWNED\u0007\n\t\r\u009b\u202e\u2066\u2028\u007f')).toBe('7\\x1b]0;PWNED\\x07\\n\\t\\r\\x9b\\u202e\\u2066\\u2028\\x7f')
  })

  it('keeps ordinary text, accents, emoji and joiners as they are; is idempotent', () => {
    const text = 'café – 東京 👩‍👩‍👧 C:\\path "quoted" ‍'
    expect(printable(text)).toBe(text)
    expect(printable(printable('a\u001bb\nc'))).toBe(printable('a\u001bb\nc'))
  })

  it('printableLines keeps line breaks, tabs and (when asked) SGR colours only', () => {
    expect(printableLines('a\u001b[31mred\u001b[39m\n\tb\u001b[2J\u001b]0;x\u0007')).toBe('a\\x1b[31mred\\x1b[39m\n\tb\\x1b[2J\\x1b]0;x\\x07')
    expect(printableLines('a\u001b[31mred\u001b[39m\n\tb\u001b[2J\u001b]0;x\u0007', true)).toBe('a\u001b[31mred\u001b[39m\n\tb\\x1b[2J\\x1b]0;x\\x07')
  })

  it('printableJson escapes what JSON.stringify leaves raw and still parses to the exact value', () => {
    const value = {v: UNSAFE.join(''), [UNSAFE.join('')]: ['\u202egnp.exe']}
    const text = printableJson(JSON.stringify(value, null, 2))
    for (const char of UNSAFE.filter((c) => c !== '\n')) expect(text.includes(char), `U+${char.charCodeAt(0).toString(16)}`).toBe(false)
    expect(JSON.parse(text)).toEqual(value)
  })
})

describe('render helpers escape every cell', () => {
  it('plain columns: one line per row whatever the values hold', () => {
    const out = renderTable(
      ['where', 'n'],
      [
        ['1\nfake  row', 2],
        ['x\u001b[2J', rendered('\u001b[31m3\u001b[39m')],
      ],
      false,
    )
    expect(out.split('\n')).toEqual(['where         n', '1\\nfake  row  2', 'x\\x1b[2J      \u001b[31m3\u001b[39m'])
  })

  it('boxed table and pairs', () => {
    const boxed = renderTable(['h\u202e'], [['a\nb']], true)
    expect(boxed).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u202e]/)
    expect(boxed).toContain('a\\nb')
    expect(
      renderPairs([
        ['k\n', 'v\u0007'],
        ['n', 1],
      ]),
    ).toBe('k\\n: v\\x07\nn:   1')
  })
})
