/**
 * Approval stores against their conformance suite (test/support/approval-store-conformance.ts, built on the
 * template in test/support/store-conformance.ts): the in-memory store, and the PostgreSQL store on PGlite and,
 * when configured, PostgreSQL. A new approval store passes by adding one line here; audit stores run theirs
 * from test/db/audit-store-conformance.test.ts.
 */
import { beforeAll, expect, it } from 'vitest'
import {
  MemoryApprovalStore,
  PostgresApprovalStore,
  approvalTableSql,
  ensureApprovalTable,
} from '../../src/stores/index.ts'
import { approvalStoreConformance } from '../support/approval-store-conformance.ts'
import { describeEachDatabase } from '../support/databases.ts'

approvalStoreConformance('memory', () => new MemoryApprovalStore())

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
