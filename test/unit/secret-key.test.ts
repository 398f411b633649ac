/**
 * One test of secret-looking keys (src/stores/secret-key.ts) for audit inputs, write images and log lines:
 * every spelling of a name counts, ordinary names that merely contain a short one do not.
 */
import { Writable } from 'node:stream'
import { describe, expect, it } from 'vitest'
import { isSecretKey, REDACTED, redactImageSecrets, sanitizeAuditInput } from '../../src/stores/index.ts'
import { createTesseraLogger } from '../../src/tools/index.ts'

describe('secret-looking keys', () => {
  it('match in any case and with any separator or camel-case hump', () => {
    for (const key of [
      'apiKey',
      'api-key',
      'API_KEY',
      'X-Api-Key',
      'APIKey',
      'pin',
      'PIN',
      'user_pin',
      'pinCode',
      'iban',
      'IBAN',
      'payout.iban',
      'ssn',
      'SSN',
      'card_number',
      'cardNumber',
      'card-no',
      'CreditCard',
      'cvv',
      'CVV2',
      'cvc',
      'security_code',
      'otp',
      'password',
      'db_passwd',
      'client_secret',
      'accessToken',
      'Authorization',
      'set-cookie',
      'private_key',
    ]) {
      expect([key, isSecretKey(key)]).toEqual([key, true])
    }
  })

  it('leave ordinary names that merely contain a short secret name', () => {
    for (const key of [
      'shipping',
      'spinner',
      'pinned',
      'opinion',
      'lessons',
      'description',
      'status',
      'ribbon',
    ]) {
      expect([key, isSecretKey(key)]).toEqual([key, false])
    }
  })

  it('redact the same keys in inputs and in images, in nested objects and arrays', () => {
    const value = {
      data: { settings: { pin: '1', list: [{ iban: '2' }, [{ 'api-key': '3' }]], keep: 'ok' } },
    }
    const expected = {
      data: {
        settings: { pin: REDACTED, list: [{ iban: REDACTED }, [{ 'api-key': REDACTED }]], keep: 'ok' },
      },
    }
    expect(sanitizeAuditInput(value)).toEqual(expected)
    expect(sanitizeAuditInput(Object.freeze(value), { full: true })).toEqual(expected)
    expect(redactImageSecrets(value)).toEqual(expected)
  })

  it('keep a null under a secret name in an image: an empty column hides nothing', () => {
    expect(redactImageSecrets({ ssn: null, iban: 'DE89' })).toEqual({ ssn: null, iban: REDACTED })
  })

  it('censor them at any depth in the lines of Tessera’s logger', () => {
    const lines: string[] = []
    const destination = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(chunk.toString())
        done()
      },
    })
    const logger = createTesseraLogger({ destination })
    logger.info({ ctx: { billing: [{ cardNumber: '4111111111111111', cvv: '737' }], plan: 'pro' } }, 'hello')
    // The logged object only: the line's pid (say 14737) may contain the CVV's digits.
    const logged = lines.map((l) => JSON.stringify((JSON.parse(l) as { ctx: unknown }).ctx)).join('')
    expect(logged).not.toMatch(/4111111111111111|737/)
    expect(logged).toContain('pro')
  })
})
