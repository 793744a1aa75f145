/**
 * The one masking rule: no secret leaves the process. A secret can sit in a URL's userinfo (read
 * defensively: an unencoded `/`, `#`, `@` or `:` in the password still belongs to it), in a query
 * parameter (`?password=…`, `&sslkey=…`), under a secret-named key at any depth of objects and
 * arrays (`password`, `sentinelPassword`, `tls.key`, `ssl.passphrase`, mysql2 `password1`…), or in
 * a PEM block. Every config, address, error and output shown goes through here.
 */
export const MASK = '***'

const SECRET_WORDS = /password|passwd|passphrase|secret|token|credential|authorization|pwd/
const SECRET_EXACT = new Set(['pass', 'auth', 'key', 'pem', 'pfx'])
/** `sslkey`, `privateKey`, `apiKey` hold secrets; `primaryKey`, `keepKey` (column and stream names) do not. */
const SECRET_KEY = /(ssl|tls|client|private|api|access|secret|signing|encryption|master|session|auth|hmac|shared)key$/

/** Whether a field or query parameter of this name holds a secret (percent-decoded; case, `_`, `-` and `.` ignored). */
export function isSecretName(name: string): boolean {
  const n = name
    .replace(/%([0-9a-f]{2})/gi, (_all, hex: string) => String.fromCharCode(Number.parseInt(hex, 16)))
    .toLowerCase()
    .replace(/[^a-z0-9]/g, '')
  return SECRET_EXACT.has(n) || SECRET_WORDS.test(n) || SECRET_KEY.test(n)
}

const SCHEME = /[a-z][a-z0-9+.-]*:\/\//gi
const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]{1,64})-----[\s\S]*?(?:-----END \1-----|$)/g
// A name may be percent-encoded (`pass%77ord`): ioredis and pg decode it before reading it.
const QUERY_PARAM = /(^|[?&;\s])([A-Za-z0-9_.%+-]+)=([^&#\s]*)/g

/**
 * The userinfo of what follows `scheme://`: everything up to its LAST `@` (drivers differ on
 * unencoded characters in passwords; the widest reading masks them all). Null without a password.
 */
function splitUserinfo(afterScheme: string): {user: string; password: string; rest: string} | null {
  const at = afterScheme.lastIndexOf('@')
  if (at < 0) return null
  const userinfo = afterScheme.slice(0, at)
  const colon = userinfo.indexOf(':')
  if (colon < 0) return null
  return {user: userinfo.slice(0, colon), password: userinfo.slice(colon + 1), rest: afterScheme.slice(at)}
}

const maskQuery = (text: string) => text.replace(QUERY_PARAM, (all, lead: string, name: string, value: string) => (value && isSecretName(name) ? `${lead}${name}=${MASK}` : all))

/** Masks what looks like a secret in any text: URL passwords, secret query parameters, PEM blocks. */
export function maskText(text: string): string {
  const withoutPem = text.replace(PEM_BLOCK, (_all, label: string) => `-----BEGIN ${label}-----${MASK}-----END ${label}-----`)
  // A URL runs to the next whitespace: a password with an unencoded `/` or `#` is still userinfo.
  const withoutUserinfo = withoutPem.replace(/([a-z][a-z0-9+.-]*:\/\/)(\S*)/gi, (all, scheme: string, rest: string) => {
    const parts = splitUserinfo(rest)
    return parts && parts.password ? `${scheme}${parts.user}:${MASK}${parts.rest}` : all
  })
  return maskQuery(withoutUserinfo)
}

const isPrimitiveSecret = (value: unknown) => (typeof value === 'string' && value !== '') || typeof value === 'number' || typeof value === 'bigint'

/** A config as it may be shown: secret-named fields masked at any depth, every string through maskText. */
export function maskSecrets<T>(value: T): T {
  return maskNode(value, false) as T
}

function maskNode(value: unknown, secret: boolean): unknown {
  if (secret && isPrimitiveSecret(value)) return MASK
  if (typeof value === 'string') return maskText(value)
  if (value instanceof Uint8Array) return secret ? MASK : value
  // An array under a secret name (tls `key: [pem, …]`) is secret item by item.
  if (Array.isArray(value)) return value.map((item) => maskNode(item, secret))
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {}
    for (const [key, item] of Object.entries(value)) out[key] = maskNode(item, isSecretName(key) && (isPrimitiveSecret(item) || Array.isArray(item) || item instanceof Uint8Array))
    return out
  }
  return value
}

/** Every secret a config holds (URL passwords and secret parameters, secret-named fields, PEM blocks), to scrub from any text. */
export function secretsOf(value: unknown, found: Set<string> = new Set()): Set<string> {
  collect(value, false, found)
  return found
}

function addSecret(found: Set<string>, secret: string): void {
  if (!secret) return
  found.add(secret)
  try {
    found.add(decodeURIComponent(secret))
  } catch {
    // Not percent-encoded.
  }
}

function collect(value: unknown, secret: boolean, found: Set<string>): void {
  if (secret && isPrimitiveSecret(value)) {
    addSecret(found, String(value))
  } else if (typeof value === 'string') {
    for (const match of value.matchAll(SCHEME)) {
      // A config value is one URL: its userinfo may even hold whitespace.
      const parts = splitUserinfo(value.slice(match.index + match[0].length))
      if (parts) addSecret(found, parts.password)
    }
    for (const [, , name, param] of value.matchAll(QUERY_PARAM)) if (isSecretName(name)) addSecret(found, param)
    for (const [block] of value.matchAll(PEM_BLOCK)) addSecret(found, block)
  } else if (Array.isArray(value)) {
    for (const item of value) collect(item, secret, found)
  } else if (value && typeof value === 'object' && !(value instanceof Uint8Array)) {
    for (const [key, item] of Object.entries(value)) collect(item, isSecretName(key) && (isPrimitiveSecret(item) || Array.isArray(item)), found)
  }
}

/** The forms a secret takes in output: as it is, percent-encoded, escaped inside a JSON string. */
function formsOf(secret: string): string[] {
  return [secret, encodeURIComponent(secret), JSON.stringify(secret).slice(1, -1)]
}

/** Removes known secrets (from the config and the environment) and anything that looks like one from a text. */
export function redact(text: string, secrets: Iterable<string>): string {
  let out = text
  const forms = [...new Set([...secrets].flatMap(formsOf))].filter((form) => form.length > 0).sort((a, b) => b.length - a.length)
  for (const form of forms) out = out.split(form).join(MASK)
  return maskText(out)
}

/** redact() on every string (and key) of a JSON value; field names of data are not judged. */
export function redactValue<T>(value: T, secrets: Iterable<string>): T {
  const known = [...secrets]
  const walk = (node: unknown): unknown => {
    if (typeof node === 'string') return redact(node, known)
    if (Array.isArray(node)) return node.map(walk)
    if (node && typeof node === 'object' && Object.getPrototypeOf(node) === Object.prototype) {
      return Object.fromEntries(Object.entries(node).map(([key, item]) => [redact(key, known), walk(item)]))
    }
    return node
  }
  return walk(value) as T
}
