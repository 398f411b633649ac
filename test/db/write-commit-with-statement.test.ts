/**
 * A write that decides every refusal itself commits with its one statement (src/executor/run-write.ts
 * selfDecidingWrite, docs/decisions.md "A write that decides itself commits with its statement"): on the Tessera
 * dialect a create — and an update whose WITH CHECK in memory needs nothing but its data — is one message, with
 * no BEGIN and no COMMIT. A row the database makes fail the write check (a trigger here) aborts the statement
 * itself, so nothing is ever committed; a store that would refuse the audit record refuses it before anything is
 * sent. Over a counting pool, on both engines.
 */
import { CompiledQuery, Kysely, sql } from 'kysely'
import type pg from 'pg'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { createTesseraDialect } from '../../src/executor/tessera-dialect.ts'
import { isWriteCheckAbort } from '../../src/executor/database-error-kind.ts'
import type { PolicyInput } from '../../src/policy/policy-schema.ts'
import { definePolicy } from '../../src/policy/define-policy.ts'
import { MemoryAuditStore } from '../../src/stores/index.ts'
import { createToolset, type Toolset } from '../../src/tools/create-toolset.ts'
import { describeEachDatabase, type TestDatabase } from '../support/databases.ts'
import { sessionPool } from '../support/session-pool.ts'
import { ALICE, ORDER_A1, ORDER_B1, TEST_SECRET, as } from '../support/saas.ts'
import { countRows, CREATABLE_ORDER_ITEM, errorOf, rowOf } from '../support/write-helpers.ts'
import { countingPool } from '../support/counting-pool.ts'
import { scopedOrder } from '../support/scoped-order.ts'

const TIMEOUT_MS = 5000

const policy: PolicyInput = {
  models: {
    Order: scopedOrder(
      { id: 'allow', tenant_id: 'allow', status: 'allow' },
      {
        write: { update: 'allow', immutableFields: ['tenant_id'] },
        budget: { statementTimeoutMs: TIMEOUT_MS },
      },
    ),
    Product: {
      table: 'products',
      shared: true,
      fields: { id: 'allow', sku: 'allow', name: 'allow', price: 'allow' },
      rowPolicies: [{ name: 'not_hidden', condition: "name != 'hidden'", mode: 'restrictive' }],
      write: { update: 'allow' },
      budget: { statementTimeoutMs: TIMEOUT_MS },
    },
    OrderItem: { ...CREATABLE_ORDER_ITEM, budget: { statementTimeoutMs: TIMEOUT_MS } },
  },
}

describeEachDatabase('a write that decides itself commits with its one statement', (db) => {
  let pool: pg.Pool
  let owned = false
  let tdb: Kysely<any>
  let toolset: Toolset
  const audit = new MemoryAuditStore()
  const sent: string[] = []

  beforeAll(async () => {
    const database: TestDatabase = db()
    ;({ pool, owned } = sessionPool(database, 1))
    tdb = new Kysely<any>({
      dialect: createTesseraDialect({ pool: countingPool(pool, sent), statementTimeoutMs: TIMEOUT_MS }),
    })
    await tdb.executeQuery(CompiledQuery.raw('select 1'))
    toolset = await createToolset({
      db: tdb,
      policy: definePolicy(policy),
      audit,
      secret: TEST_SECRET,
      ...(database.appRole === undefined ? {} : { role: database.appRole }),
      enforcement: 'app',
    })
    // A row the database changes after every check Node could make: quantity 66 moves the item to another
    // tenant, a product named 'sneaky' is renamed to 'hidden' (its restrictive rule's forbidden value). A
    // quantity of 21 runs a scalar subquery of two rows inside the trigger: the statement's own abort error,
    // raised from a function instead.
    await sql`create function tessera_test_move_item() returns trigger language plpgsql as $$
      begin
        if new.quantity = 66 then new.tenant_id := 'b0000000-0000-4000-8000-000000000000'; end if;
        if new.quantity = 21 then perform (select 1 union all select 1); end if;
        return new;
      end $$`.execute(db().admin)
    await sql`create trigger tessera_test_move_item before insert on order_items
      for each row execute function tessera_test_move_item()`.execute(db().admin)
    await sql`create function tessera_test_hide_product() returns trigger language plpgsql as $$
      begin
        if new.name = 'sneaky' then new.name := 'hidden'; end if;
        return new;
      end $$`.execute(db().admin)
    await sql`create trigger tessera_test_hide_product before update on products
      for each row execute function tessera_test_hide_product()`.execute(db().admin)
    sent.length = 0
  })

  afterAll(async () => {
    await sql`drop trigger if exists tessera_test_move_item on order_items`.execute(db().admin)
    await sql`drop trigger if exists tessera_test_hide_product on products`.execute(db().admin)
    if (owned) await tdb.destroy()
  })

  const item = (quantity: number, order = ORDER_A1) => ({
    model: 'OrderItem',
    data: { order_id: order, quantity, unit_price: '1.50' },
  })

  it('sends a create as one message, with no BEGIN and no COMMIT, and commits it', async () => {
    sent.length = 0
    const r = await toolset.create(as(ALICE, 'req-one-trip'), item(3))
    // Its record is accepted, and sealed with the store's next batch (MemoryAuditStore accept), off the call.
    expect(audit.pending).toBe(1)
    expect(sent).toHaveLength(1)
    expect(sent.some((s) => /^(begin|commit|rollback|start transaction)/i.test(s))).toBe(false)
    expect(await rowOf(db(), 'order_items', r.row['id'] as string)).toMatchObject({ quantity: 3 })
    const [record] = await audit.query({ tool: 'db_create', limit: 1 })
    expect(record).toMatchObject({ requestId: 'req-one-trip', outcome: 'success', affectedRows: 1 })
    expect(record?.after).toMatchObject({ id: r.row['id'], quantity: 3 })
  })

  it('refuses a create whose row the database moves out of scope, in the same one message, committing nothing', async () => {
    const count = await countRows(db(), 'order_items')
    sent.length = 0
    const e = await errorOf(toolset.create(as(ALICE, 'req-moved'), item(66)))
    expect(e).toMatchObject({
      code: 'VALIDATION_ERROR',
      message: 'The record would be outside what you may access after this write',
    })
    expect(sent).toHaveLength(1)
    expect(await countRows(db(), 'order_items')).toBe(count)
    const records = (await audit.query({})).filter((r) => r.requestId === 'req-moved')
    expect(records).toHaveLength(1)
    expect(records[0]).toMatchObject({ outcome: 'error', errorCode: 'VALIDATION_ERROR', after: null })
  })

  it('names an invisible reference from the statement that inserted nothing', async () => {
    const count = await countRows(db(), 'order_items')
    const e = await errorOf(toolset.create(as(ALICE), item(3, ORDER_B1)))
    expect(e).toMatchObject({ code: 'NOT_FOUND', details: { field: 'order_id' } })
    expect(await countRows(db(), 'order_items')).toBe(count)
  })

  it('answers INTERNAL_ERROR for the same database error raised inside a trigger, committing nothing', async () => {
    const count = await countRows(db(), 'order_items')
    const e = await errorOf(toolset.create(as(ALICE), item(21)))
    expect(e.code).toBe('INTERNAL_ERROR')
    expect(await countRows(db(), 'order_items')).toBe(count)
  })

  it('sends nothing when the audit store refuses the record, and writes nothing', async () => {
    const count = await countRows(db(), 'order_items')
    sent.length = 0
    audit.failNext(1)
    const e = await errorOf(toolset.create(as(ALICE, 'req-no-audit'), item(4)))
    expect(e).toMatchObject({ code: 'INTERNAL_ERROR' })
    expect(sent).toEqual([])
    expect(await countRows(db(), 'order_items')).toBe(count)
  })

  it('sends an update whose check needs only its data as one message; a row the database hides is refused and unchanged', async () => {
    const product = await sql<{
      id: string
    }>`select id::text as id from products order by id limit 1`.execute(db().admin)
    const id = Number(product.rows[0]?.id)
    const prior = await rowOf(db(), 'products', id)
    sent.length = 0
    const ok = await toolset.update(as(ALICE), { model: 'Product', id, data: { name: 'renamed' } })
    expect(ok.row['name']).toBe('renamed')
    expect(sent).toHaveLength(1)
    const e = await errorOf(toolset.update(as(ALICE), { model: 'Product', id, data: { name: 'sneaky' } }))
    expect(e).toMatchObject({ code: 'VALIDATION_ERROR' })
    expect(await rowOf(db(), 'products', id)).toMatchObject({ name: 'renamed' })
    await toolset.update(as(ALICE), { model: 'Product', id, data: { name: prior?.['name'] } })
  })
})

it('tells the write check abort from the same error raised inside a function', () => {
  const abort = { code: '21000', severity: 'ERROR', routine: 'ExecSetParamPlan' }
  expect(isWriteCheckAbort(abort)).toBe(true)
  expect(isWriteCheckAbort({ ...abort, where: 'PL/pgSQL function f() line 3 at PERFORM' })).toBe(false)
  expect(isWriteCheckAbort({ ...abort, routine: 'ExecScanSubPlan' })).toBe(false)
  expect(isWriteCheckAbort({ ...abort, code: '21001' })).toBe(false)
})
