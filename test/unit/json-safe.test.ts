import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { toJsonSafe } from '../../src/executor/json-safe.ts'

describe('toJsonSafe', () => {
  it('turns a bigint into its decimal string, beyond 2^53 too', () => {
    expect(toJsonSafe(9007199254740993n)).toBe('9007199254740993')
    expect(toJsonSafe(-5n)).toBe('-5')
  })

  it('turns a Date into an ISO string and an invalid Date into null', () => {
    expect(toJsonSafe(new Date('2026-01-02T03:04:05.678Z'))).toBe('2026-01-02T03:04:05.678Z')
    expect(toJsonSafe(new Date(Number.NaN))).toBeNull()
  })

  it('turns a Buffer or Uint8Array into base64', () => {
    expect(toJsonSafe(Buffer.from('hello'))).toBe('aGVsbG8=')
    const view = new Uint8Array([0, 1, 2, 3, 255]).subarray(1, 4)
    expect(toJsonSafe(view)).toBe('AQID')
  })

  it('turns non-finite numbers into strings and keeps finite ones', () => {
    expect(toJsonSafe(Number.NaN)).toBe('NaN')
    expect(toJsonSafe(Number.POSITIVE_INFINITY)).toBe('Infinity')
    expect(toJsonSafe(Number.NEGATIVE_INFINITY)).toBe('-Infinity')
    expect(toJsonSafe(1.5)).toBe(1.5)
    expect(Object.is(toJsonSafe(-0), 0)).toBe(true)
  })

  it('copies nested arrays and objects, converting inside them', () => {
    const input = { a: [1, { b: 2n, c: new Date(0) }], d: null, e: 'x', f: true }
    const out = toJsonSafe(input)
    expect(out).toEqual({ a: [1, { b: '2', c: '1970-01-01T00:00:00.000Z' }], d: null, e: 'x', f: true })
    expect(out).not.toBe(input)
    expect((out as any).a).not.toBe(input.a)
  })

  it('keeps a __proto__ key from a json column as plain data without touching any prototype', () => {
    const parsed = JSON.parse('{"__proto__": {"polluted": true}, "ok": 1}')
    const out = toJsonSafe(parsed) as Record<string, unknown>
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype)
    expect(Object.keys(out)).toEqual(['__proto__', 'ok'])
    expect(({} as any).polluted).toBeUndefined()
    expect((out as any).polluted).toBeUndefined()
    expect(JSON.parse(JSON.stringify(out))).toEqual(parsed)
  })

  it('maps undefined, functions and symbols to null', () => {
    expect(toJsonSafe(undefined)).toBeNull()
    expect(toJsonSafe([undefined, () => 1, Symbol('s')])).toEqual([null, null, null])
  })

  it('rejects a cyclic structure', () => {
    const a: Record<string, unknown> = {}
    a['self'] = a
    expect(() => toJsonSafe(a)).toThrow(TypeError)
  })

  it('accepts the same object twice when it is not a cycle', () => {
    const shared = { x: 1 }
    expect(toJsonSafe([shared, shared])).toEqual([{ x: 1 }, { x: 1 }])
  })

  it('always yields a value that survives a JSON round trip unchanged', () => {
    fc.assert(
      fc.property(
        fc.anything({
          withBigInt: true,
          withDate: true,
          withTypedArray: true,
          withNullPrototype: true,
          withObjectString: false,
          withBoxedValues: false,
          withMap: false,
          withSet: false,
          withSparseArray: false,
        }),
        (value) => {
          const safe = toJsonSafe(value)
          expect(JSON.parse(JSON.stringify(safe))).toEqual(safe)
        },
      ),
    )
  })
})
