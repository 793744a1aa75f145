import {describe, expect, it} from 'vitest'

import {formatDuration, parseDuration} from '../../src/core/duration.js'
import {InvalidArgument} from '../../src/core/errors.js'

describe('durations', () => {
  it('print in their two largest units, zeros left out', () => {
    const cases: Array<[number, string]> = [
      [0, '0ms'],
      [450, '450ms'],
      [1000, '1s'],
      [1500, '1.5s'],
      [60_000, '1m'],
      [303_000, '5m3s'],
      [3_600_000, '1h'],
      [7_500_000, '2h5m'],
      [7 * 86_400_000, '7d'],
      [7 * 86_400_000 + 3 * 3_600_000 + 59 * 60_000, '7d3h'],
      [400 * 86_400_000, '400d'],
    ]
    for (const [ms, text] of cases) expect(formatDuration(ms), String(ms)).toBe(text)
  })

  it('parse only with a unit (a bare number is ambiguous), except 0', () => {
    expect(parseDuration('500ms')).toBe(500)
    expect(parseDuration('30s')).toBe(30_000)
    expect(parseDuration('1.5h')).toBe(5_400_000)
    expect(parseDuration('7d')).toBe(604_800_000)
    expect(parseDuration('0')).toBe(0)
    for (const bare of ['5', '300', '1.5']) {
      expect(() => parseDuration(bare, '--max-age')).toThrow(InvalidArgument)
      expect(() => parseDuration(bare, '--max-age')).toThrow(`--max-age: "${bare}" has no unit: ${bare}ms, ${bare}s, ${bare}m, ${bare}h or ${bare}d?`)
    }
    expect(() => parseDuration('5 minutes')).toThrow('"5 minutes" is not a duration')
  })
})
