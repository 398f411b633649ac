/**
 * Hostile spellings of secrets in tool arguments: other letter case, dotted paths, nested conditions, lists,
 * accessors. None of the operands may survive sanitisation.
 */
import { describe, expect, it } from 'vitest'
import { REDACTED, sanitizeAuditInput } from '../../src/stores/index.ts'

const sensitiveFields = new Set(['ssn', 'password_hash'])

describe('audit input redaction against hostile spellings', () => {
  it('redacts sensitive field names in any letter case and as the last segment of a path', () => {
    const out = sanitizeAuditInput(
      { data: { SSN: '123-45-6789', 'customer.Ssn': '987-65-4321', name: 'ok' } },
      { sensitiveFields },
    )
    expect(out).toEqual({ data: { SSN: REDACTED, 'customer.Ssn': REDACTED, name: 'ok' } })
  })

  it('redacts operands of conditions on sensitive fields nested in and/or/not and lists', () => {
    const where = {
      or: [
        { field: 'Password_Hash', op: 'in', value: ['hunter2', 'hunter3'] },
        { not: { field: 'ssn', op: 'between', value: ['000', '999'] } },
        { field: 'name', op: 'eq', value: 'visible' },
      ],
    }
    const text = JSON.stringify(sanitizeAuditInput({ model: 'User', where }, { sensitiveFields }))
    for (const secret of ['hunter2', 'hunter3', '"000"', '"999"']) expect(text).not.toContain(secret)
    expect(text).toContain('visible')
  })

  it('redacts secret-looking keys without any policy, and never runs an accessor', () => {
    let ran = false
    const args = {
      Authorization: 'Bearer abc',
      apiKey: 'k-123',
      nested: { client_secret: 's-456', Passwd: 'p' },
      get token() {
        ran = true
        return 'tok'
      },
    }
    const text = JSON.stringify(sanitizeAuditInput(args))
    for (const secret of ['Bearer abc', 'k-123', 's-456', '"p"', 'tok"']) expect(text).not.toContain(secret)
    expect(ran).toBe(false)
  })
})
