/**
 * A number as the state stores it ("12", "-0.5", "1e-7", INCRBYFLOAT's text), finite as a double;
 * null for anything else ("abc", JSON strings, "inf", " 5", "0x10"). The same rule as finiteNumber
 * in src/core/buffer/steps/lua/include/checks.lua, including what INCRBYFLOAT refuses though a parser reads it:
 * 5120 characters or more, and a non-zero mantissa that underflows to 0 ("1e-5000").
 */
const NUMBER = /^[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?$/
export function finiteNumber(raw: unknown): number | null {
  if (typeof raw !== 'string' || raw.length >= 5120 || !NUMBER.test(raw)) return null
  const value = Number(raw)
  if (value === 0 && /[1-9]/.test(raw.split(/[eE]/)[0])) return null
  return Number.isFinite(value) ? value : null
}
