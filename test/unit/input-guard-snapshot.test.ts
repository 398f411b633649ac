/**
 * The input guard's walk (src/request/input-guard.ts) decides every request the quick check leaves to it —
 * proxies among them. A Proxy answers each read as it likes, so a request it checked must not be read from the
 * Proxy again: the parsers take the walk's snapshot, built from the one read of each member the walk checked
 * (check-then-use). Before, the guard read each member's descriptor and the parser read the member again: a
 * `where` value of 'paid' for the guard could be 10,001 characters for the parser.
 */
import { describe, expect, it } from 'vitest'
import { TesseraError } from '../../src/errors/index.ts'
import { guardInput, parseQueryRequest, parseWriteRequest } from '../../src/request/index.ts'

/**
 * A Proxy over `target` whose every member answers its first read (descriptor or get) with the target's value
 * and every later read with `later(key)`; `reads` counts the reads of each key.
 */
function shifty(
  target: object,
  later: (key: string) => unknown,
): { proxy: object; reads: Map<string, number> } {
  const reads = new Map<string, number>()
  const read = (key: string | symbol): number => {
    const name = String(key)
    const n = (reads.get(name) ?? 0) + 1
    reads.set(name, n)
    return n
  }
  const proxy = new Proxy(target, {
    get(t, key, receiver) {
      const value: unknown = Reflect.get(t, key, receiver)
      if (typeof key === 'symbol' || !Object.hasOwn(t, key)) return value
      return read(key) === 1 ? value : later(key)
    },
    getOwnPropertyDescriptor(t, key) {
      const descriptor = Reflect.getOwnPropertyDescriptor(t, key)
      if (descriptor === undefined || typeof key === 'symbol' || !('value' in descriptor)) return descriptor
      return read(key) === 1 ? descriptor : { ...descriptor, value: later(key) }
    },
  })
  return { proxy, reads }
}

const LONG = 'x'.repeat(10_001)

describe('the input guard hands the parsers what it checked', () => {
  it('parses a query from the values the guard read, not from a Proxy read again', () => {
    const where = { field: 'status', op: 'eq', value: 'paid' }
    const inner = shifty(where, (key) => (key === 'value' ? LONG : Reflect.get(where, key)))
    const outer = shifty({ model: 'Order', where: inner.proxy, limit: 5 }, (key) =>
      key === 'limit' ? 1e9 : key === 'model' ? 'Secret' : inner.proxy,
    )
    const parsed = parseQueryRequest(outer.proxy)
    expect(parsed).toEqual(parseQueryRequest({ model: 'Order', where, limit: 5 }))
    expect(Math.max(...outer.reads.values(), ...inner.reads.values())).toBe(1)
  })

  it('parses a write from the values the guard read, so the data checked is the data written', () => {
    const data = { status: 'paid' }
    const inner = shifty(data, () => LONG)
    const outer = shifty({ model: 'Order', id: 7, data: inner.proxy }, (key) =>
      key === 'id' ? 8 : inner.proxy,
    )
    const parsed = parseWriteRequest('update', outer.proxy)
    expect(parsed).toEqual(parseWriteRequest('update', { model: 'Order', id: 7, data }))
  })

  it('reads an array proxy’s length once and keeps the items it checked', () => {
    let lengthReads = 0
    const select = new Proxy(['id'], {
      get(t, key, receiver) {
        if (key === 'length') return ++lengthReads === 1 ? 1 : 2
        return Reflect.get(t, key, receiver)
      },
    })
    const snapshot = guardInput({ model: 'Order', select })
    expect(snapshot).toEqual({ model: 'Order', select: ['id'] })
    expect(lengthReads).toBe(1)
  })

  it('returns a snapshot equal to what it checked: key order, null prototypes, enumerability, undefined', () => {
    const bare = Object.assign(Object.create(null) as object, { b: 1, a: [2, { c: null }] })
    const hidden = { shown: 1 }
    Object.defineProperty(hidden, 'hidden', { value: 2, enumerable: false })
    const input = { z: 'ok', bare, hidden, gone: undefined }
    const snapshot = guardInput(new Proxy(input, {})) as typeof input
    expect(snapshot).not.toBe(input)
    expect(Object.keys(snapshot)).toEqual(['z', 'bare', 'hidden', 'gone'])
    expect(Object.getPrototypeOf(snapshot.bare)).toBeNull()
    expect(Object.keys(snapshot.bare)).toEqual(['b', 'a'])
    expect(JSON.stringify(snapshot.bare)).toBe(JSON.stringify(bare))
    expect(Object.keys(snapshot.hidden)).toEqual(['shown'])
    expect(Object.getOwnPropertyDescriptor(snapshot.hidden, 'hidden')?.value).toBe(2)
    expect('gone' in snapshot).toBe(true)
  })

  it('returns plain data it accepts quickly as it is, without copying', () => {
    const input = { model: 'Order', where: { field: 'status', op: 'eq', value: 'paid' } }
    expect(guardInput(input)).toBe(input)
  })

  it('still refuses a getter, whose value could change between reads, without running it', () => {
    let ran = 0
    const input = {
      model: 'Order',
      get limit() {
        ran++
        return ran === 1 ? 5 : 1e9
      },
    }
    expect(() => guardInput(input)).toThrow(TesseraError)
    expect(() => parseQueryRequest(input)).toThrow(/accessor/)
    expect(ran).toBe(0)
  })
})
