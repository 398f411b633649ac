import { beforeAll, expect, it } from 'vitest'
import type { PolicyInput } from '../../src/policy/policy-schema.ts'
import { describeEachDatabase } from '../support/databases.ts'
import {
  ALICE,
  ANDY,
  as,
  BOB,
  ERIN,
  CUSTOMER_A1,
  CUSTOMER_A1_EAST,
  CUSTOMER_B1,
  ORDER_A1,
  ORDER_B1,
  TENANT_A,
  TENANT_B,
  USER_ALICE,
} from '../support/saas.ts'
import { type ToolsetHarness, toolsetFor } from '../support/toolset.ts'
import { countRows, CREATABLE_ORDER_ITEM, errorOf, rowOf, tenantSnapshot } from '../support/write-helpers.ts'
import { scopedOrder } from '../support/scoped-order.ts'

const policy: PolicyInput = {
  models: {
    Order: scopedOrder(
      {
        id: 'allow',
        tenant_id: 'allow',
        org_id: 'allow',
        customer_id: 'allow',
        status: 'allow',
        total: 'allow',
        created_by: 'allow',
        created_at: 'allow',
      },
      {
        relations: { customer: { model: 'Customer' } },
        write: {
          create: 'allow',
          autoSet: { tenant_id: 'principal.tenantId', created_by: 'principal.userId', created_at: 'now()' },
          immutableFields: ['tenant_id', 'created_by'],
          requiredFields: ['status'],
          softDelete: { field: 'deleted_at' },
        },
      },
    ),
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
        country_code: 'allow',
        owner_id: 'allow',
      },
      scoping: { tenant_id: 'principal.tenantId' },
      write: { create: 'allow', autoSet: { tenant_id: 'principal.tenantId', owner_id: 'principal.userId' } },
    },
    OrderItem: CREATABLE_ORDER_ITEM,
    // Scoped, but the tenant column is not server-set: the caller must name their own tenant.
    Invoice: {
      table: 'invoices',
      fields: { id: 'allow', tenant_id: 'allow', order_id: 'allow', number: 'allow', amount: 'allow' },
      scoping: { tenant_id: 'principal.tenantId' },
      write: { create: 'allow' },
    },
  },
}

const MISSING_ID = 'ffffffff-0000-4000-8000-000000000000'

describeEachDatabase('create under a write policy', (db) => {
  let h: ToolsetHarness
  beforeAll(async () => {
    h = await toolsetFor(db(), policy)
  })

  it("stores the caller's tenant, owner and creation time from autoSet when data has none of them", async () => {
    const before = Date.now()
    const r = await h.toolset.create(as(ALICE), {
      model: 'Order',
      data: { status: 'pending', total: '12.50', customer_id: CUSTOMER_A1 },
    })
    const stored = await rowOf(db(), 'orders', r.row['id'] as string)
    expect(stored).toMatchObject({
      tenant_id: TENANT_A,
      created_by: USER_ALICE,
      status: 'pending',
      total: 12.5,
      customer_id: CUSTOMER_A1,
    })
    expect(Date.parse(stored?.['created_at'] as string)).toBeGreaterThanOrEqual(before - 60_000)
    expect(r.row).toMatchObject({
      tenant_id: TENANT_A,
      created_by: USER_ALICE,
      status: 'pending',
      total: '12.50',
    })
  })

  it.each([
    ['tenant_id', TENANT_B],
    ['created_by', '00000000-0000-4000-8000-0000000000b1'],
    ['created_at', '2020-01-01T00:00:00Z'],
  ])(
    'rejects %s in data (a server-set field) with VALIDATION_ERROR and stores nothing',
    async (field, value) => {
      const count = await countRows(db(), 'orders')
      const b = await tenantSnapshot(db(), TENANT_B)
      const e = await errorOf(
        h.toolset.create(as(ALICE), { model: 'Order', data: { status: 'pending', [field]: value } }),
      )
      expect(e.code).toBe('VALIDATION_ERROR')
      expect(e.message).toContain(field)
      expect(e.details['issues']).toEqual([{ path: `data.${field}`, message: 'is set by the server' }])
      expect(await countRows(db(), 'orders')).toBe(count)
      expect(await tenantSnapshot(db(), TENANT_B)).toEqual(b)
    },
  )

  it("refuses a customer_id of B's customer with the same error as a customer that does not exist, storing nothing", async () => {
    const count = await countRows(db(), 'orders')
    const foreign = await h.toolset.call(as(ALICE), 'db_create', {
      model: 'Order',
      data: { status: 'x', customer_id: CUSTOMER_B1 },
    })
    const missing = await h.toolset.call(as(ALICE), 'db_create', {
      model: 'Order',
      data: { status: 'x', customer_id: MISSING_ID },
    })
    expect(foreign).toEqual({
      ok: false,
      error: {
        code: 'NOT_FOUND',
        message: 'A referenced record does not exist',
        hints: [],
        details: { field: 'customer_id' },
      },
    })
    expect(missing).toEqual(foreign)
    expect(await countRows(db(), 'orders')).toBe(count)
  })

  it("checks a composite foreign key with the server-set tenant: an item on B's order is refused, on A's accepted", async () => {
    const b = await tenantSnapshot(db(), TENANT_B)
    const e = await errorOf(
      h.toolset.create(as(ALICE), {
        model: 'OrderItem',
        data: { order_id: ORDER_B1, quantity: 1, unit_price: 1 },
      }),
    )
    expect(e).toMatchObject({ code: 'NOT_FOUND', details: { field: 'order_id' } })
    expect(await tenantSnapshot(db(), TENANT_B)).toEqual(b)
    const ok = await h.toolset.create(as(ALICE), {
      model: 'OrderItem',
      data: { order_id: ORDER_A1, quantity: 2, unit_price: '3.25' },
    })
    expect(ok.row).toMatchObject({ tenant_id: TENANT_A, order_id: ORDER_A1, quantity: 2, unit_price: '3.25' })
  })

  it('refuses a reference into a table no model covers unless it is null (fail closed)', async () => {
    const e = await errorOf(
      h.toolset.create(as(ALICE), {
        model: 'OrderItem',
        data: { order_id: ORDER_A1, quantity: 1, unit_price: 1, product_id: 1 },
      }),
    )
    expect(e).toMatchObject({
      code: 'NOT_FOUND',
      message: 'A referenced record does not exist',
      details: { field: 'product_id' },
    })
    const ok = await h.toolset.create(as(ALICE), {
      model: 'OrderItem',
      data: { order_id: ORDER_A1, quantity: 1, unit_price: 1, product_id: null },
    })
    expect(ok.row['product_id']).toBeNull()
  })

  it("answers an explicit primary key equal to B's row, the caller's own row or a fresh id with one uniform error", async () => {
    const b = await tenantSnapshot(db(), TENANT_B)
    const count = await countRows(db(), 'orders')
    const attempt = (id: string) =>
      h.toolset.call(as(ALICE), 'db_create', { model: 'Order', data: { id, status: 'pending' } })
    const foreign = await attempt(ORDER_B1)
    const own = await attempt(ORDER_A1)
    const fresh = await attempt('f0000000-0000-4000-8000-00000000abcd')
    // The database assigns this key, so no caller-chosen id is accepted: a collision can never be probed.
    expect(foreign).toEqual({ ok: false, error: expect.objectContaining({ code: 'VALIDATION_ERROR' }) })
    expect(own).toEqual(foreign)
    expect(fresh).toEqual(foreign)
    expect(JSON.stringify(foreign)).not.toMatch(/duplicate|constraint|orders_pkey|conflict/i)
    expect(await tenantSnapshot(db(), TENANT_B)).toEqual(b)
    expect(await countRows(db(), 'orders')).toBe(count)
  })

  it('stores hostile strings verbatim as data', async () => {
    const text = "'); COMMIT; DROP TABLE orders; --"
    const r = await h.toolset.create(as(ALICE), { model: 'Order', data: { status: text } })
    expect(r.row['status']).toBe(text)
    expect((await rowOf(db(), 'orders', r.row['id'] as string))?.['status']).toBe(text)
    const quoted = `Robert"); DELETE FROM customers; -- \\ $1 $$ \u00e9\u{1F600}`
    const c = await h.toolset.create(as(ALICE), { model: 'Customer', data: { name: quoted } })
    expect((await rowOf(db(), 'customers', c.row['id'] as string))?.['name']).toBe(quoted)
    expect(await countRows(db(), 'customers')).toBeGreaterThan(1)
  })

  it('lists every missing required field in one VALIDATION_ERROR', async () => {
    const e = await errorOf(h.toolset.create(as(ALICE), { model: 'Order', data: { total: 1 } }))
    expect(e).toMatchObject({ code: 'VALIDATION_ERROR', message: 'Missing required field: status' })
    expect(e.details['issues']).toEqual([{ path: 'data.status', message: 'required' }])
    const nullStatus = await errorOf(h.toolset.create(as(ALICE), { model: 'Order', data: { status: null } }))
    expect(nullStatus.code).toBe('VALIDATION_ERROR')
    const customer = await errorOf(h.toolset.create(as(ALICE), { model: 'Customer', data: {} }))
    expect(customer).toMatchObject({
      code: 'VALIDATION_ERROR',
      details: { issues: [{ path: 'data.name', message: 'required' }] },
    })
  })

  it('gives an unknown and a denied field in data the same FIELD_NOT_ALLOWED text', async () => {
    const denied = await errorOf(
      h.toolset.create(as(ALICE), { model: 'Customer', data: { name: 'x', notes: 'hi' } }),
    )
    const unknown = await errorOf(
      h.toolset.create(as(ALICE), { model: 'Customer', data: { name: 'x', nopes: 'hi' } }),
    )
    const unlisted = await errorOf(
      h.toolset.create(as(ALICE), { model: 'Customer', data: { name: 'x', phone: 'hi' } }),
    )
    expect(denied.code).toBe('FIELD_NOT_ALLOWED')
    const normalise = (e: typeof denied, field: string): unknown =>
      JSON.parse(JSON.stringify(e).replaceAll(`'${field}'`, "'F'").replaceAll(`"${field}"`, '"F"'))
    expect(normalise(denied, 'notes')).toEqual(normalise(unknown, 'nopes'))
    expect(normalise(unlisted, 'phone')).toEqual(normalise(unknown, 'nopes'))
  })

  it('refuses masked and hashed fields in data with the same FIELD_NOT_ALLOWED', async () => {
    for (const field of ['email', 'ssn']) {
      const e = await errorOf(
        h.toolset.create(as(ALICE), { model: 'Customer', data: { name: 'x', [field]: 'v' } }),
      )
      expect(e).toMatchObject({
        code: 'FIELD_NOT_ALLOWED',
        details: { model: 'Customer', field, usage: 'writing' },
      })
    }
  })

  it('type-checks values against the column before any SQL', async () => {
    h.queries.length = 0
    const cases = [
      { total: 'lots' },
      { customer_id: 'not-a-uuid' },
      { status: 42 },
      { created_at_x: 1 },
      { status: { nested: true } },
    ]
    for (const data of cases) {
      const e = await errorOf(
        h.toolset.create(as(ALICE), { model: 'Order', data: { status: 'ok', ...data } }),
      )
      expect(['VALIDATION_ERROR', 'FIELD_NOT_ALLOWED']).toContain(e.code)
    }
    expect(h.queries).toEqual([])
  })

  it('returns the created row through the read field policy and hands a redacted after image to the audit', async () => {
    const r = await h.toolset.create(as(ALICE, 'req-create-audit'), {
      model: 'Customer',
      data: { name: 'New Co', is_public: false },
    })
    expect(r.row).not.toHaveProperty('notes')
    expect(r.row).toMatchObject({ name: 'New Co', tenant_id: TENANT_A, owner_id: USER_ALICE })
    const [record] = (await h.audit.query({ tool: 'db_create' })).filter(
      (x) => x.requestId === 'req-create-audit',
    )
    expect(record).toMatchObject({
      outcome: 'success',
      action: 'create',
      model: 'Customer',
      affectedRows: 1,
      before: null,
    })
    expect(record?.after).toEqual(r.row)
    expect(record?.fieldsRedacted).toEqual(['Customer.email', 'Customer.ssn'])
  })

  it("accepts an explicit scoping column only when it is the caller's own tenant", async () => {
    const ok = await h.toolset.create(as(ALICE), {
      model: 'Invoice',
      data: { tenant_id: TENANT_A, order_id: ORDER_A1, number: 'INV-9', amount: 5 },
    })
    expect(ok.row).toMatchObject({ tenant_id: TENANT_A, number: 'INV-9' })
    const b = await tenantSnapshot(db(), TENANT_B)
    const count = await countRows(db(), 'invoices')
    const foreign = await errorOf(
      h.toolset.create(as(ALICE), {
        model: 'Invoice',
        data: { tenant_id: TENANT_B, order_id: ORDER_A1, number: 'INV-10', amount: 5 },
      }),
    )
    expect(foreign).toMatchObject({
      code: 'VALIDATION_ERROR',
      message: 'The record would be outside what you may access after this write',
    })
    const absent = await errorOf(
      h.toolset.create(as(ALICE), {
        model: 'Invoice',
        data: { order_id: ORDER_A1, number: 'INV-11', amount: 5 },
      }),
    )
    expect(absent.code).toBe('VALIDATION_ERROR')
    expect(await countRows(db(), 'invoices')).toBe(count)
    expect(await tenantSnapshot(db(), TENANT_B)).toEqual(b)
  })

  it("refuses another tenant's create through the same call shape (B cannot write into A either)", async () => {
    const e = await errorOf(
      h.toolset.create(as(BOB), { model: 'Order', data: { status: 'x', customer_id: CUSTOMER_A1 } }),
    )
    expect(e).toMatchObject({ code: 'NOT_FOUND', details: { field: 'customer_id' } })
    const andy = await h.toolset.create(as(ANDY), {
      model: 'Order',
      data: { status: 'x', customer_id: CUSTOMER_A1 },
    })
    expect(andy.row['tenant_id']).toBe(TENANT_A)
  })
})

const orgScoped: PolicyInput = {
  models: {
    // org_id has a database default ('main'), so the planner cannot know the new row's org before the insert:
    // the WITH CHECK returned by the INSERT itself decides.
    Customer: {
      table: 'customers',
      fields: { id: 'allow', tenant_id: 'allow', org_id: 'allow', name: 'allow' },
      scoping: { tenant_id: 'principal.tenantId', org_id: 'principal.metadata.orgId' },
      write: { create: 'allow', autoSet: { tenant_id: 'principal.tenantId' } },
    },
  },
}

describeEachDatabase('create WITH CHECK enforced in SQL', (db) => {
  let h: ToolsetHarness
  beforeAll(async () => {
    h = await toolsetFor(db(), orgScoped)
  })

  it('rolls back a create whose database default puts the row outside the caller scope', async () => {
    const count = await countRows(db(), 'customers')
    const e = await errorOf(h.toolset.create(as(ANDY), { model: 'Customer', data: { name: 'Labs Co' } }))
    expect(e).toMatchObject({
      code: 'VALIDATION_ERROR',
      message: 'The record would be outside what you may access after this write',
    })
    expect(await countRows(db(), 'customers')).toBe(count)
    expect(h.queries.some((q) => /^insert/i.test(q))).toBe(true)
  })

  it('keeps a create whose database default lands inside the caller scope', async () => {
    const r = await h.toolset.create(as(ALICE), { model: 'Customer', data: { name: 'Main Co' } })
    expect(r.row).toMatchObject({ org_id: 'main', tenant_id: TENANT_A })
  })
})

const orgRestricted: PolicyInput = {
  models: {
    Order: scopedOrder(
      { id: 'allow', customer_id: 'allow', status: 'allow' },
      {
        write: { create: 'allow', autoSet: { tenant_id: 'principal.tenantId' } },
      },
    ),
    Customer: {
      table: 'customers',
      unscopedColumns: ['org_id'],
      fields: { id: 'allow', org_id: 'allow' },
      scoping: { tenant_id: 'principal.tenantId' },
      rowPolicies: [
        { name: 'same_org', condition: 'org_id = principal.metadata.orgId', mode: 'restrictive' },
      ],
    },
  },
}

describeEachDatabase('references through a model the caller cannot resolve', (db) => {
  it('refuses the reference as not found when the target model needs a principal value the caller lacks', async () => {
    const h = await toolsetFor(db(), orgRestricted)
    const erin = await errorOf(
      h.toolset.create(as(ERIN), { model: 'Order', data: { status: 'x', customer_id: CUSTOMER_A1_EAST } }),
    )
    expect(erin).toMatchObject({ code: 'NOT_FOUND', details: { field: 'customer_id' } })
    const alice = await h.toolset.create(as(ALICE), {
      model: 'Order',
      data: { status: 'x', customer_id: CUSTOMER_A1 },
    })
    expect(alice.row['customer_id']).toBe(CUSTOMER_A1)
  })
})
