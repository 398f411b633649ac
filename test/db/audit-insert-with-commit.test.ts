/**
 * A write's audit INSERT rides with its COMMIT on the Tessera dialect (src/executor/tessera-dialect.ts, src/sql
 * printStagedAuditInsert): with the PostgreSQL audit store a write costs two round trips — BEGIN with the
 * statement, the INSERT with the COMMIT — and when that INSERT fails the server skips the COMMIT, so nothing is
 * committed and the call answers INTERNAL_ERROR. Over a counting pool, on both engines.
 */
import { CompiledQuery, Kysely, sql } from 'kysely'
import type pg from 'pg'
import { afterAll, beforeAll, expect, it, vi } from 'vitest'
import { createTesseraDialect } from '../../src/executor/tessera-dialect.ts'
import type { PolicyInput } from '../../src/policy/policy-schema.ts'
import { definePolicy } from '../../src/policy/define-policy.ts'
import { ensureAuditTables, PostgresAuditStore } from '../../src/stores/index.ts'
import { createToolset, type Toolset } from '../../src/tools/create-toolset.ts'
import { APP_ROLE, describeEachDatabase, type TestDatabase } from '../support/databases.ts'
import { sessionPool } from '../support/session-pool.ts'
import { ALICE, ORDER_A1, TEST_SECRET, as } from '../support/saas.ts'
import { countRows, CREATABLE_ORDER_ITEM, errorOf } from '../support/write-helpers.ts'
import { countingPool } from '../support/counting-pool.ts'
import { auditDraft } from '../support/audit-store-conformance.ts'
import { ORDER_ID_TENANT_STATUS, scopedOrder } from '../support/scoped-order.ts'

const policy: PolicyInput = {
  models: {
    Order: scopedOrder(ORDER_ID_TENANT_STATUS),
    OrderItem: CREATABLE_ORDER_ITEM,
  },
}

describeEachDatabase('a write with the PostgreSQL audit store', (db) => {
  let pool: pg.Pool
  let owned = false
  let tdb: Kysely<any>
  let toolset: Toolset
  let audit: PostgresAuditStore
  const sent: string[] = []

  beforeAll(async () => {
    const database: TestDatabase = db()
    await ensureAuditTables(database.admin, { writers: [APP_ROLE] })
    ;({ pool, owned } = sessionPool(database, 1))
    tdb = new Kysely<any>({ dialect: createTesseraDialect({ pool: countingPool(pool, sent) }) })
    await tdb.executeQuery(CompiledQuery.raw('select 1'))
    // The records of reads and failures go through the admin connection (the app role may only insert).
    audit = new PostgresAuditStore({ db: database.admin, logger: { error: vi.fn(), warn: vi.fn() } })
    toolset = await createToolset({
      db: tdb,
      policy: definePolicy(policy),
      audit,
      secret: TEST_SECRET,
      ...(database.appRole === undefined ? {} : { role: database.appRole }),
      enforcement: 'app',
    })
  })

  afterAll(async () => {
    await sql`alter table tessera_audit drop constraint if exists tessera_audit_no_poison`.execute(db().admin)
    await audit.close()
    if (owned) await tdb.destroy()
  })

  const item = (quantity: number) => ({
    model: 'OrderItem',
    data: { order_id: ORDER_A1, quantity, unit_price: '1.50' },
  })

  it('costs two round trips: BEGIN with the statement, then the audit INSERT with the COMMIT', async () => {
    sent.length = 0
    const r = await toolset.create(as(ALICE, 'req-two-trips'), item(3))
    expect(sent).toEqual(['batch', 'batch'])
    const [record] = await audit.query({ tool: 'db_create', limit: 1 })
    expect(record).toMatchObject({ requestId: 'req-two-trips', outcome: 'success' })
    expect(record?.after).toMatchObject({ id: r.row['id'], quantity: 3 })
  })

  it('commits nothing and answers INTERNAL_ERROR when the audit INSERT fails, and the next write goes on', async () => {
    // The table refuses this one success record: the write's own statement succeeds, its record does not.
    await sql`alter table tessera_audit add constraint tessera_audit_no_poison
      check (not (outcome = 'success' and body like '%req-poison%'))`.execute(db().admin)
    const count = await countRows(db(), 'order_items')
    sent.length = 0
    const e = await errorOf(toolset.create(as(ALICE, 'req-poison'), item(4)))
    // Not the VALIDATION_ERROR a check violation of the write's own table would be.
    expect(e).toMatchObject({ code: 'INTERNAL_ERROR' })
    expect(sent.slice(0, 2)).toEqual(['batch', 'batch'])
    expect(sent.slice(2).map((s) => s.toLowerCase())).toEqual(['rollback'])
    expect(await countRows(db(), 'order_items')).toBe(count)
    expect((await audit.query({ tool: 'db_create' })).filter((r) => r.requestId === 'req-poison')).toEqual([
      expect.objectContaining({ outcome: 'error', errorCode: 'INTERNAL_ERROR', after: null }),
    ])
    await toolset.create(as(ALICE, 'req-after'), item(5))
    expect(await countRows(db(), 'order_items')).toBe(count + 1)
    expect(await audit.verify()).toMatchObject({ ok: true, breaks: [] })
  })

  it('never sends the held INSERT of a transaction that rolls back after staging its record', async () => {
    const store = new PostgresAuditStore({ db: tdb, logger: { error: vi.fn(), warn: vi.fn() } })
    sent.length = 0
    await expect(
      tdb.transaction().execute(async (trx) => {
        await trx.executeQuery(CompiledQuery.raw('select 1'))
        await store.stage(auditDraft({ requestId: 'req-never-sent' }), trx)
        throw new Error('the write failed after staging')
      }),
    ).rejects.toThrow('the write failed after staging')
    expect(sent.some((s) => /tessera_audit/.test(s))).toBe(false)
    expect(sent.map((s) => s.toLowerCase())).toEqual(['batch', 'rollback'])
    const rows = await sql`select 1 from tessera_audit where body like '%req-never-sent%'`.execute(db().admin)
    expect(rows.rows).toEqual([])
  })
})
