import { beforeAll, expect, it } from 'vitest'
import type { PolicyInput } from '../../src/policy/policy-schema.ts'
import { describeEachDatabase } from '../support/databases.ts'
import { ALICE, as, CUSTOMER_A1, CUSTOMER_A_PUBLIC, ORDER_A1 } from '../support/saas.ts'
import { type ToolsetHarness, toolsetFor } from '../support/toolset.ts'
import { scopedOrder } from '../support/scoped-order.ts'

const policy: PolicyInput = {
  models: {
    Customer: {
      table: 'customers',
      unscopedColumns: ['org_id'],
      // `phone` is not listed: default deny hides it.
      fields: {
        id: 'allow',
        tenant_id: 'allow',
        name: 'allow',
        notes: 'allow',
        email: 'mask',
        ssn: 'hash',
        org_id: 'deny',
      },
      scoping: { tenant_id: 'principal.tenantId' },
      aggregations: { fields: [], groupBy: ['name'] },
    },
    Invoice: {
      table: 'invoices',
      fields: {
        id: 'allow',
        number: 'allow',
        amount: 'allow',
        card_number: { action: 'mask', pattern: '****{last4}' },
      },
      scoping: { tenant_id: 'principal.tenantId' },
    },
    User: {
      table: 'users',
      fields: { id: 'allow', name: 'allow', phone: 'mask', password_hash: 'deny' },
      scoping: { tenant_id: 'principal.tenantId' },
    },
    Product: {
      table: 'products',
      shared: true,
      fields: { id: 'allow', sku: 'allow', name: 'allow', price: 'allow' },
    },
    Order: scopedOrder(
      { id: 'allow', status: 'allow', total: 'allow' },
      {
        aggregations: { fields: ['total'], groupBy: ['status'] },
      },
    ),
  },
}

async function errorOf(
  p: Promise<unknown>,
): Promise<{ code: string; message: string; details: Record<string, unknown> }> {
  try {
    await p
  } catch (e) {
    return e as { code: string; message: string; details: Record<string, unknown> }
  }
  throw new Error('expected the call to fail')
}

describeEachDatabase('field policies on reads', (db) => {
  let h: ToolsetHarness
  beforeAll(async () => {
    h = await toolsetFor(db(), policy)
  })

  it.each([
    ['select', { model: 'Customer', select: ['FIELD'] }],
    ['where', { model: 'Customer', where: { field: 'FIELD', op: 'eq', value: 'x' } }],
    ['orderBy', { model: 'Customer', orderBy: [{ field: 'FIELD' }] }],
  ])('gives a denied field in %s the same error as a nonexistent field', async (_usage, template) => {
    const denied = await errorOf(
      h.toolset.query(as(ALICE), JSON.parse(JSON.stringify(template).replace('FIELD', 'org_id'))),
    )
    const unknown = await errorOf(
      h.toolset.query(as(ALICE), JSON.parse(JSON.stringify(template).replace('FIELD', 'no_such'))),
    )
    const unlisted = await errorOf(
      h.toolset.query(as(ALICE), JSON.parse(JSON.stringify(template).replace('FIELD', 'phone'))),
    )
    expect(denied.code).toBe('FIELD_NOT_ALLOWED')
    expect(denied.message.replace('org_id', 'X')).toBe(unknown.message.replace('no_such', 'X'))
    expect(unlisted.message.replace('phone', 'X')).toBe(unknown.message.replace('no_such', 'X'))
    expect(JSON.stringify(unknown)).not.toContain('org_id')
  })

  it('gives a denied field in groupBy and aggregate the same error as a nonexistent one', async () => {
    const g1 = await errorOf(
      h.toolset.aggregate(as(ALICE), { model: 'Customer', op: 'count', groupBy: ['org_id'] }),
    )
    const g2 = await errorOf(
      h.toolset.aggregate(as(ALICE), { model: 'Customer', op: 'count', groupBy: ['no_such'] }),
    )
    expect(g1.code).toBe('FIELD_NOT_ALLOWED')
    expect(g1.message.replace('org_id', 'X')).toBe(g2.message.replace('no_such', 'X'))
    const a1 = await errorOf(
      h.toolset.aggregate(as(ALICE), { model: 'Customer', op: 'max', field: 'org_id' }),
    )
    const a2 = await errorOf(
      h.toolset.aggregate(as(ALICE), { model: 'Customer', op: 'max', field: 'no_such' }),
    )
    expect(a1.message.replace('org_id', 'X')).toBe(a2.message.replace('no_such', 'X'))
  })

  it.each([
    ['where', { model: 'Customer', where: { field: 'email', op: 'startswith', value: 'a' } }],
    ['orderBy', { model: 'Customer', orderBy: [{ field: 'ssn' }] }],
  ])('refuses a masked or hashed field in %s', async (_usage, args) => {
    expect((await errorOf(h.toolset.query(as(ALICE), args))).code).toBe('FIELD_NOT_ALLOWED')
  })

  it('refuses to group or aggregate on masked fields', async () => {
    expect(
      (await errorOf(h.toolset.aggregate(as(ALICE), { model: 'Customer', op: 'count', groupBy: ['email'] })))
        .code,
    ).toBe('FIELD_NOT_ALLOWED')
    expect(
      (await errorOf(h.toolset.aggregate(as(ALICE), { model: 'Customer', op: 'min', field: 'email' }))).code,
    ).toBe('FIELD_NOT_ALLOWED')
  })

  it('masks emails, phones and patterns, hashes with the key, and hides unlisted columns', async () => {
    const c = await h.toolset.get(as(ALICE), { model: 'Customer', id: CUSTOMER_A1 })
    expect(c.row).toEqual({
      id: CUSTOMER_A1,
      tenant_id: expect.any(String),
      name: 'Ada Lovelace',
      notes: 'Prefers email.',
      email: 'a***@example.com',
      ssn: expect.stringMatching(/^[0-9a-f]{64}$/),
    })
    const inv = await h.toolset.query(as(ALICE), { model: 'Invoice', orderBy: [{ field: 'number' }] })
    expect(inv.rows.map((r) => r['card_number'])).toEqual(['****1111', '****0004'])
    const users = await h.toolset.query(as(ALICE), { model: 'User', orderBy: [{ field: 'name' }] })
    expect(users.rows[0]).toEqual({ id: expect.any(String), name: 'Alice Admin', phone: '+1*******101' })
    expect(users.rows.every((u) => !('password_hash' in u))).toBe(true)
  })

  it('keeps null masked and hashed values null', async () => {
    const c = await h.toolset.get(as(ALICE), { model: 'Customer', id: CUSTOMER_A_PUBLIC })
    expect(c.row['ssn']).toBeNull()
  })

  it('returns prompt-injection text verbatim as data', async () => {
    const r = await h.toolset.query(as(ALICE), {
      model: 'Customer',
      where: { field: 'notes', op: 'contains', value: 'DROP TABLE' },
    })
    expect(r.rows.map((x) => x['notes'])).toEqual(["'); COMMIT; DROP TABLE orders; --"])
  })

  it('never describes denied fields or policy internals', async () => {
    const d = await h.toolset.describeSchema(as(ALICE))
    const text = JSON.stringify(d)
    expect(Object.keys(d.models['Customer']?.fields ?? {}).sort()).toEqual([
      'email',
      'id',
      'name',
      'notes',
      'ssn',
      'tenant_id',
    ])
    expect(text).not.toContain('org_id')
    expect(text).not.toContain('password_hash')
    expect(text).not.toContain('principal.')
    expect(d.models['Customer']?.fields['email']).toMatchObject({ access: 'masked', filterable: false })
  })

  it('narrows tool schemas to the models and fields this principal may use', () => {
    const tools = h.toolset.tools(as(ALICE))
    const text = JSON.stringify(tools)
    expect(tools.map((t) => t.name)).toEqual(['db_describe_schema', 'db_query', 'db_get', 'db_aggregate'])
    expect(text).not.toContain('password_hash')
    expect(text).not.toContain('org_id')
  })
})

describeEachDatabase('budgets on reads', (db) => {
  let h: ToolsetHarness
  beforeAll(async () => {
    h = await toolsetFor(db(), policy)
  })

  it('refuses a limit above maxRows', async () => {
    const e = await errorOf(h.toolset.query(as(ALICE), { model: 'Order', limit: 101 }))
    expect(e).toMatchObject({
      code: 'QUERY_BUDGET_EXCEEDED',
      details: { budgetType: 'max_rows', limit: 100, requested: 101 },
    })
  })

  it('scores a 60-item in at 123 and refuses it against a complexity budget of 100', async () => {
    const values = Array.from({ length: 60 }, (_, i) => `s${i}`)
    const e = await errorOf(
      h.toolset.query(as(ALICE), { model: 'Order', where: { field: 'status', op: 'in', value: values } }),
    )
    expect(e).toMatchObject({
      code: 'QUERY_BUDGET_EXCEEDED',
      details: { budgetType: 'max_complexity', limit: 100, requested: 123 },
    })
  })

  it('refuses an unfiltered query on a large shared table as too broad', async () => {
    h.queries.length = 0
    const e = await errorOf(h.toolset.query(as(ALICE), { model: 'Product' }))
    expect(e.code).toBe('QUERY_TOO_BROAD')
    expect(h.queries).toEqual([])
    const ok = await h.toolset.query(as(ALICE), {
      model: 'Product',
      where: { field: 'sku', op: 'eq', value: 'SKU-000042' },
    })
    expect(ok.rows).toEqual([{ id: '42', sku: 'SKU-000042', name: 'Product 42', price: '42.99' }])
  })

  it('refuses includes deeper than maxIncludeDepth', async () => {
    const deep = await toolsetFor(db(), {
      models: {
        Order: scopedOrder(
          { id: 'allow', customer_id: 'allow' },
          {
            relations: { customer: { model: 'Customer' } },
            budget: { maxIncludeDepth: 1 },
          },
        ),
        Customer: {
          table: 'customers',
          unscopedColumns: ['org_id'],
          fields: { id: 'allow' },
          scoping: { tenant_id: 'principal.tenantId' },
          relations: { orders: { model: 'Order' } },
        },
      },
    })
    const e = await errorOf(
      deep.toolset.get(as(ALICE), {
        model: 'Order',
        id: ORDER_A1,
        include: { customer: { include: { orders: true } } },
      }),
    )
    expect(e).toMatchObject({ code: 'QUERY_BUDGET_EXCEEDED', details: { budgetType: 'max_include_depth' } })
  })

  it('refuses a statement whose EXPLAIN cost exceeds the budget before running it (the PGlite guard)', async () => {
    const guarded = await toolsetFor(
      db(),
      {
        models: {
          Product: {
            table: 'products',
            shared: true,
            fields: { id: 'allow', name: 'allow' },
            budget: { maxEstimatedCost: 5 },
          },
        },
      },
      { costGuard: 'always' },
    )
    const e = await errorOf(
      guarded.toolset.query(as(ALICE), {
        model: 'Product',
        where: { field: 'name', op: 'contains', value: '99' },
      }),
    )
    expect(e).toMatchObject({
      code: 'QUERY_BUDGET_EXCEEDED',
      details: { budgetType: 'estimated_cost', limit: 5 },
    })
    expect(guarded.queries.some((q) => /^explain/i.test(q))).toBe(true)
    const touching = guarded.queries.filter((q) => q.includes('"products"'))
    expect(touching.length).toBeGreaterThan(0)
    expect(touching.every((q) => /^(explain|prepare)/i.test(q))).toBe(true)
  })

  it('bounds the rows one statement may return, includes and their fan-out together', async () => {
    const fan = await toolsetFor(db(), {
      models: {
        Customer: {
          table: 'customers',
          unscopedColumns: ['org_id'],
          fields: { id: 'allow', name: 'allow' },
          scoping: { tenant_id: 'principal.tenantId' },
          relations: { orders: { model: 'Order' } },
          budget: { maxResultRows: 2000 },
        },
        Order: scopedOrder(
          { id: 'allow', customer_id: 'allow' },
          {
            relations: { items: { model: 'OrderItem' } },
          },
        ),
        OrderItem: {
          table: 'order_items',
          fields: { id: 'allow', order_id: 'allow' },
          scoping: { tenant_id: 'principal.tenantId' },
        },
      },
    })
    // 101 fetched customers × 20 orders each = 2020 > maxResultRows (2000).
    const wide = await errorOf(
      fan.toolset.query(as(ALICE), { model: 'Customer', limit: 100, include: { orders: true } }),
    )
    expect(wide).toMatchObject({
      code: 'QUERY_BUDGET_EXCEEDED',
      details: { budgetType: 'max_result_rows', limit: 2000, requested: 2020 },
    })
    const deep = await errorOf(
      fan.toolset.query(as(ALICE), {
        model: 'Customer',
        limit: 10,
        include: { orders: { include: { items: true } } },
      }),
    )
    expect(deep).toMatchObject({ code: 'QUERY_BUDGET_EXCEEDED', details: { budgetType: 'max_result_rows' } })
    const ok = await fan.toolset.query(as(ALICE), {
      model: 'Customer',
      limit: 5,
      include: { orders: { limit: 5, include: { items: { limit: 5 } } } },
    })
    expect(ok.rows.length).toBeGreaterThan(0)
  })
})
