import {IDENTIFIER} from '../config/identifiers.js'

/*
 * Index members split back into their parts (`{connection}:{table}:{where}[:{column}]`). Its own
 * module so that the name checks (names.ts) and the key space (keys.ts) both build on it.
 */

export interface ParsedMember {
  connection: string
  table: string
  where: string
  column?: string
}

/** Splits an index member back into its parts; null for members that do not parse. */
export function parseMember(member: string, withColumn: boolean): ParsedMember | null {
  const first = member.indexOf(':')
  const second = member.indexOf(':', first + 1)
  if (first <= 0 || second <= first + 1) return null
  const connection = member.slice(0, first)
  const table = member.slice(first + 1, second)
  if (!IDENTIFIER.test(connection) || !IDENTIFIER.test(table)) return null
  if (!withColumn) {
    const where = member.slice(second + 1)
    return where ? {connection, table, where} : null
  }
  const last = member.lastIndexOf(':')
  if (last <= second + 1) return null
  const column = member.slice(last + 1)
  if (!IDENTIFIER.test(column)) return null
  return {connection, table, where: member.slice(second + 1, last), column}
}

export function parseTableMember(member: string): {connection: string; table: string} | null {
  const [connection, table, ...rest] = member.split(':')
  return rest.length === 0 && IDENTIFIER.test(connection ?? '') && IDENTIFIER.test(table ?? '') ? {connection, table} : null
}
