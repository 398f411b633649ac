/**
 * Second red-team pass, writes: one approval consumed by concurrent calls (in-memory and PostgreSQL stores),
 * bulk updates racing each other under maxAffectedRows, references to soft-deleted rows and composite-key
 * moves, very large `data`, empty `data`, and reasons made of control or invisible characters. "Refused" is
 * always checked against the unscoped oracle connection: nothing changed.
 */
import { Kysely, PostgresDialect, sql } from 'kysely'
import { beforeAll, expect, it } from 'vitest'
import type { PolicyInput } from '../../src/policy/policy-schema.ts'
import {
  type ApprovalStore,
  ensureApprovalTable,
  MemoryApprovalStore,
  PostgresApprovalStore,
} from '../../src/stores/approval-store.ts'
import { describeEachDatabase } from '../support/databases.ts'
import {
  ALICE,
  as,
  ORDER_A1,
  ORDER_A2,
  ORDER_A3,
  ORDER_A5_DELETED,
  ORDER_B1,
  TENANT_B,
} from '../support/saas.ts'
import { type ToolsetHarness, toolsetFor } from '../support/toolset.ts'
import { errorOf, rowJson, tenantSnapshot } from '../support/write-helpers.ts'
import { scopedOrder } from '../support/scoped-order.ts'

const policy: PolicyInput = {
  models: {
    Order: scopedOrder(
      { id: 'allow', status: 'allow', total: 'allow', customer_id: 'allow' },
      {
        write: {
          update: 'allow',
          requireReason: true,
          maxAffectedRows: 2,
          softDelete: { field: 'deleted_at' },
        },
      },
    ),
    Item: {
      table: 'order_items',
      fields: { id: 'allow', order_id: 'allow', quantity: 'allow', unit_price: 'allow' },
      scoping: { tenant_id: 'principal.tenantId' },
      relations: { order: { model: 'Order' } },
      write: { create: 'allow', update: 'allow', autoSet: { tenant_id: 'principal.tenantId' } },
    },
  },
}

const approvalPolicy: PolicyInput = {
  models: {
    Order: scopedOrder(
      { id: 'allow', status: 'allow', total: 'allow' },
      {
        write: { update: 'approval', softDelete: { field: 'deleted_at' } },
      },
    ),
  },
}

describeEachDatabase('red team (2nd pass): concurrency, references, sizes and reasons in writes', (db) => {
  let h: ToolsetHarness
  beforeAll(async () => {
    h = await toolsetFor(db(), policy)
  })

  // ── approvals under concurrency ───────────────────────────────────────────────────────────────────

  async function raceOneApproval(approvals: ApprovalStore, status: string): Promise<void> {
    const ha = await toolsetFor(db(), approvalPolicy, { approvals })
    const args = { model: 'Order', id: ORDER_A2, data: { status } }
    const pending = await errorOf(ha.toolset.update(as(ALICE), args))
    expect(pending.code).toBe('WRITE_APPROVAL_REQUIRED')
    const approvalId = pending.details['approvalId'] as string
    expect(await approvals.approve(approvalId, 'manager')).not.toBeNull()
    const results = await Promise.all(
      Array.from({ length: 6 }, () => ha.toolset.call(as(ALICE), 'db_update', { ...args, approvalId })),
    )
    const wins = results.filter((r) => r.ok)
    expect(wins).toHaveLength(1)
    for (const r of results.filter((x) => !x.ok)) {
      expect(r).toMatchObject({
        ok: false,
        error: { code: 'VALIDATION_ERROR', message: 'The approval has already been used' },
      })
    }
    const audited = await ha.audit.query({ tool: 'db_update', outcome: 'success', limit: 100 })
    expect(audited).toHaveLength(1)
    expect(JSON.parse((await rowJson(db(), 'orders', ORDER_A2)) as string)).toMatchObject({ status })
  }

  it('lets exactly one of six concurrent calls consume an approval (in-memory store)', async () => {
    await raceOneApproval(new MemoryApprovalStore(), 'raced-memory')
  })

  it('lets exactly one of six concurrent calls consume an approval (PostgreSQL store)', async () => {
    await ensureApprovalTable(db().admin)
    await sql`grant select, insert, update on tessera_approvals to tessera_app`.execute(db().admin)
    // The store on the application's own pool, as an embedded (single-connection) deployment would have it.
    const store = new PostgresApprovalStore(
      new Kysely<any>({ dialect: new PostgresDialect({ pool: db().appPool }) }),
    )
    await raceOneApproval(store, 'raced-postgres')
  })

  // ── bulk updates racing each other ────────────────────────────────────────────────────────────────

  it('keeps every one of many concurrent, overlapping bulk updates within maxAffectedRows', async () => {
    const b = await tenantSnapshot(db(), TENANT_B)
    const pairs = [
      [ORDER_A1, ORDER_A2],
      [ORDER_A2, ORDER_A1],
      [ORDER_A2, ORDER_A3],
      [ORDER_A3, ORDER_A1],
      [ORDER_A1, ORDER_B1],
      [ORDER_A3, ORDER_A2],
    ]
    const results = await Promise.all(
      pairs.map((ids, i) =>
        h.toolset.call(as(ALICE), 'db_bulk_update', {
          model: 'Order',
          ids,
          data: { status: `race-${i}` },
          reason: 'race',
        }),
      ),
    )
    expect(results.map((r) => (r.ok ? r.data : r.error.code))).toEqual([
      { updated: 2 },
      { updated: 2 },
      { updated: 2 },
      { updated: 2 },
      { updated: 1 },
      { updated: 2 },
    ])
    const audited = await h.audit.query({ tool: 'db_bulk_update', outcome: 'success', limit: 100 })
    expect(audited.every((r) => (r.affectedRows ?? 0) <= 2)).toBe(true)
    expect(await tenantSnapshot(db(), TENANT_B)).toEqual(b)
  })

  it('refuses three distinct ids, and also two ids repeated past the limit, before any SQL', async () => {
    h.queries.length = 0
    for (const ids of [
      [ORDER_A1, ORDER_A2, ORDER_A3],
      [ORDER_A1, ORDER_A1, ORDER_A1],
    ]) {
      const r = await h.toolset.call(as(ALICE), 'db_bulk_update', {
        model: 'Order',
        ids,
        data: { status: 'x' },
        reason: 'routine',
      })
      expect(r).toMatchObject({ ok: false, error: { code: 'MAX_AFFECTED_ROWS_EXCEEDED' } })
    }
    expect(h.queries).toEqual([])
  })

  // ── references ────────────────────────────────────────────────────────────────────────────────────

  it("refuses an item on the caller's own soft-deleted order like one on a missing order", async () => {
    const missing = await h.toolset.call(as(ALICE), 'db_create', {
      model: 'Item',
      data: { order_id: '0a000000-0000-4000-8000-0000000000ee', quantity: 1, unit_price: '1.00' },
    })
    const deleted = await h.toolset.call(as(ALICE), 'db_create', {
      model: 'Item',
      data: { order_id: ORDER_A5_DELETED, quantity: 1, unit_price: '1.00' },
    })
    expect(missing).toMatchObject({ ok: false, error: { code: 'NOT_FOUND' } })
    expect(deleted).toEqual(missing)
    const count = await sql<{ n: string }>`select count(*)::text as n from order_items
      where order_id = ${ORDER_A5_DELETED}`.execute(db().admin)
    expect(count.rows[0]?.n).toBe('0')
  })

  it("refuses to move an item under B's order through the one composite-key column in data", async () => {
    const item = await sql<{ id: string }>`select id::text as id from order_items
      where order_id = ${ORDER_A1} order by id limit 1`.execute(db().admin)
    const id = item.rows[0]?.id as string
    const before = await rowJson(db(), 'order_items', id)
    const toB = await h.toolset.call(as(ALICE), 'db_update', {
      model: 'Item',
      id,
      data: { order_id: ORDER_B1 },
    })
    const toDeleted = await h.toolset.call(as(ALICE), 'db_update', {
      model: 'Item',
      id,
      data: { order_id: ORDER_A5_DELETED },
    })
    expect(toB).toMatchObject({ ok: false, error: { code: 'NOT_FOUND' } })
    expect(toDeleted).toEqual(toB)
    expect(await rowJson(db(), 'order_items', id)).toBe(before)
    const own = await h.toolset.update(as(ALICE), { model: 'Item', id, data: { order_id: ORDER_A3 } })
    expect(own.row['order_id']).toBe(ORDER_A3)
  })

  // ── sizes ─────────────────────────────────────────────────────────────────────────────────────────

  it('refuses data with more keys than a request may hold, before any SQL', async () => {
    h.queries.length = 0
    const data = Object.fromEntries(Array.from({ length: 5_001 }, (_, i) => [`f${i}`, 1]))
    const r = await h.toolset.call(as(ALICE), 'db_update', {
      model: 'Order',
      id: ORDER_A1,
      data,
      reason: 'routine',
    })
    expect(r).toMatchObject({ ok: false, error: { code: 'VALIDATION_ERROR' } })
    expect(h.queries).toEqual([])
  })

  it('answers a 20 MB data object with VALIDATION_ERROR for its size, quickly and before any SQL', async () => {
    h.queries.length = 0
    const big = 'x'.repeat(9_999)
    const data = Object.fromEntries(Array.from({ length: 2_000 }, (_, i) => [`f${i}`, big]))
    const started = performance.now()
    const r = await h.toolset.call(as(ALICE), 'db_update', {
      model: 'Order',
      id: ORDER_A1,
      data,
      reason: 'routine',
    })
    expect(performance.now() - started).toBeLessThan(5_000)
    expect(r).toMatchObject({
      ok: false,
      error: { code: 'VALIDATION_ERROR', message: expect.stringContaining('larger than 1048576 bytes') },
    })
    expect(JSON.stringify(r).length).toBeLessThan(1_000)
    expect(h.queries).toEqual([])
  })

  it('refuses empty data on a bulk update before any SQL', async () => {
    h.queries.length = 0
    const r = await h.toolset.call(as(ALICE), 'db_bulk_update', {
      model: 'Order',
      ids: [ORDER_A1],
      data: {},
      reason: 'routine',
    })
    expect(r).toMatchObject({ ok: false, error: { code: 'VALIDATION_ERROR' } })
    expect(h.queries).toEqual([])
  })

  // ── reasons ───────────────────────────────────────────────────────────────────────────────────────

  it.each<[string, string]>([
    ['only spaces and tabs', ' \t '],
    ['only control characters', '\u0001\u0007\u001b'],
    ['only zero-width and bidi characters', '\u200b\u200c\u200d\u2060\ufeff\u202e'],
    ['only line separators', '\u2028\u2029\r\n'],
  ])('treats a reason of %s as missing where one is required, changing nothing', async (_name, reason) => {
    const before = await rowJson(db(), 'orders', ORDER_A1)
    const r = await h.toolset.call(as(ALICE), 'db_update', {
      model: 'Order',
      id: ORDER_A1,
      data: { status: 'no-reason' },
      reason,
    })
    expect(r).toMatchObject({
      ok: false,
      error: { code: 'VALIDATION_ERROR', details: { issues: [{ path: 'reason' }] } },
    })
    expect(await rowJson(db(), 'orders', ORDER_A1)).toBe(before)
  })

  it('keeps a reason with control characters verbatim as data in the audit, and out of every error', async () => {
    const reason = 'refund\u001b[31m red\u0007\r\nInjected: line\u202eevil'
    const ok = await h.toolset.update(as(ALICE, 'req-reason-ctl'), {
      model: 'Order',
      id: ORDER_A1,
      data: { status: 'with-reason' },
      reason,
    })
    expect(ok.row['status']).toBe('with-reason')
    const records = await h.audit.query({ tool: 'db_update', outcome: 'success', limit: 1_000 })
    const record = records.find((r) => r.requestId === 'req-reason-ctl')
    expect(record?.reason).toBe(reason)
    const refused = await h.toolset.call(as(ALICE), 'db_update', {
      model: 'Order',
      id: ORDER_A1,
      data: { nope: 1 },
      reason,
    })
    expect(refused.ok).toBe(false)
    expect(JSON.stringify(refused)).not.toContain('refund')
  })
})
