import fc from 'fast-check'
import {describe, expect, it} from 'vitest'
import {z} from 'zod'

import * as lite from '../../../src/core/config/zod-core.js'

/** What a parse answers: the value, or every issue as zod reports it (code, path, message, details). */
const outcome = (result: {success: boolean; data?: unknown; error?: {issues: unknown[]}}) =>
  result.success ? {data: result.data} : {issues: JSON.parse(JSON.stringify(result.error!.issues)) as unknown}

const values = fc.oneof(
  fc.constantFrom(undefined, null, true, false, 0, 1, -1, 1.5, 2 ** 53, 65536, 65537, '', 'a', 'redis://h', 'http://h', 'memory', 'pg', 'bad name', [], {}),
  fc.integer({min: -10, max: 70000}),
  fc.double(),
  fc.string({maxLength: 8}),
  fc.dictionary(fc.constantFrom('a', 'b', 'host', 'port', 'client', 'extra'), fc.oneof(fc.integer(), fc.string({maxLength: 4}), fc.constant(null)), {maxKeys: 4}),
)

// Each builder against the zod call it stands for, on the same inputs: same values, same issues.
const pairs: Array<[string, {safeParse(v: unknown): {success: boolean}}, lite.$ZodType]> = [
  ['number().int().positive() with an error', z.number({error: 'expected ms'}).int().positive(), lite.checked(lite.number({error: 'expected ms'}), lite.int(), lite.gt(0))],
  ['number().int().min().max()', z.number().int().min(2).max(65536), lite.checked(lite.number(), lite.int(), lite.gte(2), lite.lte(65536))],
  ['number().int().nonnegative().optional()', z.number().int().nonnegative().optional(), lite.optional(lite.checked(lite.number(), lite.int(), lite.gte(0)))],
  [
    'string().regex() with a message, default',
    z
      .string()
      .regex(/^[a-z_]+$/, {message: 'expected a name'})
      .default('id'),
    lite.withDefault(lite.checked(lite.string(), lite.regex(/^[a-z_]+$/, {message: 'expected a name'})), 'id'),
  ],
  ['string().min(1) with an error', z.string({error: 'expected text'}).min(1), lite.checked(lite.string({error: 'expected text'}), lite.minLength(1))],
  ['boolean() with an error, default', z.boolean({error: 'expected true or false'}).default(false), lite.withDefault(lite.boolean({error: 'expected true or false'}), false)],
  ['enum() with an error', z.enum(['memory', 'redis'], {error: 'expected "memory" or "redis"'}), lite.enumOf(['memory', 'redis'], {error: 'expected "memory" or "redis"'})],
  [
    'union of a string and a loose object',
    z.union([z.string().min(1), z.looseObject({host: z.string().optional(), port: z.number().optional()})]),
    lite.union([lite.checked(lite.string(), lite.minLength(1)), lite.looseObject({host: lite.optional(lite.string()), port: lite.optional(lite.number())})]),
  ],
  [
    'strict object with defaults, prefault',
    z.strictObject({a: z.number().default(1), b: z.string().optional()}).prefault({}),
    lite.withPrefault(lite.strictObject({a: lite.withDefault(lite.number(), 1), b: lite.optional(lite.string())}), {}),
  ],
  [
    'record with checked keys, default',
    z.record(z.string().regex(/^[a-z]+$/, {message: 'names use a-z'}), z.number()).default({a: 1}),
    lite.withDefault(lite.record(lite.checked(lite.string(), lite.regex(/^[a-z]+$/, {message: 'names use a-z'})), lite.number()), {a: 1}),
  ],
  ['unknown().optional()', z.unknown().optional(), lite.optional(lite.unknown())],
]

describe('config schema builders on zod core', () => {
  for (const [name, classic, built] of pairs) {
    it(`${name}: the same value or the same issues as zod`, () => {
      fc.assert(
        fc.property(values, (value) => {
          expect(outcome(lite.safeParse(built, structuredClone(value)))).toEqual(outcome(classic.safeParse(structuredClone(value)) as never))
        }),
        {numRuns: 300},
      )
    })
  }

  it('gives a fresh copy of a default each time (a config cannot change the next one)', () => {
    const schema = lite.withDefault(lite.record(lite.string(), lite.number()), {a: 1})
    const first = lite.safeParse(schema, undefined).data!
    first.b = 2
    expect(lite.safeParse(schema, undefined).data).toEqual({a: 1})
  })
})
