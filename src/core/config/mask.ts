/** Passwords never leave the process: every config, address or error shown goes through here. */
const MASK = '***'
const SECRET_KEYS = /^(password|pass|pwd|secret|token)$/i

/** `redis://user:pw@host` → `redis://user:***@host`; leaves anything without a password alone. */
export function maskUrl(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)([^:@/?#]*):([^@/?#]*)@/i, (_all, scheme: string, user: string) => `${scheme}${user}:${MASK}@`)
}

/** Masks every URL-embedded password and every password-like field, recursively. */
export function maskSecrets<T>(value: T): T {
  if (typeof value === 'string') return maskUrl(value) as T
  if (Array.isArray(value)) return value.map((item) => maskSecrets(item)) as T
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {}
    for (const [key, item] of Object.entries(value)) {
      out[key] = SECRET_KEYS.test(key) && item !== undefined && item !== null && item !== '' ? MASK : maskSecrets(item)
    }
    return out as T
  }
  return value
}

/** Removes known secrets (passwords from a config) from any text, e.g. an error from a driver. */
export function redact(text: string, secrets: Iterable<string>): string {
  let out = maskUrl(text)
  for (const secret of secrets) {
    if (secret.length >= 1) out = out.split(secret).join(MASK)
  }
  return out
}

/** Every password a config holds (in URLs or password fields), to scrub from any text shown. */
export function secretsOf(value: unknown, found: Set<string> = new Set()): Set<string> {
  if (typeof value === 'string') {
    const password = /^[a-z][a-z0-9+.-]*:\/\/[^:@/?#]*:([^@/?#]+)@/i.exec(value)?.[1]
    if (password) {
      found.add(password)
      try {
        found.add(decodeURIComponent(password))
      } catch {
        // Not percent-encoded.
      }
    }
  } else if (Array.isArray(value)) {
    for (const item of value) secretsOf(item, found)
  } else if (value && typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) {
      if (SECRET_KEYS.test(key) && typeof item === 'string' && item) found.add(item)
      else secretsOf(item, found)
    }
  }
  return found
}
