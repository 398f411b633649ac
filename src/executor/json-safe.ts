/**
 * Converts a value read from the database into plain JSON data, so a result survives JSON.stringify
 * unchanged and means the same thing to every client: no bigint (which JSON.stringify rejects), no Date
 * object, no Buffer, no NaN (which JSON turns into null). pg already returns int8 and numeric as strings;
 * those stay strings so no precision is lost above 2^53 (docs/threats.md fact 9).
 */

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue }

/**
 * - bigint → decimal string; non-finite number → 'NaN' / 'Infinity' / '-Infinity'; -0 → 0
 * - Date → ISO-8601 string (an invalid Date → null)
 * - Buffer / Uint8Array (bytea) → base64 string
 * - arrays and objects (json/jsonb, composite values) → copied deeply; keys such as `__proto__` stay plain
 *   data keys and never touch a prototype (docs/threats.md fact 11)
 * - undefined, functions and symbols → null
 *
 * Throws on a cyclic structure, which no database value can produce.
 */
export function toJsonSafe(value: unknown): JsonValue {
  // Nearly every column value is a scalar, which needs no cycle tracking (this runs once per value read).
  return typeof value === 'object' && value !== null ? convertObject(value, new Set()) : convertScalar(value)
}

function convert(value: unknown, ancestors: Set<object>): JsonValue {
  return typeof value === 'object' && value !== null ? convertObject(value, ancestors) : convertScalar(value)
}

function convertScalar(value: unknown): JsonValue {
  if (typeof value === 'string' || typeof value === 'boolean') return value
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) return String(value)
    // JSON has no negative zero; say 0 up front rather than let it change in transit.
    return Object.is(value, -0) ? 0 : value
  }
  if (typeof value === 'bigint') return value.toString()
  // null, undefined, functions and symbols
  return null
}

function convertObject(value: object, ancestors: Set<object>): JsonValue {
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value.toISOString()
  if (value instanceof Uint8Array)
    return Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64')
  if (ancestors.has(value)) throw new TypeError('cannot convert a cyclic structure to JSON')
  ancestors.add(value)
  try {
    if (Array.isArray(value)) return value.map((item: unknown) => convert(item, ancestors))
    const out: { [key: string]: JsonValue } = {}
    for (const key of Object.keys(value)) {
      // defineProperty, not assignment: `out['__proto__'] = …` would replace the prototype.
      Object.defineProperty(out, key, {
        value: convert((value as Record<string, unknown>)[key], ancestors),
        enumerable: true,
        writable: true,
        configurable: true,
      })
    }
    return out
  } finally {
    ancestors.delete(value)
  }
}
