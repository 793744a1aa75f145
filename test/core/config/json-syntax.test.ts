import {describe, expect, it} from 'vitest'

import {findJsonSyntaxProblem} from '../../../src/core/config/json-syntax.js'

describe('JSON syntax problems', () => {
  it('finds the line and column of the first problem, whatever it is', () => {
    const cases: Array<[string, number, number, string]> = [
      ['{\n  "a": 1,\n}\n', 3, 1, 'expected another field (no comma after the last one) but found "}"'],
      ['{\n "a": tru }', 2, 10, 'expected "true" but found " "'],
      ['{"a":', 1, 6, 'expected a value but found the end of the file'],
      ['{\n "a" 1}', 2, 6, 'expected ":" but found "1"'],
      ['{"a": "x\ny"}', 1, 9, 'a line break or control character inside a string (write it as \\n or \\u00XX)'],
      ['{"a": 1} {"b": 2}', 1, 10, 'expected the end of the file (one JSON value only) but found "{"'],
      ['// comment\n{}', 1, 1, 'expected a value but found "/"'],
      ['[1, 2,]', 1, 7, 'expected another value (no comma after the last one) but found "]"'],
      ['{"a": [1 2]}', 1, 10, 'expected "," or "]" but found "2"'],
      ['', 1, 1, 'expected a value but found the end of the file'],
    ]
    for (const [text, line, column, problem] of cases) expect(findJsonSyntaxProblem(text), JSON.stringify(text)).toEqual({line, column, problem})
  })

  it('finds nothing in valid JSON, JSON.parse agreeing', () => {
    for (const text of ['{}', '[]', '{"a": [1, -2.5e3, true, false, null, "\\u00e9\\n"], "b": {"c": ""}}', '\ufeff{"bom": 1}', ' 0 ']) {
      expect(findJsonSyntaxProblem(text), text).toBeUndefined()
      expect(() => JSON.parse(text.replace(/^\ufeff/, ''))).not.toThrow()
    }
  })
})
