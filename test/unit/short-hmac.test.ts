/**
 * The argsDigest's HMAC-SHA256 of a short text from the key's SHA-256 states (src/stores/short-hmac.ts) is
 * node's createHmac, for every message length it takes, keys of every length up to a block, and texts on either
 * side of the bound in characters and in UTF-8 bytes.
 */
import { createHmac, randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { digestOfArgsText } from '../../src/stores/audit-sanitize.ts'
import { hmacStates, SHORT_HMAC_MAX, shortHmacHex } from '../../src/stores/short-hmac.ts'

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
