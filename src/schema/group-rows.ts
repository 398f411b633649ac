/** Grouping and ordering of catalog rows, shared by the introspection readers so their output is deterministic. */

/** Items grouped by key, each group in the items' order, groups in the order their first item came. */
export function groupBy<T>(items: readonly T[], keyOf: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>()
  for (const item of items) {
    const key = keyOf(item)
    const group = groups.get(key)
    if (group) group.push(item)
    else groups.set(key, [item])
  }
  return groups
}

/** Code-unit order, independent of the process locale, so the output is byte-for-byte deterministic. */
export function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}
