/**
 * The few schema builders the config needs, on zod's core. `zod` (and `zod/mini`) re-export every
 * locale: 64 of the 95 modules a config load read, on every `wbc` run. Each builder makes the
 * definition zod's own API makes (same checks, same order, same English messages), so every
 * issue a config gets is the one it got before (test/core/config/zod-core.test.ts compares them).
 */
import * as core from 'zod/v4/core'
import en from 'zod/v4/locales/en.js'

// What `import {z} from 'zod'` sets up on its first schema: English messages, the object memoizer.
if (!core.globalConfig.localeError) core.config(en())
if (!core.globalConfig.memoizer) core.config({memoizer: core.memoizer()})

type Params = string | {error?: string; message?: string}

/** `schema.check(...)`: a copy with the checks appended. */
export function checked<T extends core.$ZodType>(schema: T, ...checks: core.$ZodCheck[]): T {
  const def = schema._zod.def
  return core.clone(schema, core.util.mergeDefs(def, {checks: [...(def.checks ?? []), ...checks]}), {parent: true})
}

export const string = (params?: Params) => core._string(core.$ZodString, params) as core.$ZodString<string>
export const number = (params?: Params) => core._number(core.$ZodNumber, params) as core.$ZodNumber<number>
export const boolean = (params?: Params) => core._boolean(core.$ZodBoolean, params) as core.$ZodBoolean<boolean>
export const unknown = () => core._unknown(core.$ZodUnknown)

/** `z.number().int()`: a whole number within the safe range. */
export const int = (params?: Params) => core._int(core.$ZodNumberFormat, params)
export const {_gt: gt, _gte: gte, _lte: lte, _minLength: minLength, _regex: regex} = core

export function enumOf<const T extends readonly string[]>(values: T, params?: Params): core.$ZodEnum<core.util.ToEnum<T[number]>> {
  const entries = Object.fromEntries(values.map((value) => [value, value]))
  return new core.$ZodEnum({type: 'enum', entries, ...core.util.normalizeParams(params)}) as unknown as core.$ZodEnum<core.util.ToEnum<T[number]>>
}

export function strictObject<S extends core.$ZodShape>(shape: S): core.$ZodObject<S, core.$strict> {
  return new core.$ZodObjectJIT({type: 'object', shape, catchall: core._never(core.$ZodNever)}) as core.$ZodObject<S, core.$strict>
}

export function looseObject<S extends core.$ZodShape>(shape: S): core.$ZodObject<S, core.$loose> {
  return new core.$ZodObjectJIT({type: 'object', shape, catchall: unknown()}) as core.$ZodObject<S, core.$loose>
}

export function union<const T extends readonly core.SomeType[]>(options: T): core.$ZodUnion<T> {
  return new core.$ZodUnion({type: 'union', options: options as unknown as core.$ZodType[]}) as unknown as core.$ZodUnion<T>
}

export function record<K extends core.$ZodRecordKey, V extends core.SomeType>(keyType: K, valueType: V): core.$ZodRecord<K, V> {
  return new core.$ZodRecord({type: 'record', keyType, valueType: valueType as unknown as core.$ZodType}) as unknown as core.$ZodRecord<K, V>
}

export function optional<T extends core.SomeType>(innerType: T): core.$ZodOptional<T> {
  return new core.$ZodOptional({type: 'optional', innerType: innerType as unknown as core.$ZodType}) as unknown as core.$ZodOptional<T>
}

/** `.default(value)`: used when the field is missing, as it is (not parsed). */
export function withDefault<T extends core.SomeType>(innerType: T, value: core.util.NoUndefined<core.output<T>>): core.$ZodDefault<T> {
  return new core.$ZodDefault({
    type: 'default',
    innerType: innerType as unknown as core.$ZodType,
    get defaultValue() {
      return core.util.shallowClone(value)
    },
  }) as unknown as core.$ZodDefault<T>
}

/** `.prefault(value)`: used when the field is missing, parsed like a given value (its defaults fill in). */
export function withPrefault<T extends core.SomeType>(innerType: T, value: core.input<T>): core.$ZodPrefault<T> {
  return new core.$ZodPrefault({
    type: 'prefault',
    innerType: innerType as unknown as core.$ZodType,
    get defaultValue() {
      return core.util.shallowClone(value)
    },
  }) as unknown as core.$ZodPrefault<T>
}

export const safeParse = core.safeParse
export type {$ZodError as ZodError, $ZodType, input, output} from 'zod/v4/core'
