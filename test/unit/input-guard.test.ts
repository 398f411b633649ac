import { describe, expect, it } from 'vitest'
import { TesseraError } from '../../src/errors/index.ts'
import { DEFAULT_INPUT_LIMITS, guardInput } from '../../src/request/index.ts'

function rejection(input: unknown, limits?: Parameters<typeof guardInput>[1]): TesseraError {
  try {
    guardInput(input, limits)
  } catch (error) {
    expect(error).toBeInstanceOf(TesseraError)
    return error as TesseraError
  }
  throw new Error('expected guardInput to throw')
}

function issuePaths(error: TesseraError): string[] {
  return (error.details.issues as { path: string }[]).map((i) => i.path)
}

function nested(depth: number): unknown {
  let value: unknown = 1
  for (let i = 0; i < depth; i++) value = { a: value }
  return value
}

describe('guardInput', () => {
  it('accepts an ordinary request', () => {
    expect(() =>
      guardInput({
        model: 'Order',
        where: {
          and: [
            { field: 'status', op: 'in', value: ['open', 'paid'] },
            { not: { field: 'x', op: 'is_null' } },
          ],
        },
        orderBy: [{ field: 'total', direction: 'desc' }],
        limit: 10,
        include: { customer: true },
        cursor: undefined,
      }),
    ).not.toThrow()
  })

  it('exports frozen default limits', () => {
    expect(DEFAULT_INPUT_LIMITS).toEqual({
      maxDepth: 32,
      maxNodes: 5000,
      maxArrayLength: 10000,
      maxStringLength: 10000,
      maxRequestBytes: 1_048_576,
    })
    expect(Object.isFrozen(DEFAULT_INPUT_LIMITS)).toBe(true)
  })

  it('rejects a 70,000-item array with the path of the array', () => {
    const error = rejection({ where: { field: 'id', op: 'in', value: new Array(70_000).fill('x') } })
    expect(error.code).toBe('VALIDATION_ERROR')
    expect(issuePaths(error)).toEqual(['where.value'])
    expect(error.message).toContain('more than 10000 items')
  })

  it('rejects a request with more than 5,000 values in total', () => {
    const value = Array.from({ length: 3 }, () => new Array(2_000).fill(1))
    const error = rejection({ where: value })
    expect(error.code).toBe('VALIDATION_ERROR')
    expect(error.message).toContain('more than 5000 values')
  })

  it('accepts nesting up to 32 levels and rejects 33', () => {
    expect(() => guardInput(nested(32))).not.toThrow()
    const error = rejection(nested(33))
    expect(error.code).toBe('VALIDATION_ERROR')
    expect(issuePaths(error)[0]).toBe(Array(32).fill('a').join('.'))
  })

  it('rejects 10,000-deep nesting from JSON.parse without overflowing the stack', () => {
    const text = '['.repeat(10_000) + ']'.repeat(10_000)
    const error = rejection(JSON.parse(text))
    expect(error.code).toBe('VALIDATION_ERROR')
    expect(error.message).toContain('deeper than 32')
  })

  it('rejects 100,000-deep object nesting built in a loop', () => {
    expect(rejection(nested(100_000)).code).toBe('VALIDATION_ERROR')
  })

  it('rejects a circular structure', () => {
    const a: Record<string, unknown> = { b: 1 }
    a.self = a
    expect(rejection(a).message).toContain('circular')
  })

  it.each([
    ['NaN', Number.NaN],
    ['Infinity', Number.POSITIVE_INFINITY],
    ['-Infinity', Number.NEGATIVE_INFINITY],
  ])('rejects the non-finite number %s', (_name, n) => {
    const error = rejection({ where: { field: 'total', op: 'gt', value: n } })
    expect(issuePaths(error)).toEqual(['where.value'])
    expect(error.message).toContain('finite')
  })

  it('rejects 1e309 from JSON, which parses to Infinity', () => {
    const error = rejection(JSON.parse('{"where":{"field":"total","op":"gt","value":1e309}}'))
    expect(issuePaths(error)).toEqual(['where.value'])
  })

  it('rejects a NUL character in a string value and in a key', () => {
    expect(issuePaths(rejection(JSON.parse('{"model":"Or\\u0000der"}')))).toEqual(['model'])
    const inKey = rejection(JSON.parse('{"include":{"a\\u0000b":true}}'))
    expect(inKey.message).toContain('NUL')
    // The key itself is shown only through `printable`: the NUL is replaced.
    expect(issuePaths(inKey)[0]).toBe('include["a?b"]')
  })

  it('rejects strings and keys longer than the limit', () => {
    expect(rejection({ model: 'x'.repeat(10_001) }).message).toContain('longer than 10000')
    expect(() => guardInput({ model: 'x'.repeat(10_000) })).not.toThrow()
    const longKey = rejection({ ['k'.repeat(10_001)]: 1 })
    expect(longKey.message).toContain('longer than 10000')
    expect(longKey.message.length).toBeLessThan(300)
  })

  it('rejects a __proto__ key created by JSON.parse', () => {
    const input: unknown = JSON.parse('{"where":{"__proto__":{"polluted":true}}}')
    const error = rejection(input)
    expect(issuePaths(error)).toEqual(['where.__proto__'])
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
  })

  it('rejects constructor and prototype keys', () => {
    expect(issuePaths(rejection({ include: { constructor: true } }))).toEqual(['include.constructor'])
    expect(issuePaths(rejection(JSON.parse('{"a":[{"prototype":{}}]}')))).toEqual(['a[0].prototype'])
  })

  it('leaves Object.prototype untouched after rejecting hostile input', () => {
    const before = Object.getOwnPropertyNames(Object.prototype).sort()
    for (const text of [
      '{"__proto__":{"isAdmin":true}}',
      '{"constructor":{"prototype":{"isAdmin":true}}}',
      '[{"__proto__":{"isAdmin":true}}]',
    ]) {
      rejection(JSON.parse(text))
    }
    expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(before)
    expect(({} as Record<string, unknown>).isAdmin).toBeUndefined()
  })

  it('rejects class instances, dates, maps and buffers', () => {
    class Filter {
      field = 'id'
    }
    for (const value of [new Filter(), new Date(0), new Map(), Buffer.from('x'), /re/]) {
      expect(rejection({ where: value }).message).toContain('plain objects')
    }
  })

  it('accepts objects with a null prototype', () => {
    const bare = Object.assign(Object.create(null) as object, { model: 'Order' })
    expect(() => guardInput(bare)).not.toThrow()
  })

  it('rejects bigint, function and symbol values', () => {
    expect(rejection({ limit: 10n }).message).toContain('bigint')
    expect(rejection({ limit: () => 10 }).message).toContain('function')
    expect(rejection({ limit: Symbol('x') }).message).toContain('symbol')
  })

  it('rejects undefined inside arrays and holes, but tolerates undefined object members', () => {
    expect(issuePaths(rejection({ select: ['id', undefined] }))).toEqual(['select[1]'])
    // eslint-disable-next-line no-sparse-arrays
    expect(rejection({ select: ['id', , 'x'] }).message).toContain('holes')
    expect(() => guardInput({ model: 'Order', select: undefined })).not.toThrow()
    expect(rejection(undefined).code).toBe('VALIDATION_ERROR')
  })

  it('rejects accessor properties without running them', () => {
    let ran = false
    const input = {
      get model() {
        ran = true
        return 'Order'
      },
    }
    expect(rejection(input).message).toContain('accessor')
    expect(ran).toBe(false)
  })

  it('rejects symbol keys and extra properties on arrays', () => {
    expect(rejection({ [Symbol('k')]: 1 }).message).toContain('symbol')
    const list: unknown[] & { extra?: number } = [1, 2]
    list.extra = 3
    expect(rejection({ select: list }).message).toContain('extra properties')
  })

  it('honours custom limits', () => {
    expect(() => guardInput(nested(5), { maxDepth: 4 })).toThrow(TesseraError)
    expect(() => guardInput({ a: 'abcdef' }, { maxStringLength: 5 })).toThrow(TesseraError)
    expect(() => guardInput([1, 2, 3], { maxArrayLength: 2 })).toThrow(TesseraError)
    expect(() => guardInput([1, 2, 3], { maxNodes: 3 })).toThrow(TesseraError)
    expect(() => guardInput([1, 2, 3], { maxNodes: 4 })).not.toThrow()
  })
})
