/**
 * Regression: a cursor's body was signed but plain base64 JSON, so the last row's order-key values — always
 * including the primary key, which may be a denied, masked or hashed field — were readable by anyone holding
 * the token. The keys now travel sealed (encrypted, and authenticated together with the query binding).
 */
import { describe, expect, it } from 'vitest'
import { TesseraError } from '../../src/errors/index.ts'
import { cursorBinding, decodeCursor, encodeCursor } from '../../src/planner/cursor.ts'

const KEY = 'regression-secret-0123456789'
const SECRET_KEY_VALUE = '0a000000-0000-4000-8000-00000000beef'
const binding = cursorBinding({ tenantId: 't', model: 'Widget', orderBy: [], policyVersion: 'v' })

/** Everything a holder can read from the token: its bytes, decoded as text. */
function readable(token: string): string {
  return Buffer.from(token, 'base64url').toString('latin1')
}

describe('cursor order keys', () => {
  it('never carries an order-key value in the readable part of the token', () => {
    const token = encodeCursor({ v: 1, b: binding, k: [SECRET_KEY_VALUE, 'ssn 123-45-6789', 42] }, KEY)
    // The whole token is one seal (format byte, nonce, ciphertext, tag): no clear JSON at all.
    expect(token).toMatch(/^[A-Za-z0-9_-]+$/)
    const body = readable(token)
    expect(body).not.toContain(SECRET_KEY_VALUE)
    expect(body).not.toContain('ssn 123')
    expect(token).not.toContain(Buffer.from(SECRET_KEY_VALUE).toString('base64url').slice(0, 16))
    expect(decodeCursor(token, KEY, binding).k).toEqual([SECRET_KEY_VALUE, 'ssn 123-45-6789', 42])
  })

  it('seals the same keys differently every time, so equal positions are not linkable', () => {
    const a = encodeCursor({ v: 1, b: binding, k: [SECRET_KEY_VALUE] }, KEY)
    const b = encodeCursor({ v: 1, b: binding, k: [SECRET_KEY_VALUE] }, KEY)
    expect(readable(a)).not.toBe(readable(b))
  })

  it('refuses sealed keys sealed for another binding', () => {
    const other = cursorBinding({ tenantId: 'u', model: 'Widget', orderBy: [], policyVersion: 'v' })
    const token = encodeCursor({ v: 1, b: other, k: [SECRET_KEY_VALUE] }, KEY)
    expect(() => decodeCursor(token, KEY, binding)).toThrow(TesseraError)
  })
})
