/**
 * Freezes a plain-data tree in place (objects and arrays) so a loaded policy cannot be altered later. Already
 * frozen nodes are still descended into: a frozen parent says nothing about its children.
 */
export function deepFreeze<T>(value: T, seen: WeakSet<object> = new WeakSet()): T {
  if (value !== null && typeof value === 'object' && !seen.has(value)) {
    seen.add(value)
    Object.freeze(value)
    for (const key of Object.keys(value)) deepFreeze((value as Record<string, unknown>)[key], seen)
  }
  return value
}
