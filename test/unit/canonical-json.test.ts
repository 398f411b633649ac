/**
 * src/json's canonicalJson replaced three definitions (policy version hashes, cursor bindings, audit hashes).
 * These properties hold it to each of them on the values that definition hashed, so no hash any of them
 * produced changes: audit records already sealed still verify, cursors already issued still decode, and a
 * policy keeps its version hash.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { canonicalJson, jsonString, sortedKeys } from '../../src/json/index.ts'

/** The audit record serialiser as first written (audit-record.ts): lenient, JSON.stringify for primitives. */
function auditReference(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null'
  if (Array.isArray(value)) return `[${value.map((v) => auditReference(v)).join(',')}]`
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${auditReference(v)}`).join(',')}}`
}

/** The cursor binding serialiser as first written (cursor.ts): strict, throws on anything but data. */
function cursorReference(value: unknown, depth = 0): string {
  if (depth > 64) throw new Error('too deep')
  if (value === null) return 'null'
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return JSON.stringify(value)
    case 'number':
      if (!Number.isFinite(value)) throw new Error('non-finite')
      return JSON.stringify(value)
    case 'bigint':
      return JSON.stringify(value.toString())
    case 'object':
      break
    default:
      throw new Error('unsupported')
  }
  if (value instanceof Date) return JSON.stringify(value.toISOString())
  if (Array.isArray(value)) {
    const items: readonly unknown[] = value
    return `[${items.map((v) => (v === undefined ? 'null' : cursorReference(v, depth + 1))).join(',')}]`
  }
  const proto: unknown = Object.getPrototypeOf(value)
  if (proto !== Object.prototype && proto !== null) throw new Error('not plain')
  const entries = Object.entries(value)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${cursorReference(v, depth + 1)}`).join(',')}}`
}

/** The policy version serialiser as first written (json/canonical-json.ts): sort, then JSON.stringify. */
function policyReference(value: unknown): string {
  const canonicalise = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map((x) => (x === undefined ? null : canonicalise(x)))
    if (v !== null && typeof v === 'object') {
      const out: Record<string, unknown> = {}
      for (const key of Object.keys(v).sort()) {
        const x = (v as Record<string, unknown>)[key]
        if (x !== undefined) out[key] = canonicalise(x)
      }
      return out
    }
    return v
  }
  return JSON.stringify(canonicalise(value))
}

function hasIndexKey(value: unknown): boolean {
  if (Array.isArray(value)) return value.some(hasIndexKey)
  if (value === null || typeof value !== 'object') return false
  return Object.entries(value).some(([k, v]) => /^(0|[1-9]\d*)$/.test(k) || hasIndexKey(v))
}

describe('canonicalJson', () => {
  it('writes what the audit serialiser wrote, for any value an audit draft can hold', () => {
    const value = fc.anything({
      withBoxedValues: false,
      withMap: false,
      withSet: false,
      withTypedArray: false,
      withSparseArray: true,
      withNullPrototype: true,
      withObjectString: false,
    })
    fc.assert(
      fc.property(value, (v) => {
        expect(canonicalJson(v)).toBe(auditReference(v))
      }),
      { numRuns: 2000 },
    )
  })

  it('writes what the cursor serialiser wrote, wherever that one accepted the value (bigints aside)', () => {
    const value = fc.anything({
      withBigInt: false,
      withDate: true,
      withSparseArray: true,
      withNullPrototype: true,
      withMap: true,
      withBoxedValues: true,
    })
    fc.assert(
      fc.property(value, (v) => {
        let expected: string
        try {
          expected = cursorReference(v)
        } catch {
          return
        }
        expect(canonicalJson(v)).toBe(expected)
      }),
      { numRuns: 2000 },
    )
  })

  it('writes what the policy version serialiser wrote, for any JSON value without array-index keys', () => {
    // That one sorted keys into a new object, where JavaScript lists integer-like keys ("0", "12") first:
    // those were never sorted. No policy has such a key (model, field and role names are identifiers). Nor a
    // `__proto__` key, which that serialiser lost by assigning it into a plain object; canonicalJson keeps it.
    fc.assert(
      fc.property(
        fc.jsonValue().filter((v) => !hasIndexKey(v) && !JSON.stringify(v).includes('"__proto__"')),
        (v) => {
          expect(canonicalJson(v)).toBe(policyReference(v))
        },
      ),
      { numRuns: 2000 },
    )
  })

  it('sorts keys at every level and drops undefined members, keeping undefined items as null', () => {
    // eslint-disable-next-line no-sparse-arrays
    const value = { b: [1, , undefined, 'x'], a: { d: undefined, c: null }, é: new Date(0) }
    expect(canonicalJson(value)).toBe('{"a":{"c":null},"b":[1,,null,"x"],"é":"1970-01-01T00:00:00.000Z"}')
  })

  it('throws on a bigint, as JSON.stringify does, so a store refuses a record it could not write', () => {
    expect(() => canonicalJson({ total: 10n })).toThrow(TypeError)
  })

  it('throws on a cycle instead of writing something', () => {
    const cyclic: Record<string, unknown> = {}
    cyclic.self = cyclic
    expect(() => canonicalJson(cyclic)).toThrow(RangeError)
  })
})

describe('canonicalJson fast paths', () => {
  // Code units that matter to JSON escaping: quotes, backslashes, controls, lone and paired surrogates, U+2028.
  const tricky = fc.constantFrom(
    '"',
    '\\',
    '\n',
    '\u0000',
    '\u001f',
    '\u007f',
    '\u2028',
    '\ud800',
    '\udfff',
    'é',
  )
  const text = fc.oneof(
    fc.string({ unit: 'binary', maxLength: 12 }),
    fc.array(fc.oneof(tricky, fc.string({ maxLength: 3 })), { maxLength: 6 }).map((parts) => parts.join('')),
  )

  it('quotes every string exactly as JSON.stringify does', () => {
    fc.assert(
      fc.property(text, (s) => {
        expect(jsonString(s)).toBe(JSON.stringify(s))
        expect(canonicalJson(s)).toBe(JSON.stringify(s))
        expect(canonicalJson({ [s]: s })).toBe(`{${JSON.stringify(s)}:${JSON.stringify(s)}}`)
      }),
      { numRuns: 3000 },
    )
  })

  it('writes every number and boolean exactly as JSON.stringify does', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.double(), fc.integer(), fc.constantFrom(-0, 1e21, 5e-324, NaN, -Infinity), fc.boolean()),
        (v) => {
          expect(canonicalJson(v)).toBe(JSON.stringify(v))
        },
      ),
      { numRuns: 3000 },
    )
  })

  it('orders keys as Array.prototype.sort does, for few keys and many', () => {
    fc.assert(
      fc.property(fc.uniqueArray(text, { maxLength: 24 }), (keys) => {
        const record = Object.fromEntries(keys.map((k) => [k, 1]))
        expect(sortedKeys(record)).toEqual(Object.keys(record).sort())
      }),
      { numRuns: 3000 },
    )
  })
})
