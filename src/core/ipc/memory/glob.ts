/** Redis glob patterns (`*`, `?`, `[abc]`, `[^a-z]`, `\x`) as a RegExp; `*` crosses `:` as in Redis. */
export function globToRegExp(pattern: string): RegExp {
  let out = '^'
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i]
    if (ch === '*') out += '[\\s\\S]*'
    else if (ch === '?') out += '[\\s\\S]'
    else if (ch === '\\' && i + 1 < pattern.length) out += escape(pattern[++i])
    else if (ch === '[') {
      const end = pattern.indexOf(']', i + 2)
      if (end === -1) {
        out += '\\['
        continue
      }
      let body = pattern.slice(i + 1, end)
      const negate = body.startsWith('^')
      if (negate) body = body.slice(1)
      out += `[${negate ? '^' : ''}${body.replace(/[\\\]]/g, '\\$&')}]`
      i = end
    } else out += escape(ch)
  }
  return new RegExp(`${out}$`)
}

const escape = (ch: string) => ch.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&')
