/**
 * boundRedactedImage (src/stores/bounded-image.ts) keeps of a write's image exactly what
 * `boundImage(redactImageSecrets(image))` kept — same members, same order, same values, same property attributes
 * — with one copy instead of two. Differential over generated rows and lists, secret-named and odd keys
 * (`__proto__`, `constructor`), long strings and nested values included; and it never changes its input.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  boundImage,
  boundRedactedImage,
  MAX_IMAGE_VALUE_CHARS,
  redactImageSecrets,
} from '../../src/stores/index.ts'

const key = fc.oneof(
  fc.constantFrom('id', 'body', 'password', 'api_key', 'ssn', '__proto__', 'constructor', 'toString', 'a.b'),
  fc.string({ maxLength: 8 }),
)

const scalar = fc.oneof(
  fc.string({ maxLength: 20 }),
  fc.constant('x'.repeat(MAX_IMAGE_VALUE_CHARS + 5)),
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.constant(undefined),
)

const value = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    scalar,
    fc.array(tie('value'), { maxLength: 3 }),
    fc.dictionary(key, tie('value'), { maxKeys: 3 }),
  ),
})).value

/** A row as a plain object built with defineProperty (so `__proto__` is an own member, as in a shaped row). */
const row = fc.array(fc.tuple(key, value), { maxLength: 6 }).map((members) => {
  const out: Record<string, unknown> = {}
  for (const [k, v] of members) {
    Object.defineProperty(out, k, { value: v, enumerable: true, writable: true, configurable: true })
  }
  return out
})

/** Members, in order, with their values and attributes, down every level. */
function described(v: unknown): unknown {
  if (typeof v !== 'object' || v === null) return { v }
  if (Array.isArray(v)) return { list: v.map(described) }
  return {
    proto: Object.getPrototypeOf(v) === Object.prototype,
    members: Object.keys(v).map((k) => {
      const d = Object.getOwnPropertyDescriptor(v, k)
      return [k, d?.enumerable, d?.writable, d?.configurable, described(d?.value)]
    }),
  }
}

describe('boundRedactedImage', () => {
  it('keeps of a row, a list of rows or a scalar exactly what bounding the redacted image kept', () => {
    fc.assert(
      fc.property(fc.oneof(row, fc.array(row, { maxLength: 3 }), scalar), (image) => {
        const before = described(image)
        const expected = described(boundImage(redactImageSecrets(image)))
        expect(described(boundRedactedImage(image))).toEqual(expected)
        expect(described(image)).toEqual(before)
      }),
      { numRuns: 500 },
    )
  })

  it('redacts a secret-named member and cuts a long value of a row', () => {
    const image = { id: 1, password: 'hunter2', body: 'y'.repeat(MAX_IMAGE_VALUE_CHARS + 1) }
    const kept = boundRedactedImage(image) as Record<string, unknown>
    expect(kept['password']).toBe('[REDACTED]')
    expect(String(kept['body'])).toMatch(/…\[truncated: 2049 chars, sha256 [0-9a-f]{64}\]$/)
    expect(image.password).toBe('hunter2')
  })
})
