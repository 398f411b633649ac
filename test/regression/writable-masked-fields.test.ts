/**
 * Regression (outside attack suite, issue 9 item 12): an agent could not create a contact with an email — masked
 * fields were refused in `data` with no option. `{ action: 'mask', writable: true }` (and the same for `hash`)
 * now makes the field writable; the default stays refused; the written value never comes back unmasked and
 * never reaches the audit or a pending approval in clear.
 */
import { beforeAll, describe, expect, it } from 'vitest'
import { isTesseraError } from '../../src/errors/index.ts'
import { definePolicy, type PolicyInput } from '../../src/policy/index.ts'
import { describeEachDatabase } from '../support/databases.ts'
import { ALICE, as, TENANT_A } from '../support/saas.ts'
import { type ToolsetHarness, toolsetFor } from '../support/toolset.ts'

const EMAIL = 'zelda.secret@hidden.example'
const SSN = '987-65-4321'

function policy(writable: boolean, create: 'allow' | 'approval' = 'allow'): PolicyInput {
  return {
    models: {
      Customer: {
        table: 'customers',
        unscopedColumns: ['org_id'],
        scoping: { tenant_id: 'principal.tenantId' },
        fields: {
          id: 'allow',
          tenant_id: 'allow',
          name: 'allow',
          email: writable ? { action: 'mask', writable: true } : 'mask',
          ssn: writable ? { action: 'hash', writable: true } : 'hash',
        },
        write: { create, update: 'allow', autoSet: { tenant_id: 'principal.tenantId' } },
      },
    },
  }
}

describeEachDatabase('writable masked and hashed fields', (db) => {
  let h: ToolsetHarness
  beforeAll(async () => {
    h = await toolsetFor(db(), policy(true))
  })

  it('creates a row with a masked email and a hashed ssn, returning them transformed', async () => {
    const { row } = await h.toolset.create(as(ALICE, 'req-writable'), {
      model: 'Customer',
      data: { name: 'Zelda', email: EMAIL, ssn: SSN },
    })
    expect(row['email']).toBe('z***@hidden.example')
    expect(row['ssn']).toMatch(/^[0-9a-f]{64}$/)
    const stored = await db()
      .admin.selectFrom('customers')
      .select(['email', 'ssn', 'tenant_id'])
      .where('id', '=', row['id'] as string)
      .executeTakeFirstOrThrow()
    expect(stored).toEqual({ email: EMAIL, ssn: SSN, tenant_id: TENANT_A })
    const records = await h.audit.query({ tool: 'db_create', limit: 1_000 })
    const record = records.find((r) => r.requestId === 'req-writable')
    expect(record?.outcome).toBe('success')
    const text = JSON.stringify(record)
    expect(text).not.toContain('zelda.secret')
    expect(text).not.toContain(SSN)
    expect(text).toContain('z***@hidden.example')
  })

  it('updates a writable masked field and keeps it out of the audit of a refused call too', async () => {
    const { row } = await h.toolset.create(as(ALICE), { model: 'Customer', data: { name: 'Yuri' } })
    const ok = await h.toolset.update(as(ALICE, 'req-upd-writable'), {
      model: 'Customer',
      id: row['id'] as string,
      data: { email: EMAIL },
    })
    expect(ok.row['email']).toBe('z***@hidden.example')
    const refused = await h.toolset.call(as(ALICE, 'req-refused-writable'), 'db_update', {
      model: 'Customer',
      id: row['id'],
      data: { email: EMAIL, nope: 1 },
    })
    expect(refused.ok).toBe(false)
    const records = await h.audit.query({ tool: 'db_update', limit: 1_000 })
    for (const id of ['req-upd-writable', 'req-refused-writable']) {
      const record = records.find((r) => r.requestId === id)
      expect(record).toBeDefined()
      expect(JSON.stringify(record)).not.toContain('zelda.secret')
    }
  })

  it('keeps masked and hashed fields refused in data by default', async () => {
    const plain = await toolsetFor(db(), policy(false))
    for (const data of [
      { name: 'N', email: EMAIL },
      { name: 'N', ssn: SSN },
    ]) {
      const r = await plain.toolset.call(as(ALICE), 'db_create', { model: 'Customer', data })
      expect(r).toMatchObject({ ok: false, error: { code: 'FIELD_NOT_ALLOWED' } })
    }
  })

  it('stores a pending approval without the clear value', async () => {
    const gated = await toolsetFor(db(), policy(true, 'approval'))
    const r = await gated.toolset.call(as(ALICE), 'db_create', {
      model: 'Customer',
      data: { name: 'Xena', email: EMAIL, ssn: SSN },
    })
    expect(r).toMatchObject({ ok: false, error: { code: 'WRITE_APPROVAL_REQUIRED' } })
    const id = r.ok ? '' : (r.error.details as { approvalId: string }).approvalId
    const approval = await gated.toolset.approvals.get(id)
    expect(approval).not.toBeNull()
    expect(JSON.stringify(approval)).not.toContain('zelda.secret')
    expect(JSON.stringify(approval)).not.toContain(SSN)
  })
})

describe('writable in the policy', () => {
  it('is refused on allow and deny fields, naming the field', () => {
    const input = policy(true)
    const fields = input.models['Customer']?.fields ?? {}
    fields['name'] = { action: 'allow', writable: true }
    try {
      definePolicy(input)
      expect.unreachable()
    } catch (error) {
      expect(isTesseraError(error) && error.details['problems']).toEqual([
        {
          path: 'models.Customer.fields.name.writable',
          message: expect.stringContaining('writable only applies to mask and hash fields'),
        },
      ])
    }
  })
})
