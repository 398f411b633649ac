import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { exactJsonTypes, isExactDouble, parseJsonExact } from '../../src/executor/exact-json.ts'

/** The integer a double's shortest round-trip text (String(x), maybe in e-notation) denotes. */
function shortestAsBigInt(x: number): bigint {
  const [mantissa = '', power = '0'] = String(x).split('e')
  const [whole = '', fraction = ''] = mantissa.split('.')
  const exponent = Number(power) - fraction.length
  const digits = BigInt(whole + fraction)
  return exponent >= 0 ? digits * 10n ** BigInt(exponent) : digits / 10n ** BigInt(-exponent)
}

describe('parseJsonExact', () => {
  it('reads any JSON text JSON.stringify writes exactly as JSON.parse does', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const text = JSON.stringify(value)
        expect(parseJsonExact(text)).toEqual(JSON.parse(text))
      }),
      { numRuns: 500 },
    )
  })

  it('keeps every integer token a double cannot hold as its exact text, wherever it sits', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: -(10n ** 30n), max: 10n ** 30n }), (n) => {
        const token = n.toString()
        const parsed = parseJsonExact(`{"a": [1, {"b": ${token}}], "s": "${token}"}`) as {
          a: [number, { b: unknown }]
          s: string
        }
        // Exact when the double's shortest text (what JSON.stringify writes back) is the same integer.
        const exact = shortestAsBigInt(Number(token)) === n
        expect(parsed.a[1].b).toBe(exact ? Number(token) : token)
        expect(parsed.s).toBe(token)
      }),
      { numRuns: 500 },
    )
  })

  it('keeps a decimal token as a number only when the number means the same decimal value', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^-?(0|[1-9]\d{0,25})(\.\d{1,25})?([eE][+-]?\d{1,3})?$/), (token) => {
        const value = parseJsonExact(`[${token}]`) as [unknown]
        if (typeof value[0] === 'number') {
          expect(value[0]).toBe(Number(token))
          expect(isExactDouble(token)).toBe(true)
        } else {
          expect(value[0]).toBe(token)
        }
      }),
      { numRuns: 1000 },
    )
  })

  it.each([
    ['12345678901234567890', false],
    ['9007199254740993', false],
    ['9007199254740992', true],
    ['1e21', true],
    ['1000000000000000000000', true],
    ['0.1', true],
    ['0.10000000000000000000', true],
    ['3.14159265358979323846', false],
    ['1.5e10', true],
    ['-0', true],
    ['1E400', false],
    ['1e-400', false],
    ['5e-324', true],
    // Not the double's exact binary value, but the shortest text of the nearest double: it round-trips.
    ['119209289550781250000000', true],
  ])('decides %s is held exactly by a double: %s', (token, exact) => {
    expect(isExactDouble(token)).toBe(exact)
  })

  it('skips escaped quotes and backslashes inside strings when looking for number tokens', () => {
    expect(parseJsonExact('["\\\\", "a\\"12345678901234567890", 12345678901234567890]')).toEqual([
      '\\',
      'a"12345678901234567890',
      '12345678901234567890',
    ])
  })
})

describe('exactJsonTypes', () => {
  it('parses json, jsonb and their arrays exactly and leaves every other type to its base', () => {
    const base = { getTypeParser: (oid: number) => (raw: string) => `base:${oid}:${raw}` }
    const types = exactJsonTypes(base)
    expect(types.getTypeParser(3802, 'text')('{"n": 12345678901234567890}')).toEqual({
      n: '12345678901234567890',
    })
    expect(types.getTypeParser(114, 'text')('1')).toBe(1)
    expect(types.getTypeParser(23, 'text')('7')).toBe('base:23:7')
    expect(exactJsonTypes(base)).toBe(types)
  })

  it('parses a jsonb[] literal element by element, NULL elements as null', () => {
    const parse = exactJsonTypes(undefined).getTypeParser(3807, 'text')
    expect(parse('{"{\\"n\\": 12345678901234567890}",7,NULL}')).toEqual([
      { n: '12345678901234567890' },
      7,
      null,
    ])
  })
})
