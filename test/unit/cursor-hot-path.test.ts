import { describe, expect, it } from 'vitest'
import { TesseraError } from '../../src/errors/index.ts'
import { createHmac } from 'node:crypto'
import fc from 'fast-check'
import { hmac } from '../../src/planner/cursor-seal.ts'
import { cursorBinding, decodeCursor, encodeCursor } from '../../src/planner/cursor.ts'

const binding = cursorBinding({ tenantId: 't', model: 'Widget', orderBy: [], policyVersion: 'v' })
const payload = { v: 1, b: binding, k: ['2024-01-01 00:00:00+00', 'id-1'] } as const

function rejects(fn: () => unknown): boolean {
  try {
    fn()
    return false
  } catch (error) {
    return error instanceof TesseraError && error.code === 'INVALID_CURSOR'
  }
}

describe('cursor keys derived from the secret', () => {
  it('follows a byte secret that is changed in place', () => {
    const secret = new Uint8Array(32).fill(7)
    const token = encodeCursor(payload, secret)
    expect(decodeCursor(token, secret, binding).k).toEqual(payload.k)
    secret[0] = 8
    expect(rejects(() => decodeCursor(token, secret, binding))).toBe(true)
    const reissued = encodeCursor(payload, secret)
    expect(decodeCursor(reissued, secret, binding).k).toEqual(payload.k)
    secret[0] = 7
    expect(rejects(() => decodeCursor(reissued, secret, binding))).toBe(true)
    expect(decodeCursor(token, secret, binding).k).toEqual(payload.k)
  })

  it('accepts a cursor under another array holding the same bytes, and a string of them', () => {
    const token = encodeCursor(payload, new Uint8Array(Buffer.from('same-secret-bytes')))
    expect(decodeCursor(token, new Uint8Array(Buffer.from('same-secret-bytes')), binding).k).toEqual(
      payload.k,
    )
    expect(decodeCursor(token, 'same-secret-bytes', binding).k).toEqual(payload.k)
  })

  it('keeps every string secret apart, beyond the number of cached secrets', () => {
    const secrets = Array.from({ length: 40 }, (_, i) => `secret-${i}`)
    const tokens = secrets.map((s) => encodeCursor(payload, s))
    for (const [i, s] of secrets.entries()) {
      expect(decodeCursor(tokens[i], s, binding).k).toEqual(payload.k)
      expect(rejects(() => decodeCursor(tokens[(i + 1) % tokens.length], s, binding))).toBe(true)
    }
  })

  it('still refuses an empty secret every time', () => {
    for (let i = 0; i < 2; i++) {
      expect(() => encodeCursor(payload, '')).toThrow(TesseraError)
      expect(() => encodeCursor(payload, new Uint8Array(0))).toThrow(TesseraError)
    }
  })
})

describe('cursor sealing', () => {
  it('seals the same page position under a fresh nonce every time, across nonce pools', () => {
    const tokens = new Set<string>()
    const sealed = new Set<string>()
    for (let i = 0; i < 600; i++) {
      const token = encodeCursor(payload, 'iv-test-secret')
      tokens.add(token)
      // Token bytes: format byte, then the 16-byte nonce.
      sealed.add(Buffer.from(token, 'base64url').subarray(1, 17).toString('hex'))
      expect(decodeCursor(token, 'iv-test-secret', binding).k).toEqual(payload.k)
    }
    expect(tokens.size).toBe(600)
    expect(sealed.size).toBe(600)
  })
})

describe("the seal's HMAC", () => {
  it.each(['sha256', 'sha512'] as const)(
    'gives what createHmac gives with %s, for keys up to a block and messages of any length',
    (hash) => {
      fc.assert(
        fc.property(
          fc.uint8Array({ minLength: 1, maxLength: hash === 'sha256' ? 64 : 128 }),
          fc.oneof(fc.uint8Array({ maxLength: 200 }), fc.uint8Array({ minLength: 1_000, maxLength: 3_000 })),
          (key, message) => {
            const expected = createHmac(hash, key).update(message).digest()
            expect(hmac(hash, key, message).equals(expected)).toBe(true)
          },
        ),
        { numRuns: 200 },
      )
    },
  )

  it('refuses a key longer than a block rather than hash it differently from RFC 2104', () => {
    expect(() => hmac('sha256', new Uint8Array(65), new Uint8Array(1))).toThrow(RangeError)
    expect(() => hmac('sha512', new Uint8Array(129), new Uint8Array(1))).toThrow(RangeError)
  })
})
