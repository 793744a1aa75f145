/**
 * Names that end up in state keys and SQL: connection, table and column names, and the key
 * prefix. They are restricted so that every state key parses back unambiguously and no name can
 * carry SQL.
 */
export const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/
export const PREFIX = /^[A-Za-z0-9_.\-{}]{1,64}$/

export const identifierRule = 'letters, digits and underscores, not starting with a digit, at most 63 characters'
export const prefixRule = 'letters, digits, "_", ".", "-", "{" and "}", 1 to 64 characters, no ":"'

export function isIdentifier(value: unknown): value is string {
  return typeof value === 'string' && IDENTIFIER.test(value)
}
