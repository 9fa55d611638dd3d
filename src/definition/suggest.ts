/** "Did you mean" for misspelt keys: a silently ignored `amd64only` would copy every platform. */
export function suggest(input: string, candidates: readonly string[]): string | null {
  const lower = input.toLowerCase()
  const exactCase = candidates.find((c) => c.toLowerCase() === lower)
  if (exactCase) return exactCase
  let best: {candidate: string; distance: number} | null = null
  for (const candidate of candidates) {
    const distance = levenshtein(lower, candidate.toLowerCase())
    if (distance <= Math.max(2, Math.floor(candidate.length / 4)) && (!best || distance < best.distance)) best = {candidate, distance}
  }
  return best?.candidate ?? null
}

function levenshtein(a: string, b: string): number {
  let previous = Array.from({length: b.length + 1}, (_, i) => i)
  for (let i = 1; i <= a.length; i++) {
    const current = [i]
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1))
    }
    previous = current
  }
  return previous[b.length]!
}
