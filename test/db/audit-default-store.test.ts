/**
 * The audit store a toolset gets when none is given: PostgreSQL when the audit tables exist and the toolset's
 * roles may insert into them, memory otherwise — never a table created behind the operator's back.
 */
import { sql } from 'kysely'
import { expect, it } from 'vitest'
import { definePolicy } from '../../src/policy/define-policy.ts'
import type { PolicyInput } from '../../src/policy/policy-schema.ts'
import {
  auditTablesWritable,
  ensureAuditTables,
  MemoryAuditStore,
  PostgresAuditStore,
} from '../../src/stores/index.ts'
import { createToolset } from '../../src/tools/create-toolset.ts'
import { APP_ROLE, describeEachDatabase, type TestDatabase } from '../support/databases.ts'
import { ALICE, as, TEST_SECRET } from '../support/saas.ts'
import { orderOnlyPolicy } from '../support/scoped-order.ts'

const policy: PolicyInput = orderOnlyPolicy()

function toolsetWithoutAudit(t: TestDatabase) {
  return createToolset({
    db: t.app,
    policy: definePolicy(policy),
    secret: TEST_SECRET,
    ...(t.appRole === undefined ? {} : { role: t.appRole }),
  })
}

describeEachDatabase('default audit store', (db) => {
  it('keeps records in memory when the audit tables do not exist, and creates no table', async () => {
    const toolset = await toolsetWithoutAudit(db())
    expect(toolset.audit).toBeInstanceOf(MemoryAuditStore)
    const tables = await sql<{
      n: number
    }>`select count(*)::int as n from pg_class where relname like 'tessera_audit%'`.execute(db().admin)
    expect(tables.rows[0]?.n).toBe(0)
  })

  it('keeps records in memory when the tables exist but the tool role may not insert into them', async () => {
    await ensureAuditTables(db().admin)
    expect(await auditTablesWritable(db().app, db().appRole ?? APP_ROLE)).toBe(false)
    const toolset = await toolsetWithoutAudit(db())
    expect(toolset.audit).toBeInstanceOf(MemoryAuditStore)
  })

  it('stores records in tessera_audit once the tool role may insert into it', async () => {
    await ensureAuditTables(db().admin, { writers: [APP_ROLE] })
    expect(await auditTablesWritable(db().app, db().appRole)).toBe(true)
    const toolset = await toolsetWithoutAudit(db())
    expect(toolset.audit).toBeInstanceOf(PostgresAuditStore)
    const result = await toolset.call(as(ALICE), 'db_query', { model: 'Order', limit: 1 })
    expect(result.ok).toBe(true)
    await (toolset.audit as PostgresAuditStore).close()
    const stored = await sql<{
      tool: string
      tenant_id: string
    }>`select tool, tenant_id from tessera_audit`.execute(db().admin)
    expect(stored.rows).toEqual([{ tool: 'db_query', tenant_id: ALICE.tenantId }])
  })

  it('does not pick tessera_audit on a read-only session such as a replica, where every insert would fail', async () => {
    await ensureAuditTables(db().admin, { writers: [APP_ROLE] })
    expect(await auditTablesWritable(db().app, db().appRole)).toBe(true)
    const readOnly = await db()
      .app.transaction()
      .setAccessMode('read only')
      .execute((trx) => auditTablesWritable(trx, db().appRole))
    expect(readOnly).toBe(false)
  })

  it('answers false, not an error, for a role that does not exist', async () => {
    expect(await auditTablesWritable(db().app, 'no_such_role_4711')).toBe(false)
  })
})
