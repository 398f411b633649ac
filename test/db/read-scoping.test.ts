import { beforeAll, describe, expect, it } from 'vitest'
import type { PolicyInput } from '../../src/policy/policy-schema.ts'
import { describeEachDatabase } from '../support/databases.ts'
import {
  ALICE,
  ANDY,
  as,
  BOB,
  CUSTOMER_A1,
  CUSTOMER_A2,
  CUSTOMER_B1,
  LIVE_ORDERS_A,
  ORDER_A1,
  ORDER_A_PLANT,
  ORDER_B1,
  TENANT_A,
  TENANT_B,
} from '../support/saas.ts'
import { type ToolsetHarness, toolsetFor } from '../support/toolset.ts'
import { ORDER_READ_FIELDS, scopedOrder } from '../support/scoped-order.ts'

const policy: PolicyInput = {
  models: {
    Order: scopedOrder(ORDER_READ_FIELDS, {
      relations: { customer: { model: 'Customer' }, items: { model: 'OrderItem' } },
      aggregations: { fields: ['total'], groupBy: ['status'] },
      write: { softDelete: { field: 'deleted_at' } },
    }),
    Customer: {
      table: 'customers',
      unscopedColumns: ['org_id'],
      fields: {
        id: 'allow',
        tenant_id: 'allow',
        name: 'allow',
        email: 'mask',
        ssn: 'hash',
        notes: 'deny',
        is_public: 'allow',
      },
      scoping: { tenant_id: 'principal.tenantId' },
      relations: { orders: { model: 'Order' } },
    },
    OrderItem: {
      table: 'order_items',
      fields: { id: 'allow', order_id: 'allow', quantity: 'allow', unit_price: 'allow' },
      scoping: { tenant_id: 'principal.tenantId' },
    },
  },
}

const ids = (rows: readonly Record<string, unknown>[]): string[] => rows.map((r) => r['id'] as string).sort()

describeEachDatabase('tenant scoping on reads', (db) => {
  let h: ToolsetHarness
  beforeAll(async () => {
    h = await toolsetFor(db(), policy)
  })

  it("returns only the caller's rows when the query has no filter", async () => {
    const r = await h.toolset.query(as(ALICE), { model: 'Order' })
    expect(ids(r.rows)).toEqual([...LIVE_ORDERS_A].sort())
    expect(r.rows.every((row) => row['tenant_id'] === TENANT_A)).toBe(true)
  })

  it("returns none of tenant B's rows for where tenant_id = B", async () => {
    const r = await h.toolset.query(as(ALICE), {
      model: 'Order',
      where: { field: 'tenant_id', op: 'eq', value: TENANT_B },
    })
    expect(r.rows).toEqual([])
  })

  it("returns only A's rows for tenant_id in [A, B]", async () => {
    const r = await h.toolset.query(as(ALICE), {
      model: 'Order',
      where: { field: 'tenant_id', op: 'in', value: [TENANT_A, TENANT_B] },
    })
    expect(ids(r.rows)).toEqual([...LIVE_ORDERS_A].sort())
  })

  it("cannot widen the scope with an or around B's id", async () => {
    const r = await h.toolset.query(as(ALICE), {
      model: 'Order',
      where: {
        or: [
          { field: 'id', op: 'eq', value: ORDER_B1 },
          { field: 'id', op: 'eq', value: ORDER_A1 },
        ],
      },
    })
    expect(ids(r.rows)).toEqual([ORDER_A1])
  })

  it("answers get of B's id exactly like a nonexistent id", async () => {
    const foreign = await h.toolset.call(as(ALICE), 'db_get', { model: 'Order', id: ORDER_B1 })
    const missing = await h.toolset.call(as(ALICE), 'db_get', {
      model: 'Order',
      id: 'ffffffff-0000-4000-8000-000000000000',
    })
    expect(foreign).toEqual({ ok: false, error: expect.objectContaining({ code: 'NOT_FOUND' }) })
    expect(foreign).toEqual(missing)
  })

  it('gets an own row by id', async () => {
    const r = await h.toolset.get(as(ALICE), { model: 'Order', id: ORDER_A1 })
    expect(r.row).toMatchObject({ id: ORDER_A1, status: 'paid', total: '120.50' })
  })

  it("counts and groups only the caller's rows", async () => {
    const count = await h.toolset.aggregate(as(ALICE), { model: 'Order', op: 'count' })
    expect(count).toEqual({ value: LIVE_ORDERS_A.length })
    const sum = await h.toolset.aggregate(as(BOB), { model: 'Order', op: 'sum', field: 'total' })
    expect(sum).toEqual({ value: '1325.25' })
    const groups = await h.toolset.aggregate(as(ALICE), { model: 'Order', op: 'count', groupBy: ['status'] })
    expect(groups).toEqual({
      groups: [
        { key: { status: 'paid' }, value: 2 },
        { key: { status: 'pending' }, value: 2 },
        { key: { status: 'shipped' }, value: 1 },
      ],
    })
  })

  it('hides soft-deleted rows from query, get and aggregate', async () => {
    const r = await h.toolset.query(as(ALICE), {
      model: 'Order',
      where: { field: 'status', op: 'eq', value: 'cancelled' },
    })
    expect(r.rows).toEqual([])
  })

  it("returns null for a to-one include that points at another tenant's row", async () => {
    const r = await h.toolset.get(as(ALICE), {
      model: 'Order',
      id: ORDER_A_PLANT,
      include: { customer: true },
    })
    expect(r.row['customer_id']).toBe(CUSTOMER_B1)
    expect(r.row['customer']).toBeNull()
  })

  it("includes only the caller's rows in a to-many include", async () => {
    const r = await h.toolset.query(as(BOB), {
      model: 'Customer',
      where: { field: 'id', op: 'eq', value: CUSTOMER_B1 },
      include: { orders: true },
    })
    // Barbara (B) has B's order and also acme's planted order pointing at her: only B's order may appear.
    const orders = r.rows[0]?.['orders'] as Record<string, unknown>[]
    expect(ids(orders)).toEqual([ORDER_B1])
  })

  it("applies the included model's own field policy (denied absent, masked masked, hashed hashed)", async () => {
    const r = await h.toolset.get(as(ALICE), { model: 'Order', id: ORDER_A1, include: { customer: true } })
    const customer = r.row['customer'] as Record<string, unknown>
    expect(customer['id']).toBe(CUSTOMER_A1)
    expect(customer).not.toHaveProperty('notes')
    expect(customer['email']).toBe('a***@example.com')
    expect(customer['ssn']).toMatch(/^[0-9a-f]{64}$/)
    expect(customer['ssn']).not.toBe('123-45-6789')
  })

  it('nests includes two levels deep with each level scoped', async () => {
    const r = await h.toolset.get(as(ALICE), {
      model: 'Customer',
      id: CUSTOMER_A2,
      include: { orders: { include: { items: true }, orderBy: [{ field: 'created_at', direction: 'asc' }] } },
    })
    const orders = r.row['orders'] as Record<string, unknown>[]
    expect(orders.map((o) => o['status'])).toEqual(['shipped'])
    const items = orders[0]?.['items'] as Record<string, unknown>[]
    expect(items).toHaveLength(1)
    expect(items[0]).toMatchObject({ quantity: 3, unit_price: '100.00' })
  })

  it('returns values in the same JSON-safe form at the top level and inside includes', async () => {
    const top = await h.toolset.get(as(ALICE), { model: 'Order', id: ORDER_A1 })
    const nested = await h.toolset.get(as(ALICE), {
      model: 'Customer',
      id: CUSTOMER_A1,
      include: { orders: true },
    })
    const same = (nested.row['orders'] as Record<string, unknown>[]).find((o) => o['id'] === ORDER_A1)
    expect(same).toEqual(top.row)
    expect(typeof top.row['created_at']).toBe('string')
    expect(JSON.parse(JSON.stringify(top.row))).toEqual(top.row)
  })

  it('audits every call with the scope it injected', async () => {
    await h.toolset.query(as(ANDY, 'req-audit-1'), { model: 'Order' })
    const [record] = await h.audit.query({ tool: 'db_query', tenantId: TENANT_A })
    const mine = (await h.audit.query({ tenantId: TENANT_A })).find((r) => r.requestId === 'req-audit-1')
    expect(record).toBeDefined()
    expect(mine).toMatchObject({
      outcome: 'success',
      model: 'Order',
      scopesInjected: ['Order.tenant_id = principal.tenantId'],
    })
  })
})

describe('principal validation', () => {
  it.each([
    ['an empty tenant', { principal: { tenantId: '' } }],
    ['a blank tenant', { principal: { tenantId: '   ' } }],
    ['a numeric tenant', { principal: { tenantId: 42 } }],
    ['a missing tenant', { principal: {} }],
    ['no principal', {}],
  ])('rejects %s with TENANT_SCOPE_REQUIRED before any SQL', async (_name, ctx) => {
    const { parseRunContext } = await import('../../src/context/index.ts')
    expect(() => parseRunContext(ctx)).toThrow(expect.objectContaining({ code: 'TENANT_SCOPE_REQUIRED' }))
  })
})

describeEachDatabase('scoping failures run no SQL', (db) => {
  let h: ToolsetHarness
  beforeAll(async () => {
    h = await toolsetFor(db(), policy)
  })

  it('rejects a blank tenant before SQL and audits the denial', async () => {
    h.queries.length = 0
    const r = await h.toolset.call({ principal: { tenantId: ' ' } }, 'db_query', { model: 'Order' })
    expect(r).toEqual({ ok: false, error: expect.objectContaining({ code: 'TENANT_SCOPE_REQUIRED' }) })
    expect(h.queries).toEqual([])
    expect((await h.audit.query({ outcome: 'denied' })).length).toBeGreaterThan(0)
  })

  it('keeps CUSTOMER_A2 visible to its own tenant', async () => {
    const r = await h.toolset.get(as(ALICE), { model: 'Customer', id: CUSTOMER_A2 })
    expect(r.row['name']).toBe('Grace Hopper')
  })
})
