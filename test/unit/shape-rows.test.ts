import { describe, expect, it } from 'vitest'
import { toJsonSafe } from '../../src/executor/json-safe.ts'
import { shapeRows, type Row } from '../../src/executor/shape-rows.ts'
import type { SelectedField, SelectPlan } from '../../src/planner/index.ts'

const SECRET = 'shape-rows-secret-0123456789'

function field(name: string, transform: SelectedField['transform'] = 'none'): SelectedField {
  const action = transform === 'none' ? 'allow' : transform
  return { name, typeClass: 'string', transform, rule: { action } } as SelectedField
}

function plan(fields: SelectedField[], includes: SelectPlan['includes'] = []): SelectPlan {
  return { fields, includes } as unknown as SelectPlan
}

const listPlan = plan([field('id'), field('status'), field('total'), field('count')])

/** What shaping must give for a row of listPlan: the planned fields, each through toJsonSafe, nothing else. */
function expected(row: Row): Row {
  const safe = (key: string) => toJsonSafe(Object.hasOwn(row, key) ? row[key] : undefined)
  return { id: safe('id'), status: safe('status'), total: safe('total'), count: safe('count') }
}

describe('shapeRows', () => {
  it('returns a driver row that already is its result as it is, without copying it', () => {
    const row = { id: '1', status: 'paid', total: '12.30', count: 3 }
    const [shaped] = shapeRows([row], listPlan, SECRET)
    expect(shaped).toBe(row)
    expect(shaped).toEqual({ id: '1', status: 'paid', total: '12.30', count: 3 })
  })

  it('returns null and boolean values as they are too', () => {
    const row = { id: '1', status: null, total: true, count: 0 }
    expect(shapeRows([row], listPlan, SECRET)[0]).toBe(row)
  })

  it.each<[string, () => Row]>([
    ['a hidden order-key column', () => ({ id: '1', status: 'a', total: '1', count: 1, __tessera_k0: 'x' })],
    ['a missing field', () => ({ id: '1', status: 'a', total: '1' })],
    ['the fields in another order', () => ({ status: 'a', id: '1', total: '1', count: 1 })],
    ['a Date', () => ({ id: '1', status: 'a', total: new Date(0), count: 1 })],
    ['a bigint', () => ({ id: 1n, status: 'a', total: '1', count: 1 })],
    ['NaN', () => ({ id: '1', status: 'a', total: '1', count: Number.NaN })],
    ['negative zero', () => ({ id: '1', status: 'a', total: '1', count: -0 })],
    ['an object (json)', () => ({ id: '1', status: { a: [1] }, total: '1', count: 1 })],
    ['undefined', () => ({ id: '1', status: undefined, total: '1', count: 1 })],
    ['a Buffer', () => ({ id: '1', status: Buffer.from('hi'), total: '1', count: 1 })],
    [
      'another prototype',
      () => Object.assign(Object.create({ inherited: 1 }), { id: '1', status: 'a', total: '1', count: 1 }),
    ],
    [
      'a null prototype',
      () => Object.assign(Object.create(null), { id: '1', status: 'a', total: '1', count: 1 }),
    ],
  ])('copies a row with %s into exactly the planned, JSON-safe fields', (_what, make) => {
    const row = make()
    const [shaped] = shapeRows([row], listPlan, SECRET)
    expect(shaped).not.toBe(row)
    expect(Object.getPrototypeOf(shaped)).toBe(Object.prototype)
    expect(Object.keys(shaped as Row)).toEqual(['id', 'status', 'total', 'count'])
    expect(shaped).toEqual(expected(row))
  })

  it('copies a row when an enumerable key has been added to Object.prototype', () => {
    const row = { id: '1', status: 'a', total: '1', count: 1 }
    const proto = Object.prototype as Record<string, unknown>
    proto.polluted = 'x'
    try {
      const [shaped] = shapeRows([row], listPlan, SECRET)
      expect(shaped).not.toBe(row)
      expect(Object.keys(shaped as Row)).toEqual(['id', 'status', 'total', 'count'])
    } finally {
      delete proto.polluted
    }
  })

  it('always applies mask and hash transforms (the row is copied)', () => {
    const masked = plan([field('id'), field('secret', 'hash')])
    const row = { id: '1', secret: 'ssn' }
    const [shaped] = shapeRows([row], masked, SECRET)
    expect(shaped).not.toBe(row)
    expect(shaped?.secret).toMatch(/^[0-9a-f]{64}$/)
    expect(row.secret).toBe('ssn')
  })

  it('shapes each row on its own: plain rows kept, the others copied', () => {
    const plain = { id: '1', status: 'a', total: '1', count: 1 }
    const hidden = { id: '2', status: 'b', total: '2', count: 2, __tessera_k0: 'x' }
    const [first, second] = shapeRows([plain, hidden], listPlan, SECRET)
    expect(first).toBe(plain)
    expect(second).toEqual({ id: '2', status: 'b', total: '2', count: 2 })
  })

  it('keeps a field named __proto__ as data, never as the prototype of the result', () => {
    const protoPlan = plan([field('id'), field('__proto__')])
    const row = JSON.parse('{"id":"1","__proto__":{"polluted":true}}') as Row
    const [shaped] = shapeRows([row], protoPlan, SECRET)
    expect(Object.getPrototypeOf(shaped)).toBe(Object.prototype)
    expect(Object.getOwnPropertyDescriptor(shaped, '__proto__')?.value).toEqual({ polluted: true })
    expect((shaped as Record<string, unknown>).polluted).toBeUndefined()
  })
})
