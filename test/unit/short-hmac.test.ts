/**
 * The argsDigest's HMAC-SHA256 of a short text from the key's SHA-256 states (src/stores/short-hmac.ts) is
 * node's createHmac, for every message length it takes, keys of every length up to a block, and texts on either
 * side of the bound in characters and in UTF-8 bytes. And the deferred digest riding on the draft
 * (src/stores/deferred-args-digest.ts) leaves the draft as it was to everything else.
 */
import { createHmac, randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { deferArgsDigest, sealAuditRecord } from '../../src/stores/index.ts'
import { digestOfArgsText } from '../../src/stores/audit-sanitize.ts'
import { hmacStates, SHORT_HMAC_MAX, shortHmacHex } from '../../src/stores/short-hmac.ts'
import { auditDraft } from '../support/audit-store-conformance.ts'

describe('shortHmacHex', () => {
  it('is createHmac for every message length up to the bound and every key length up to a block', () => {
    const message = Buffer.alloc(2 * 64)
    for (let keyLength = 0; keyLength <= 64; keyLength++) {
      const key = randomBytes(keyLength)
      const states = hmacStates(key)
      for (let length = 0; length <= SHORT_HMAC_MAX; length++) {
        const bytes = randomBytes(length)
        bytes.copy(message)
        // Leftover bytes past the message from the last call must not count.
        message.fill(0xa5, length)
        const want = createHmac('sha256', key).update(bytes).digest('hex')
        expect(shortHmacHex(states, message, length)).toBe(want)
      }
    }
  })

  it('refuses a message past the bound and a key longer than a block', () => {
    expect(() => shortHmacHex(hmacStates(new Uint8Array(32)), Buffer.alloc(256), SHORT_HMAC_MAX + 1)).toThrow(
      RangeError,
    )
    expect(() => hmacStates(new Uint8Array(65))).toThrow(RangeError)
  })

  it('gives digestOfArgsText the createHmac digest on either side of the bound, in characters and in bytes', () => {
    const key = randomBytes(32)
    const texts: string[] = []
    for (let n = SHORT_HMAC_MAX - 3; n <= SHORT_HMAC_MAX + 3; n++) {
      texts.push('a'.repeat(n))
      // Fewer characters than the bound but more UTF-8 bytes (2, 3 and 4 bytes per character).
      texts.push('é'.repeat(Math.ceil(n / 2)), '€'.repeat(Math.ceil(n / 3)), '𝄞'.repeat(Math.ceil(n / 4)))
      texts.push(`{"id":"${'9'.repeat(n - 20)}","model":"Order"}`)
    }
    for (const text of texts) {
      expect(digestOfArgsText(text, key)).toBe(createHmac('sha256', key).update(text, 'utf8').digest('hex'))
    }
  })
})

describe('deferArgsDigest', () => {
  const key = new Uint8Array(32).fill(3)
  const draft = () => auditDraft({ inputs: { model: 'Order', id: '1' }, argsDigest: null })
  const text = '{"id":"1","model":"Order"}'
  const want = createHmac('sha256', key).update(text, 'utf8').digest('hex')

  it('leaves the draft as it was to keys, spreads, JSON and deep equality, and seals with the digest', () => {
    const plain = draft()
    const deferred = deferArgsDigest(draft(), text, key)
    expect(deferred).toStrictEqual(plain)
    expect(Object.keys(deferred)).toEqual(Object.keys(plain))
    expect(JSON.stringify(deferred)).toBe(JSON.stringify(plain))
    expect(sealAuditRecord(deferred, null).argsDigest).toBe(want)
    // A copy is a new draft: as before, it carries no deferred digest.
    expect(sealAuditRecord({ ...deferred }, null).argsDigest).toBeNull()
  })

  it('defers the digest of a frozen draft too, and a second registration replaces the first', () => {
    const frozen = deferArgsDigest(Object.freeze(draft()), text, key)
    expect(sealAuditRecord(frozen, null).argsDigest).toBe(want)
    const twice = deferArgsDigest(deferArgsDigest(draft(), 'other', key), text, key)
    expect(sealAuditRecord(twice, null).argsDigest).toBe(want)
  })
})
