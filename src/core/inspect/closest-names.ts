/** Edit distance (insertions, deletions, substitutions; case ignored). */
export function editDistance(a: string, b: string): number {
  const s = a.toLowerCase()
  const t = b.toLowerCase()
  let previous = Array.from({length: t.length + 1}, (_, j) => j)
  for (let i = 1; i <= s.length; i++) {
    const current = [i]
    for (let j = 1; j <= t.length; j++) current[j] = Math.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (s[i - 1] === t[j - 1] ? 0 : 1))
    previous = current
  }
  return previous[t.length]
}

/** Up to `max` candidates close enough to `name` to be what was meant, closest first. */
export function closestNames(name: string, candidates: Iterable<string>, max = 3): string[] {
  const limit = Math.max(2, Math.ceil(name.length / 3))
  return [...new Set(candidates)]
    .filter((c) => c !== name)
    .map((c) => ({c, d: editDistance(name, c)}))
    .filter(({d}) => d <= limit)
    .sort((x, y) => x.d - y.d || (x.c < y.c ? -1 : 1))
    .slice(0, max)
    .map(({c}) => c)
}
