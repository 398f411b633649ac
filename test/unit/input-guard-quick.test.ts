/**
 * The input guard's quick check (src/request/input-guard.ts acceptsQuickly) may only accept what the walk
 * accepts: for random values — JSON-like, hostile (accessors, symbols, proxies, class instances, holes, extra
 * array properties, NUL, lone and paired surrogates, forbidden keys, cycles) — under random small limits, a
 * quick accept is never a walk rejection. And the quick check does accept the requests every tool sends.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  acceptsQuickly,
  DEFAULT_INPUT_LIMITS,
  guardInputByWalk,
  type InputLimits,
} from '../../src/request/input-guard.ts'

const limits: fc.Arbitrary<InputLimits> = fc.record({
  maxDepth: fc.integer({ min: 1, max: 6 }),
  maxNodes: fc.integer({ min: 1, max: 40 }),
  maxArrayLength: fc.integer({ min: 0, max: 6 }),
  maxStringLength: fc.integer({ min: 0, max: 24 }),
  maxRequestBytes: fc.integer({ min: 0, max: 400 }),
})

const text = fc.oneof(
  fc.string({ maxLength: 30 }),
  fc.string({ unit: 'binary', maxLength: 8 }),
  fc.constantFrom('\u0000', 'a\u0000b', '\ud800', 'x\udc00', '\ud83d\ude00', 'é'.repeat(10), '__proto__'),
)

const hostileKey = fc.constantFrom('__proto__', 'constructor', 'prototype', 'model', 'where', '')

/** Values the guard must judge, built from a JSON-like core with hostile variations mixed in. */
const { value } = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    text,
    fc.double(),
    fc.integer(),
    fc.boolean(),
    fc.constantFrom(null, undefined, Number.NaN, Infinity, 10n, Symbol('s'), () => 1, new Date(0)),
    fc.array(tie('value'), { maxLength: 5 }),
    fc.dictionary(fc.oneof(text, hostileKey), tie('value'), { maxKeys: 5 }),
    tie('value').map((v) => Object.assign(Object.create(null) as object, { a: v })),
    text.map((t) => JSON.parse(`{"__proto__": ${JSON.stringify(t)}}`) as unknown),
    tie('value').map((v) => Object.defineProperty({}, 'model', { get: () => v, enumerable: true })),
    tie('value').map((v) => Object.defineProperty({ a: v }, 'hidden', { value: v, enumerable: false })),
    tie('value').map((v) => ({ a: v, [Symbol('k')]: 1 })),
    tie('value').map((v) => new Proxy({ a: v }, {})),
    tie('value').map((v) => new Proxy([v], {})),
    tie('value').map((v) => Object.assign([v, v], { extra: 1 })),
    tie('value').map((v) => {
      const holey: unknown[] = [v]
      holey[2] = v
      return holey
    }),
    tie('value').map((v) => {
      const cyclic: Record<string, unknown> = { v }
      cyclic['self'] = cyclic
      return cyclic
    }),
    tie('value').map(
      (v) =>
        new (class Box {
          a = v
        })(),
    ),
  ),
}))

function walkAccepts(v: unknown, max: InputLimits): boolean {
  try {
    guardInputByWalk(v, max)
    return true
  } catch {
    return false
  }
}

describe('input guard quick check', () => {
  it('accepts nothing the walk refuses', () => {
    fc.assert(
      fc.property(value, limits, (v, max) => {
        if (acceptsQuickly(v, max)) expect(walkAccepts(v, max)).toBe(true)
      }),
      { numRuns: 20_000 },
    )
  })

  it('accepts nothing the walk refuses under the default limits', () => {
    fc.assert(
      fc.property(value, (v) => {
        if (acceptsQuickly(v, DEFAULT_INPUT_LIMITS)) expect(walkAccepts(v, DEFAULT_INPUT_LIMITS)).toBe(true)
      }),
      { numRuns: 20_000 },
    )
  })

  it('accepts the requests the read tools send every call', () => {
    const requests: unknown[] = [
      { model: 'Order', id: '0a000000-0000-4000-8000-000000000001' },
      { model: 'Order', id: 42, select: ['id', 'status'], include: { customer: true } },
      {
        model: 'Order',
        where: { field: 'status', op: 'eq', value: 'paid' },
        orderBy: [{ field: 'created_at', direction: 'desc' }],
        limit: 20,
        cursor: undefined,
      },
      { model: 'Order', op: 'count', where: [{ field: 'total', op: 'between', value: [1, 2.5] }] },
      { model: 'Order', where: { not: { field: 'x', op: 'is_null' } }, include: { items: { limit: 2 } } },
    ]
    for (const r of requests) expect(acceptsQuickly(r, DEFAULT_INPUT_LIMITS)).toBe(true)
  })

  it('leaves to the walk what it is not sure of', () => {
    const unsure: unknown[] = [
      new Proxy({ model: 'Order' }, {}),
      { model: 'Order', where: { field: 'name', op: 'eq', value: '\ud83d\ude00' } },
      { model: 'Order', where: { field: 'id', op: 'in', value: Array.from({ length: 300 }, (_, i) => i) } },
    ]
    for (const r of unsure) {
      expect(acceptsQuickly(r, DEFAULT_INPUT_LIMITS)).toBe(false)
      expect(walkAccepts(r, DEFAULT_INPUT_LIMITS)).toBe(true)
    }
  })
})
