import type {Json} from '../ipc/types.js'

/**
 * Which of wbc's own keys a checkpoint may bring back (`{prefix}:wbc:{rest}`), and in what shape.
 * Restore puts them into the state unchecked by any step, and some are trusted there: a lease
 * (`lock:flush`) blocks every flush, a cached base (`b:`) or batch deltas (`ifd:`) change every
 * total, and the fence and generations are numbers the steps increment. So only the keys the
 * mirror writes (see mirror.ts) come back, each with the type and values wbc writes; anything else
 * in the file was not written by wbc and is set aside like any entry of the wrong shape.
 */
const isInteger = (value: unknown) => (typeof value === 'number' && Number.isSafeInteger(value)) || (typeof value === 'string' && /^(0|-?[1-9][0-9]{0,15})$/.test(value))
const isNumber = (value: unknown) => typeof value === 'number' && Number.isFinite(value)
const isObject = (value: unknown) => Boolean(value) && typeof value === 'object' && !Array.isArray(value)
/** A record, or its JSON text (idx:bad holds records; files written by older versions hold their JSON text). */
const isRecord = (value: unknown) => {
  if (isObject(value)) return true
  if (typeof value !== 'string') return false
  try {
    return isObject(JSON.parse(value))
  } catch {
    return false
  }
}
const valuesAll = (value: unknown, check: (item: unknown) => boolean) => isObject(value) && Object.values(value as object).every(check)

type Shape = {type: 'string' | 'hash' | 'list' | 'set'; value: (value: unknown) => boolean; what: string}

const SHAPES: Array<[(rest: string) => boolean, Shape]> = [
  [(rest) => rest.startsWith('lock:') && rest.endsWith(':fence') && rest.length > 'lock::fence'.length, {type: 'string', value: isInteger, what: 'a string holding an integer'}],
  [(rest) => rest.startsWith('gen:'), {type: 'string', value: isInteger, what: 'a string holding an integer'}],
  [(rest) => rest.startsWith('stats:'), {type: 'hash', value: (v) => valuesAll(v, isInteger), what: 'a hash of integers'}],
  [(rest) => rest.startsWith('age:') || rest.startsWith('ut:'), {type: 'hash', value: (v) => valuesAll(v, isNumber), what: 'a hash of numbers'}],
  [(rest) => rest.startsWith('dl:') || rest === 'idx:bad', {type: 'hash', value: (v) => valuesAll(v, isRecord), what: 'a hash of records'}],
  [(rest) => rest === 'idx:deadletters', {type: 'set', value: Array.isArray, what: 'a set'}],
  [(rest) => rest === 'events', {type: 'list', value: Array.isArray, what: 'a list'}],
  [(rest) => rest === 'lastflush', {type: 'string', value: isObject, what: 'a string holding a record'}],
]

/** Why `{prefix}:wbc:{rest}` holding `{type, value}` must not be restored, or null. `bad:` keys are kept as found. */
export function ownEntryProblem(rest: string, type: unknown, value: Json | undefined): string | null {
  if (rest.startsWith('bad:')) return null
  const shape = SHAPES.find(([matches]) => matches(rest))?.[1]
  if (!shape) return `"${rest.slice(0, 40)}" is not a key wbc keeps in a checkpoint`
  return type === shape.type && shape.value(value) ? null : `an entry of wbc that is not ${shape.what}`
}
