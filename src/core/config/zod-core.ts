/**
 * The few schema builders the config needs, on zod's core, imported by name. Every `wbc` run
 * validates its config: zod's entry points (`zod`, `zod/mini`, even `zod/v4/core`) load 83–95
 * modules, 64 of them locales. The build inlines the part of zod this file uses into it
 * (scripts/build.mjs): one module of ~80 KB. Each builder makes the definition zod's own API makes
 * (same checks, same order, same English messages), so every issue a config gets is the one it
 * got before (test/core/config/zod-core.test.ts compares them).
 */
import {
  $ZodBoolean,
  $ZodDefault,
  $ZodEnum,
  $ZodNever,
  $ZodNumber,
  $ZodNumberFormat,
  $ZodObjectJIT,
  $ZodOptional,
  $ZodPrefault,
  $ZodRecord,
  $ZodString,
  $ZodUnion,
  $ZodUnknown,
  _boolean,
  _gt,
  _gte,
  _int,
  _lte,
  _minLength,
  _never,
  _number,
  _regex,
  _string,
  _unknown,
  clone,
  config,
  globalConfig,
  memoizer,
  util,
} from 'zod/v4/core'
import type * as core from 'zod/v4/core'
import en from 'zod/v4/locales/en.js'

// What `import {z} from 'zod'` sets up on its first schema: English messages, the object memoizer.
if (!globalConfig.localeError) config(en())
if (!globalConfig.memoizer) config({memoizer: memoizer()})

type Params = string | {error?: string; message?: string}

/** `schema.check(...)`: a copy with the checks appended. */
export function checked<T extends core.$ZodType>(schema: T, ...checks: core.$ZodCheck[]): T {
  const def = schema._zod.def
  return clone(schema, util.mergeDefs(def, {checks: [...(def.checks ?? []), ...checks]}), {parent: true})
}

export const string = (params?: Params) => _string($ZodString, params) as core.$ZodString<string>
export const number = (params?: Params) => _number($ZodNumber, params) as core.$ZodNumber<number>
export const boolean = (params?: Params) => _boolean($ZodBoolean, params) as core.$ZodBoolean<boolean>
export const unknown = () => _unknown($ZodUnknown)

/** `z.number().int()`: a whole number within the safe range. */
export const int = (params?: Params) => _int($ZodNumberFormat, params)
export {_gt as gt, _gte as gte, _lte as lte, _minLength as minLength, _regex as regex}

export function enumOf<const T extends readonly string[]>(values: T, params?: Params): core.$ZodEnum<util.ToEnum<T[number]>> {
  const entries = Object.fromEntries(values.map((value) => [value, value]))
  return new $ZodEnum({type: 'enum', entries, ...util.normalizeParams(params)}) as unknown as core.$ZodEnum<util.ToEnum<T[number]>>
}

export function strictObject<S extends core.$ZodShape>(shape: S): core.$ZodObject<S, core.$strict> {
  return new $ZodObjectJIT({type: 'object', shape, catchall: _never($ZodNever)}) as core.$ZodObject<S, core.$strict>
}

export function looseObject<S extends core.$ZodShape>(shape: S): core.$ZodObject<S, core.$loose> {
  return new $ZodObjectJIT({type: 'object', shape, catchall: unknown()}) as core.$ZodObject<S, core.$loose>
}

export function union<const T extends readonly core.SomeType[]>(options: T): core.$ZodUnion<T> {
  return new $ZodUnion({type: 'union', options: options as unknown as core.$ZodType[]}) as unknown as core.$ZodUnion<T>
}

export function record<K extends core.$ZodRecordKey, V extends core.SomeType>(keyType: K, valueType: V): core.$ZodRecord<K, V> {
  return new $ZodRecord({type: 'record', keyType, valueType: valueType as unknown as core.$ZodType}) as unknown as core.$ZodRecord<K, V>
}

export function optional<T extends core.SomeType>(innerType: T): core.$ZodOptional<T> {
  return new $ZodOptional({type: 'optional', innerType: innerType as unknown as core.$ZodType}) as unknown as core.$ZodOptional<T>
}

/** `.default(value)`: used when the field is missing, as it is (not parsed). */
export function withDefault<T extends core.SomeType>(innerType: T, value: util.NoUndefined<core.output<T>>): core.$ZodDefault<T> {
  return new $ZodDefault({
    type: 'default',
    innerType: innerType as unknown as core.$ZodType,
    get defaultValue() {
      return util.shallowClone(value)
    },
  }) as unknown as core.$ZodDefault<T>
}

/** `.prefault(value)`: used when the field is missing, parsed like a given value (its defaults fill in). */
export function withPrefault<T extends core.SomeType>(innerType: T, value: core.input<T>): core.$ZodPrefault<T> {
  return new $ZodPrefault({
    type: 'prefault',
    innerType: innerType as unknown as core.$ZodType,
    get defaultValue() {
      return util.shallowClone(value)
    },
  }) as unknown as core.$ZodPrefault<T>
}

export {safeParse} from 'zod/v4/core'
export type {$ZodError as ZodError, $ZodType, input, output} from 'zod/v4/core'
