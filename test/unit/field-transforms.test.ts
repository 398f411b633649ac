import { createHmac } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { TesseraError } from '../../src/errors/index.ts'
import { hashValue, maskPatternProblem, maskValue } from '../../src/policy/field-transforms.ts'
import type { FieldRule } from '../../src/policy/types.ts'
import type { MaskStyle } from '../../src/policy/policy-schema.ts'

const style = (s: MaskStyle): FieldRule => ({ action: 'mask', style: s })
const pattern = (p: string): FieldRule => ({ action: 'mask', pattern: p })
const mask: FieldRule = { action: 'mask' }

describe('maskValue styles', () => {
  it('masks an email keeping the first character and the domain', () => {
    expect(maskValue('alice@example.com', style('email'))).toBe('a***@example.com')
    expect(maskValue('bo@x.io', style('email'))).toBe('b***@x.io')
  })

  it('does not reveal the length of the local part', () => {
    expect(maskValue('a@example.com', style('email'))).toBe('a***@example.com')
    expect(maskValue('abcdefghij@example.com', style('email'))).toBe('a***@example.com')
  })

  it('falls back to a partial mask for an "email" that is not one', () => {
    expect(maskValue('not-an-email', style('email'))).toBe('n**********l')
    expect(maskValue('a@b@c.com', style('email'))).toBe('a*******m')
  })

  it('masks a phone number keeping +, the first digit and the last three', () => {
    expect(maskValue('+14155550123', style('phone'))).toBe('+1*******123')
    expect(maskValue('+1 (415) 555-2671', style('phone'))).toBe('+1*******671')
    expect(maskValue('415.555.2671', style('phone'))).toBe('4******671')
  })

  it('masks every digit of a phone number too short to reveal safely', () => {
    expect(maskValue('555-2671', style('phone'))).toBe('*******')
    expect(maskValue('+12345', style('phone'))).toBe('+*****')
  })

  it('keeps the first and last character for partial masks', () => {
    expect(maskValue('Johnson', style('partial'))).toBe('J*****n')
    expect(maskValue('abcd', style('partial'))).toBe('****')
    expect(maskValue('ab', style('partial'))).toBe('**')
  })

  it('does not split surrogate pairs', () => {
    expect(maskValue('😀bcde😀', style('partial'))).toBe('😀****😀')
  })

  it('replaces the whole value with a fixed mask for full', () => {
    expect(maskValue('anything at all', style('full'))).toBe('****')
    expect(maskValue('x', style('full'))).toBe('****')
  })

  it('picks email, phone or partial automatically', () => {
    expect(maskValue('carol@example.org', mask)).toBe('c***@example.org')
    expect(maskValue('+44 20 7946 0958', mask)).toBe('+4********958')
    expect(maskValue('Sensitive', style('auto'))).toBe('S*******e')
  })
})

describe('maskValue patterns', () => {
  it('replaces {last4} with the last four characters', () => {
    expect(maskValue('4242424242424242', pattern('****{last4}'))).toBe('****4242')
  })

  it('replaces {first2} with the first two characters', () => {
    expect(maskValue('DE89370400440532013000', pattern('{first2}** **** ****'))).toBe('DE** **** ****')
  })

  it('combines placeholders', () => {
    expect(maskValue('ABCDEFGHIJ', pattern('{first2}…{last2}'))).toBe('AB…IJ')
  })

  it('takes precedence over the style', () => {
    expect(maskValue('alice@example.com', { action: 'mask', style: 'email', pattern: 'xx{last3}' })).toBe(
      'xxcom',
    )
  })

  it('never reveals more than half of a short value', () => {
    expect(maskValue('1234', pattern('****{last4}'))).toBe('****34')
    expect(maskValue('ab', pattern('{first2}{last2}'))).toBe('a')
  })

  it('leaves out-of-range placeholders as literal text and reports them for the validator', () => {
    expect(maskValue('123456', pattern('{last0}'))).toBe('{last0}')
    expect(maskPatternProblem('****{last40}')).toContain('between 1 and 32')
    expect(maskPatternProblem('****{last4}')).toBeUndefined()
  })
})

describe('maskValue value types', () => {
  it('keeps null and undefined as null', () => {
    expect(maskValue(null, mask)).toBeNull()
    expect(maskValue(undefined, pattern('****{last4}'))).toBeNull()
  })

  it('stringifies numbers, bigints and dates before masking', () => {
    expect(maskValue(4242424242424242, pattern('****{last4}'))).toBe('****4242')
    expect(maskValue(123456789012345678901234567890n, pattern('{last3}'))).toBe('890')
    expect(maskValue(1234567, style('partial'))).toBe('1*****7')
    expect(maskValue(new Date('2024-05-01T00:00:00Z'), pattern('{first4}-**-**'))).toBe('2024-**-**')
  })

  it('always returns a string for non-null values', () => {
    for (const value of ['x', 0, 12.5, true, 9n, new Date(0)]) {
      expect(typeof maskValue(value, mask)).toBe('string')
    }
  })

  it('fully masks values without a text form', () => {
    expect(maskValue({ card: '4242' }, pattern('{last4}'))).toBe('****')
    expect(maskValue(Buffer.from('secret'), style('partial'))).toBe('****')
  })
})

describe('hashValue', () => {
  const secret = 'hash-secret-0123456789'

  it('is a stable 64-character hex HMAC', () => {
    const h = hashValue('123-45-6789', secret)
    expect(h).toMatch(/^[0-9a-f]{64}$/)
    expect(hashValue('123-45-6789', secret)).toBe(h)
  })

  it('is keyed: another secret gives another hash', () => {
    expect(hashValue('123-45-6789', 'another-secret')).not.toBe(hashValue('123-45-6789', secret))
  })

  it('distinguishes values and hashes the string form of numbers', () => {
    expect(hashValue('a', secret)).not.toBe(hashValue('b', secret))
    expect(hashValue(42, secret)).toBe(hashValue('42', secret))
    expect(hashValue(42n, secret)).toBe(hashValue('42', secret))
  })

  it('accepts the secret as bytes', () => {
    expect(hashValue('x', new TextEncoder().encode(secret))).toBe(hashValue('x', secret))
  })

  it('is not a plain HMAC under the raw secret (its key is derived for this purpose only)', () => {
    const plain = createHmac('sha256', secret).update('x').digest('hex')
    expect(hashValue('x', secret)).not.toBe(plain)
  })

  it('keeps null as null', () => {
    expect(hashValue(null, secret)).toBeNull()
    expect(hashValue(undefined, secret)).toBeNull()
  })

  it('refuses an empty secret', () => {
    expect(() => hashValue('x', '')).toThrow(TesseraError)
  })
})
