/**
 * " (did you mean 'customer_id'?)" for a name that is not in `candidates` but close to one: same letters in
 * another case, or at most two edits apart (one for names of four characters or fewer). Nothing when no
 * candidate is close or two are equally close, so the hint never guesses between names.
 */
export function didYouMean(name: string, candidates: Iterable<string>): string {
  const lower = name.toLowerCase()
  const limit = name.length <= 4 ? 1 : 2
  let best: string | undefined
  let bestDistance = Number.POSITIVE_INFINITY
  let tie = false
  for (const candidate of candidates) {
    const distance =
      candidate.toLowerCase() === lower ? 0 : editDistance(lower, candidate.toLowerCase(), limit)
    if (distance > limit) continue
    if (distance < bestDistance) {
      best = candidate
      bestDistance = distance
      tie = false
    } else if (distance === bestDistance) {
      tie = true
    }
  }
  return best === undefined || tie ? '' : ` (did you mean '${best}'?)`
}

/** Levenshtein distance, stopping early once every path exceeds `limit` (returns limit + 1). */
function editDistance(a: string, b: string, limit: number): number {
  if (Math.abs(a.length - b.length) > limit) return limit + 1
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    const current = [i]
    let rowMin = i
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      const value = Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, (previous[j - 1] ?? 0) + cost)
      current.push(value)
      rowMin = Math.min(rowMin, value)
    }
    if (rowMin > limit) return limit + 1
    previous = current
  }
  return previous[b.length] ?? limit + 1
}
