/**
 * Found by the red team on the payroll schema (test/support/payroll.ts): the audit record's `model` (read from
 * the raw arguments), `tool`, and the tenant of a context that failed validation were stored in the PostgreSQL
 * store's text columns as sent. One call with `model: "x\u0000y"` made every INSERT of the batch fail (22021):
 * the default batched store kept retrying the poisoned batch and refused every later call of every tenant
 * (INTERNAL_ERROR), and the records of calls already answered were lost. A lone surrogate reached the column as
 * U+FFFD while the record's body kept it, so `verify()` reported the chain as edited. A principal holding a
 * lone surrogate also named, in the database, the same tenant as any other id that differs only there.
 */
import { afterAll, beforeAll, expect, it } from 'vitest'
import type { RunContext } from '../../src/context/index.ts'
import { ensureAuditTables, PostgresAuditStore } from '../../src/stores/index.ts'
import { APP_ROLE, describeEachDatabase } from '../support/databases.ts'
import { HR_A, HR_B, loadPayroll, payrollPolicy, WS_A } from '../support/payroll.ts'
import { type ToolsetHarness, toolsetFor } from '../support/toolset.ts'

describeEachDatabase('hostile text in the audit store’s columns', (db) => {
  let store: PostgresAuditStore
  let h: ToolsetHarness
  beforeAll(async () => {
    await loadPayroll(db())
    await ensureAuditTables(db().admin, { writers: [APP_ROLE] })
    store = new PostgresAuditStore({ db: db().admin }) // batched, the default
    h = await toolsetFor(db(), payrollPolicy(), { audit: store })
  })
  afterAll(async () => {
    await store.close()
  })

  it('stores a record for every probe, keeps serving other tenants and verifies clean', async () => {
    const probes: [RunContext, string, unknown][] = [
      [HR_A, 'db_query', { model: 'x\u0000y' }],
      [HR_A, 'db_query', { model: 'Emp\ud800' }],
      [HR_A, 'db_get', { model: `${'E'.repeat(62)}\u{1F600}`, id: 1 }],
      [HR_A, '\ud800db_query', { model: 'Employee' }],
      [HR_A, `${'t'.repeat(60)}\u{1F600}`, {}],
      [{ principal: { tenantId: `${WS_A}\u0000` } }, 'db_query', { model: 'Employee' }],
      [{ principal: { tenantId: `${WS_A}\ud800` } }, 'db_query', { model: 'Employee' }],
      // An invalid context (unknown key) whose tenant is recorded cut: the cut fell inside the emoji.
      [
        {
          principal: { tenantId: `${'w'.repeat(255)}\u{1F600}${'x'.repeat(9)}`, isAdmin: true },
        } as RunContext,
        'db_query',
        { model: 'Employee' },
      ],
    ]
    const ids: string[] = []
    for (const [i, [ctx, tool, args]] of probes.entries()) {
      const requestId = `hostile-${i}`
      ids.push(requestId)
      const r = await h.toolset.call({ ...ctx, requestId }, tool, args)
      expect(r.ok, `probe ${i}`).toBe(false)
      if (!r.ok) expect(r.error.code, `probe ${i}`).not.toBe('INTERNAL_ERROR')
    }
    const other = await h.toolset.call({ ...HR_B, requestId: 'after-probes' }, 'db_query', {
      model: 'Currency',
    })
    expect(other.ok).toBe(true)
    await store.flush()
    const stored = new Set((await store.query({})).map((r) => r.requestId))
    for (const id of [...ids, 'after-probes']) expect(stored.has(id), id).toBe(true)
    const verified = await store.verify()
    expect(verified.breaks).toEqual([])
    expect(verified.ok).toBe(true)
  })

  it('refuses a principal whose tenant, user or role is not well-formed Unicode', async () => {
    const bad: RunContext[] = [
      { principal: { tenantId: `${WS_A}\ud800` } },
      { principal: { tenantId: WS_A, userId: 'u\udc00' } },
      { principal: { tenantId: WS_A, roles: ['hr\ud800'] } },
    ]
    for (const ctx of bad) {
      const r = await h.toolset.call(ctx, 'db_query', { model: 'Employee', select: ['emp_no'] })
      expect(r.ok).toBe(false)
      if (!r.ok) expect(['TENANT_SCOPE_REQUIRED', 'VALIDATION_ERROR']).toContain(r.error.code)
    }
  })
})
