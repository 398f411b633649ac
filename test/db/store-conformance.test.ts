/**
 * Every store implementation against its interface's conformance suite (test/support/*-conformance.ts): the
 * in-memory stores, and the PostgreSQL stores on PGlite and, when configured, PostgreSQL. A new store passes
 * by adding one line here.
 */
import { beforeAll, expect, it } from 'vitest'
import {
  MemoryApprovalStore,
  MemoryAuditStore,
  PostgresApprovalStore,
  approvalTableSql,
  ensureApprovalTable,
} from '../../src/stores/index.ts'
import { approvalStoreConformance } from '../support/approval-store-conformance.ts'
import { auditStoreConformance } from '../support/audit-store-conformance.ts'
import { describeEachDatabase } from '../support/databases.ts'

approvalStoreConformance('memory', () => new MemoryApprovalStore())
auditStoreConformance('memory', () => new MemoryAuditStore())
auditStoreConformance('memory, capacity 3', () => new MemoryAuditStore({ capacity: 3 }))

describeEachDatabase('PostgresApprovalStore', (db) => {
  beforeAll(async () => {
    await ensureApprovalTable(db().admin)
  })

  it('creates its table idempotently from constant DDL', async () => {
    await ensureApprovalTable(db().admin)
    expect(approvalTableSql).toMatch(/^create table if not exists tessera_approvals/)
    expect(approvalTableSql).not.toMatch(/\$\d/)
  })

  approvalStoreConformance('postgres', () => new PostgresApprovalStore(db().admin))
})
