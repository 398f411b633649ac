/**
 * Second red-team pass, pagination and includes: cursors reused after the row they point after was deleted or
 * changed, cursors with another limit, the same field twice in orderBy, to-many includes with their own
 * where/orderBy/limit under a paginated parent, and soft-deleted children. Every page must hold only the
 * caller's rows, with no gap, no duplicate and no row that the visibility rules hide.
 */
import { sql } from 'kysely'
import { beforeAll, expect, it } from 'vitest'
import type { PolicyInput } from '../../src/policy/policy-schema.ts'
import { describeEachDatabase } from '../support/databases.ts'
import {
  ALICE,
  as,
  CUSTOMER_A1,
  CUSTOMER_A2,
  LIVE_ORDERS_A,
  ORDER_A1,
  ORDER_A2,
  ORDER_A3,
  ORDER_A5_DELETED,
  ORDER_A_PLANT,
} from '../support/saas.ts'
import { type ToolsetHarness, toolsetFor } from '../support/toolset.ts'
import { scopedOrder } from '../support/scoped-order.ts'

type Row = Record<string, unknown>

const policy: PolicyInput = {
  models: {
    Order: scopedOrder(
      { id: 'allow', customer_id: 'allow', status: 'allow', total: 'allow', created_at: 'allow' },
      {
        relations: { customer: { model: 'Customer' }, items: { model: 'Item' } },
        write: { softDelete: { field: 'deleted_at' } },
      },
    ),
    Customer: {
      table: 'customers',
      unscopedColumns: ['org_id'],
      fields: { id: 'allow', name: 'allow', phone: 'allow', email: 'mask' },
      scoping: { tenant_id: 'principal.tenantId' },
      relations: { orders: { model: 'Order' } },
    },
    Item: {
      table: 'order_items',
      fields: { id: 'allow', order_id: 'allow', quantity: 'allow', unit_price: 'allow' },
      scoping: { tenant_id: 'principal.tenantId' },
    },
  },
}

const ids = (rows: readonly Row[]): string[] => rows.map((r) => r['id'] as string)

describeEachDatabase('red team (2nd pass): cursors and includes', (db) => {
  let h: ToolsetHarness
  beforeAll(async () => {
    h = await toolsetFor(db(), policy)
  })

  it('continues after the row a cursor points after was soft-deleted, with no gap and no duplicate', async () => {
    const args = { model: 'Order', orderBy: [{ field: 'total', direction: 'desc' }], limit: 2 }
    const first = await h.toolset.query(as(ALICE), args)
    const all = await h.toolset.query(as(ALICE), { ...args, limit: 50 })
    const last = ids(first.rows).at(-1) as string
    await sql`update orders set deleted_at = now() where id = ${last}`.execute(db().admin)
    try {
      const rest = await h.toolset.query(as(ALICE), { ...args, limit: 50, cursor: first.nextCursor })
      expect([...ids(first.rows), ...ids(rest.rows)]).toEqual(ids(all.rows))
    } finally {
      await sql`update orders set deleted_at = null where id = ${last}`.execute(db().admin)
    }
  })

  it('continues from the old position when the order key of that row changed meanwhile', async () => {
    const args = { model: 'Order', orderBy: ['total'], limit: 2 }
    const first = await h.toolset.query(as(ALICE), args)
    const all = await h.toolset.query(as(ALICE), { ...args, limit: 50 })
    const last = ids(first.rows).at(-1) as string
    const before = await sql<{
      total: string
    }>`select total::text as total from orders where id = ${last}`.execute(db().admin)
    await sql`update orders set total = 99999 where id = ${last}`.execute(db().admin)
    try {
      const rest = await h.toolset.query(as(ALICE), { ...args, limit: 50, cursor: first.nextCursor })
      // The moved row now sorts last and is met again; everything after the old position comes once.
      expect(ids(rest.rows)).toEqual([...ids(all.rows).slice(2), last])
    } finally {
      await sql`update orders set total = ${before.rows[0]?.total} where id = ${last}`.execute(db().admin)
    }
  })

  it('accepts a cursor with another limit, but not one above maxRows', async () => {
    const first = await h.toolset.query(as(ALICE), { model: 'Order', limit: 1 })
    const wider = await h.toolset.query(as(ALICE), { model: 'Order', limit: 3, cursor: first.nextCursor })
    const all = await h.toolset.query(as(ALICE), { model: 'Order', limit: 50 })
    expect([...ids(first.rows), ...ids(wider.rows)]).toEqual(ids(all.rows).slice(0, 4))
    const replay = await h.toolset.query(as(ALICE), { model: 'Order', limit: 3, cursor: first.nextCursor })
    expect(replay).toEqual({ ...wider, nextCursor: replay.nextCursor })
    const huge = await h.toolset.call(as(ALICE), 'db_query', {
      model: 'Order',
      limit: 1e6,
      cursor: first.nextCursor,
    })
    expect(huge).toMatchObject({ ok: false, error: { code: 'QUERY_BUDGET_EXCEEDED' } })
  })

  it('pages by the same field named twice in opposite directions like by the first one', async () => {
    const twice = [{ field: 'status', direction: 'desc' }, 'status']
    const once = [{ field: 'status', direction: 'desc' }]
    const seen: string[] = []
    let cursor: string | null = null
    do {
      const page: { rows: Row[]; nextCursor: string | null } = await h.toolset.query(as(ALICE), {
        model: 'Order',
        orderBy: twice,
        limit: 2,
        ...(cursor === null ? {} : { cursor }),
      })
      seen.push(...ids(page.rows))
      cursor = page.nextCursor
    } while (cursor !== null)
    const all = await h.toolset.query(as(ALICE), { model: 'Order', orderBy: once, limit: 50 })
    expect(seen).toEqual(ids(all.rows))
    expect([...seen].sort()).toEqual([...LIVE_ORDERS_A].sort())
  })

  it('never includes a soft-deleted child, even when the include filters for exactly its values', async () => {
    const r = await h.toolset.get(as(ALICE), {
      model: 'Customer',
      id: CUSTOMER_A2,
      include: {
        orders: {
          where: {
            or: [
              { field: 'status', op: 'eq', value: 'cancelled' },
              { field: 'id', op: 'eq', value: ORDER_A5_DELETED },
            ],
          },
        },
      },
    })
    expect(r.row['orders']).toEqual([])
    const all = await h.toolset.get(as(ALICE), {
      model: 'Customer',
      id: CUSTOMER_A2,
      include: { orders: true },
    })
    expect(ids(all.row['orders'] as Row[])).toEqual([ORDER_A3])
  })

  it('applies an include where/orderBy/limit per parent row on every page of a paginated parent', async () => {
    const include = {
      orders: {
        select: ['id', 'total'],
        where: { field: 'status', op: 'ne', value: 'shipped' },
        orderBy: [{ field: 'total', direction: 'desc' }],
        limit: 1,
      },
    }
    const pages: Row[] = []
    let cursor: string | null = null
    do {
      const page: { rows: Row[]; nextCursor: string | null } = await h.toolset.query(as(ALICE), {
        model: 'Customer',
        select: ['id'],
        orderBy: ['name'],
        include,
        limit: 1,
        ...(cursor === null ? {} : { cursor }),
      })
      expect(page.rows.length).toBeLessThanOrEqual(1)
      pages.push(...page.rows)
      cursor = page.nextCursor
    } while (cursor !== null)
    const byId = new Map(pages.map((p) => [p['id'], p['orders']]))
    expect(byId.get(CUSTOMER_A1)).toEqual([{ id: ORDER_A1, total: '120.50' }])
    expect(byId.get(CUSTOMER_A2)).toEqual([])
    const everyOrder = pages.flatMap((p) => ids(p['orders'] as Row[]))
    expect(everyOrder).not.toContain(ORDER_A2)
    expect(everyOrder).not.toContain(ORDER_A_PLANT)
    expect(everyOrder.every((id) => LIVE_ORDERS_A.includes(id))).toBe(true)
  })

  it('refuses a cursor once the include spec changed, and the include cannot page', async () => {
    const args = { model: 'Customer', select: ['id'], include: { orders: { limit: 1 } }, limit: 1 }
    const first = await h.toolset.query(as(ALICE), args)
    const changed = await h.toolset.call(as(ALICE), 'db_query', {
      ...args,
      include: { orders: { limit: 2 } },
      cursor: first.nextCursor,
    })
    expect(changed).toMatchObject({ ok: false, error: { code: 'INVALID_CURSOR' } })
    const inInclude = await h.toolset.call(as(ALICE), 'db_query', {
      ...args,
      include: { orders: { cursor: first.nextCursor } },
    })
    expect(inInclude).toMatchObject({ ok: false, error: { code: 'VALIDATION_ERROR' } })
  })

  it("returns only the caller's items two levels down, each level with its own order and limit", async () => {
    const r = await h.toolset.query(as(ALICE), {
      model: 'Customer',
      select: ['id'],
      where: { field: 'id', op: 'eq', value: CUSTOMER_A1 },
      include: {
        orders: { orderBy: ['created_at'], limit: 5, include: { items: { orderBy: ['id'], limit: 1 } } },
      },
      limit: 1,
    })
    const orders = (r.rows[0] as Row)['orders'] as Row[]
    expect(ids(orders)).toEqual([ORDER_A1, ORDER_A2])
    expect((orders[0] as Row)['items']).toEqual([
      { id: '1', order_id: ORDER_A1, quantity: 2, unit_price: '50.25' },
    ])
    expect((orders[1] as Row)['items']).toEqual([])
  })

  it('returns a timestamp inside an include in exactly the form the top level returns it', async () => {
    const top = await h.toolset.get(as(ALICE), { model: 'Order', id: ORDER_A1, select: ['created_at'] })
    const nested = await h.toolset.get(as(ALICE), {
      model: 'Customer',
      id: CUSTOMER_A1,
      select: ['id'],
      include: {
        orders: { select: ['id', 'created_at'], where: { field: 'id', op: 'eq', value: ORDER_A1 } },
      },
    })
    expect(top.row['created_at']).toBe('2026-02-01T10:00:00+00:00')
    expect(nested.row['orders']).toEqual([{ id: ORDER_A1, created_at: top.row['created_at'] }])
    // A microsecond-precise filter value inside the include matches the same instant.
    const exact = await h.toolset.get(as(ALICE), {
      model: 'Customer',
      id: CUSTOMER_A1,
      select: ['id'],
      include: {
        orders: {
          select: ['id'],
          where: { field: 'created_at', op: 'eq', value: '2026-02-01T12:00:00.000000+02:00' },
        },
      },
    })
    expect(exact.row['orders']).toEqual([{ id: ORDER_A1 }])
  })

  it('refuses aggregates over, and filters of aggregates on, masked and denied fields like unknown ones', async () => {
    h.queries.length = 0
    const shape = async (args: Record<string, unknown>, field: string): Promise<string> => {
      const r = await h.toolset.call(as(ALICE), 'db_aggregate', { model: 'Customer', ...args })
      expect(r.ok).toBe(false)
      return JSON.stringify(r).replaceAll(field, '<f>')
    }
    for (const op of ['sum', 'avg', 'min', 'max', 'count']) {
      const unknown = await shape({ op, field: 'no_such' }, 'no_such')
      expect(await shape({ op, field: 'email' }, 'email')).toBe(unknown)
      expect(await shape({ op, field: 'ssn' }, 'ssn')).toBe(unknown)
    }
    for (const where of [
      (f: string) => ({ field: f, op: 'is_null', value: false }),
      (f: string) => ({ not: { field: f, op: 'startswith', value: 'a' } }),
    ]) {
      const unknown = await shape({ op: 'count', where: where('no_such') }, 'no_such')
      expect(await shape({ op: 'count', where: where('email') }, 'email')).toBe(unknown)
      expect(await shape({ op: 'count', where: where('ssn') }, 'ssn')).toBe(unknown)
      expect(await shape({ op: 'count', where: where('email'), groupBy: ['name'] }, 'email')).toMatch(
        /FIELD_NOT_ALLOWED/,
      )
    }
    expect(h.queries).toEqual([])
  })
})
