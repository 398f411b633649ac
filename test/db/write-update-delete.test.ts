import { beforeAll, expect, it } from 'vitest'
import type { PolicyInput } from '../../src/policy/policy-schema.ts'
import { describeEachDatabase } from '../support/databases.ts'
import {
  ALICE,
  as,
  BOB,
  CUSTOMER_A1,
  CUSTOMER_A2,
  CUSTOMER_B1,
  CUSTOMER_B_PUBLIC,
  ORDER_A1,
  ORDER_A2,
  ORDER_A3,
  ORDER_A4_LABS,
  ORDER_A_PLANT,
  ORDER_B1,
  ORDER_B2,
  TENANT_A,
  TENANT_B,
} from '../support/saas.ts'
import { type ToolsetHarness, toolsetFor } from '../support/toolset.ts'
import { errorOf, rowJson, rowOf, tenantSnapshot } from '../support/write-helpers.ts'
import { scopedOrder } from '../support/scoped-order.ts'

const orderFields = {
  id: 'allow',
  tenant_id: 'allow',
  org_id: 'allow',
  customer_id: 'allow',
  status: 'allow',
  total: 'allow',
  created_by: 'allow',
  created_at: 'allow',
} as const

const policy: PolicyInput = {
  models: {
    Order: scopedOrder(orderFields, {
      rowPolicies: [{ name: 'not_archived', condition: "status != 'archived'", mode: 'restrictive' }],
      relations: { customer: { model: 'Customer' } },
      write: {
        create: 'allow',
        update: 'allow',
        delete: 'allow',
        autoSet: { tenant_id: 'principal.tenantId', created_by: 'principal.userId', created_at: 'now()' },
        immutableFields: ['tenant_id', 'created_by', 'created_at'],
        maxAffectedRows: 2,
        softDelete: { field: 'deleted_at' },
      },
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
      // Other tenants' public customers are readable: the shared-resources pattern.
      rowPolicies: [{ name: 'public', condition: 'is_public = true', mode: 'permissive', crossTenant: true }],
      write: { update: 'allow', delete: 'deny', immutableFields: ['tenant_id'] },
    },
    // No soft delete (so deletes are hard); a reason is required for every change.
    Invoice: {
      table: 'invoices',
      fields: { id: 'allow', tenant_id: 'allow', number: 'allow', amount: 'allow' },
      scoping: { tenant_id: 'principal.tenantId' },
      write: { update: 'allow', delete: 'allow', requireReason: true },
    },
  },
}

const MISSING_ORDER = '0a000000-0000-4000-8000-0000000000ee'

describeEachDatabase('update and delete under a write policy', (db) => {
  let h: ToolsetHarness
  beforeAll(async () => {
    h = await toolsetFor(db(), policy)
  })

  it.each([
    ['tenant_id', TENANT_B],
    ['created_by', '00000000-0000-4000-8000-0000000000b1'],
    ['created_at', '2020-01-01T00:00:00Z'],
  ])(
    'rejects an update of an own row that changes the immutable field %s, leaving the row unchanged',
    async (field, value) => {
      const before = await rowJson(db(), 'orders', ORDER_A2)
      const e = await errorOf(
        h.toolset.update(as(ALICE), { model: 'Order', id: ORDER_A2, data: { [field]: value } }),
      )
      expect(e.code).toBe('VALIDATION_ERROR')
      expect(e.message).toContain(field)
      expect(await rowJson(db(), 'orders', ORDER_A2)).toBe(before)
    },
  )

  it("answers update and delete of B's id exactly like a missing id, with 0 affected and B intact", async () => {
    const b = await tenantSnapshot(db(), TENANT_B)
    const update = await h.toolset.call(as(ALICE), 'db_update', {
      model: 'Order',
      id: ORDER_B1,
      data: { status: 'hacked' },
    })
    const updateMissing = await h.toolset.call(as(ALICE), 'db_update', {
      model: 'Order',
      id: MISSING_ORDER,
      data: { status: 'hacked' },
    })
    const del = await h.toolset.call(as(ALICE), 'db_delete', { model: 'Order', id: ORDER_B1 })
    const delMissing = await h.toolset.call(as(ALICE), 'db_delete', { model: 'Order', id: MISSING_ORDER })
    expect(update).toEqual({
      ok: false,
      error: { code: 'NOT_FOUND', message: 'No Order with that id', hints: [], details: { model: 'Order' } },
    })
    expect(updateMissing).toEqual(update)
    expect(del).toEqual(update)
    expect(delMissing).toEqual(update)
    expect(await tenantSnapshot(db(), TENANT_B)).toEqual(b)
    const failures = (await h.audit.query({ tool: 'db_update', outcome: 'denied' })).filter(
      (r) => r.errorCode === 'NOT_FOUND',
    )
    expect(failures.every((r) => r.affectedRows === null && r.after === null)).toBe(true)
  })

  it('bulk-updates [A1, B1] by changing A1 only and reporting 1', async () => {
    const b = await tenantSnapshot(db(), TENANT_B)
    const r = await h.toolset.bulkUpdate(as(ALICE), {
      model: 'Order',
      ids: [ORDER_A1, ORDER_B1],
      data: { total: '121.00' },
    })
    expect(r).toEqual({ updated: 1 })
    expect((await rowOf(db(), 'orders', ORDER_A1))?.['total']).toBe(121)
    expect(await tenantSnapshot(db(), TENANT_B)).toEqual(b)
  })

  it("refuses an update whose customer_id is B's customer with the not-found style error, leaving the row unchanged", async () => {
    const before = await rowJson(db(), 'orders', ORDER_A3)
    const e = await errorOf(
      h.toolset.update(as(ALICE), { model: 'Order', id: ORDER_A3, data: { customer_id: CUSTOMER_B1 } }),
    )
    expect(e).toEqual({
      code: 'NOT_FOUND',
      message: 'A referenced record does not exist',
      hints: [],
      details: { field: 'customer_id' },
    })
    expect(await rowJson(db(), 'orders', ORDER_A3)).toBe(before)
    const ok = await h.toolset.update(as(ALICE), {
      model: 'Order',
      id: ORDER_A3,
      data: { customer_id: CUSTOMER_A1 },
    })
    expect(ok.row['customer_id']).toBe(CUSTOMER_A1)
  })

  it('refuses 3 ids under maxAffectedRows 2 with MAX_AFFECTED_ROWS_EXCEEDED and changes nothing', async () => {
    const a = await tenantSnapshot(db(), TENANT_A)
    h.queries.length = 0
    const e = await errorOf(
      h.toolset.bulkUpdate(as(ALICE), {
        model: 'Order',
        ids: [ORDER_A1, ORDER_A2, ORDER_A3],
        data: { status: 'x' },
      }),
    )
    expect(e).toMatchObject({ code: 'MAX_AFFECTED_ROWS_EXCEEDED', details: { maxRows: 2, affectedRows: 3 } })
    expect(h.queries).toEqual([])
    expect(await tenantSnapshot(db(), TENANT_A)).toEqual(a)
  })

  it('refuses more ids than the hard cap with VALIDATION_ERROR', async () => {
    const ids = Array.from(
      { length: 1001 },
      (_, i) => `0a000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
    )
    const e = await errorOf(h.toolset.bulkUpdate(as(ALICE), { model: 'Order', ids, data: { status: 'x' } }))
    expect(e).toMatchObject({ code: 'VALIDATION_ERROR', details: { issues: [{ path: 'ids' }] } })
  })

  it('soft-deletes by setting deleted_at: the row stays, reads stop returning it, updates of live rows still work', async () => {
    const r = await h.toolset.delete(as(ALICE), { model: 'Order', id: ORDER_A4_LABS })
    expect(r).toEqual({ deleted: 1, soft: true })
    const stored = await rowOf(db(), 'orders', ORDER_A4_LABS)
    expect(stored?.['deleted_at']).not.toBeNull()
    expect(stored?.['status']).toBe('paid')
    expect(await h.toolset.call(as(ALICE), 'db_get', { model: 'Order', id: ORDER_A4_LABS })).toMatchObject({
      ok: false,
      error: { code: 'NOT_FOUND' },
    })
    const listed = await h.toolset.query(as(ALICE), { model: 'Order', select: ['id'] })
    expect(listed.rows.map((x) => x['id'])).not.toContain(ORDER_A4_LABS)
    const again = await errorOf(
      h.toolset.update(as(ALICE), { model: 'Order', id: ORDER_A4_LABS, data: { status: 'x' } }),
    )
    expect(again.code).toBe('NOT_FOUND')
    const live = await h.toolset.update(as(ALICE), {
      model: 'Order',
      id: ORDER_A_PLANT,
      data: { status: 'shipped' },
    })
    expect(live.row['status']).toBe('shipped')
  })

  it('rejects hard: true where the policy allows only soft deletes, and hard-deletes where it allows them', async () => {
    const before = await rowJson(db(), 'orders', ORDER_A2)
    const e = await errorOf(h.toolset.delete(as(ALICE), { model: 'Order', id: ORDER_A2, hard: true }))
    expect(e).toMatchObject({ code: 'VALIDATION_ERROR', details: { issues: [{ path: 'hard' }] } })
    expect(await rowJson(db(), 'orders', ORDER_A2)).toBe(before)
    const order = policy.models['Order']!
    const hard = await toolsetFor(db(), {
      models: { ...policy.models, Order: { ...order, write: { ...order.write, allowHardDelete: true } } },
    })
    const created = await hard.toolset.create(as(ALICE), { model: 'Order', data: { status: 'temp' } })
    const id = created.row['id'] as string
    const r = await hard.toolset.delete(as(ALICE), { model: 'Order', id, hard: true })
    expect(r).toEqual({ deleted: 1, soft: false })
    expect(await rowJson(db(), 'orders', id)).toBeNull()
  })

  it('deletes for real where the model has no soft delete, and records the reason', async () => {
    const invoices = await h.toolset.query(as(ALICE), { model: 'Invoice', select: ['id', 'number'] })
    const id = invoices.rows.find((r) => r['number'] === 'INV-0001')?.['id'] as string
    const r = await h.toolset.delete(as(ALICE, 'req-del-inv'), {
      model: 'Invoice',
      id,
      reason: 'duplicate invoice',
    })
    expect(r).toEqual({ deleted: 1, soft: false })
    expect(await rowJson(db(), 'invoices', id)).toBeNull()
    const [record] = (await h.audit.query({ tool: 'db_delete' })).filter((x) => x.requestId === 'req-del-inv')
    expect(record).toMatchObject({
      outcome: 'success',
      reason: 'duplicate invoice',
      after: null,
      before: { id, number: 'INV-0001' },
    })
  })

  it('refuses a change without a reason where the policy requires one, and records the reason when given', async () => {
    const invoices = await h.toolset.query(as(ALICE), { model: 'Invoice', select: ['id', 'number'] })
    const id = invoices.rows.find((r) => r['number'] === 'INV-0002')?.['id'] as string
    for (const args of [{}, { reason: '   ' }]) {
      const e = await errorOf(
        h.toolset.update(as(ALICE), { model: 'Invoice', id, data: { amount: 1 }, ...args }),
      )
      expect(e).toMatchObject({ code: 'VALIDATION_ERROR', details: { issues: [{ path: 'reason' }] } })
    }
    await h.toolset.update(as(ALICE, 'req-reason'), {
      model: 'Invoice',
      id,
      data: { amount: '99.99' },
      reason: 'customer refund #42',
    })
    const [record] = (await h.audit.query({ tool: 'db_update' })).filter((r) => r.requestId === 'req-reason')
    expect(record).toMatchObject({ outcome: 'success', reason: 'customer refund #42', affectedRows: 1 })
    expect(record?.before).toMatchObject({ id, amount: '310.00' })
    expect(record?.after).toMatchObject({ id, amount: '99.99' })
  })

  it('returns the updated row through the read field policy: denied absent, masked masked, hashed hashed', async () => {
    const r = await h.toolset.update(as(ALICE), {
      model: 'Customer',
      id: CUSTOMER_A1,
      data: { name: 'Ada King' },
    })
    expect(r.row).not.toHaveProperty('notes')
    expect(r.row['email']).toBe('a***@example.com')
    expect(r.row['ssn']).toMatch(/^[0-9a-f]{64}$/)
    const [record] = await h.audit.query({ tool: 'db_update', model: 'Customer', outcome: 'success' })
    expect(JSON.stringify(record)).not.toContain('ada@example.com')
    expect(JSON.stringify(record)).not.toContain('123-45-6789')
    expect(JSON.stringify(record)).not.toContain('Prefers email')
  })

  it("treats another tenant's public row as missing for writes although it is readable", async () => {
    expect((await h.toolset.get(as(ALICE), { model: 'Customer', id: CUSTOMER_B_PUBLIC })).row['name']).toBe(
      'Globex Public',
    )
    const b = await tenantSnapshot(db(), TENANT_B)
    const e = await errorOf(
      h.toolset.update(as(ALICE), { model: 'Customer', id: CUSTOMER_B_PUBLIC, data: { name: 'Defaced' } }),
    )
    expect(e).toMatchObject({ code: 'NOT_FOUND' })
    const bulk = await h.toolset.bulkUpdate(as(ALICE), {
      model: 'Customer',
      ids: [CUSTOMER_B_PUBLIC, CUSTOMER_A2],
      data: { is_public: false },
    })
    expect(bulk).toEqual({ updated: 1 })
    expect(await tenantSnapshot(db(), TENANT_B)).toEqual(b)
  })

  it('rejects an update after which the row would break a restrictive rule (WITH CHECK), leaving it unchanged', async () => {
    const before = await rowJson(db(), 'orders', ORDER_A1)
    const e = await errorOf(
      h.toolset.update(as(ALICE), { model: 'Order', id: ORDER_A1, data: { status: 'archived' } }),
    )
    expect(e).toMatchObject({
      code: 'VALIDATION_ERROR',
      message: 'The record would be outside what you may access after this write',
    })
    expect(await rowJson(db(), 'orders', ORDER_A1)).toBe(before)
  })

  it('lets B change its own rows while A stays intact', async () => {
    const a = await tenantSnapshot(db(), TENANT_A)
    const r = await h.toolset.update(as(BOB), { model: 'Order', id: ORDER_B2, data: { status: 'paid' } })
    expect(r.row).toMatchObject({ id: ORDER_B2, status: 'paid', tenant_id: TENANT_B })
    expect(await tenantSnapshot(db(), TENANT_A)).toEqual(a)
  })
})

const readOnly: PolicyInput = {
  models: {
    Order: scopedOrder(orderFields),
    Customer: {
      table: 'customers',
      unscopedColumns: ['org_id'],
      fields: { id: 'allow', tenant_id: 'allow', name: 'allow' },
      scoping: { tenant_id: 'principal.tenantId' },
      write: { update: 'allow', delete: 'deny' },
    },
  },
}

describeEachDatabase('writes the policy disables', (db) => {
  let h: ToolsetHarness
  beforeAll(async () => {
    h = await toolsetFor(db(), readOnly)
  })

  it('lists only the write tools some model allows, with enums narrowed to those models and fields', () => {
    const tools = h.toolset.tools(as(ALICE))
    const names = tools.map((t) => t.name)
    expect(names).toEqual(expect.arrayContaining(['db_query', 'db_update', 'db_bulk_update']))
    expect(names).not.toContain('db_create')
    expect(names).not.toContain('db_delete')
    const update = tools.find((t) => t.name === 'db_update')?.inputSchema as {
      properties: Record<string, any>
    }
    expect(update.properties['model'].enum).toEqual(['Customer'])
    expect(Object.keys(update.properties['data'].properties)).toEqual(['name', 'tenant_id'])
  })

  it('lists no write tool at all when every write is disabled, and a call fails with WRITE_DISABLED', async () => {
    const none = await toolsetFor(db(), { models: { Order: readOnly.models['Order']! } })
    const names = none.toolset.tools(as(ALICE)).map((t) => t.name)
    expect(names).toEqual(['db_describe_schema', 'db_query', 'db_get', 'db_aggregate'])
    const before = await rowJson(db(), 'orders', ORDER_A1)
    for (const [tool, args] of [
      ['db_create', { model: 'Order', data: { status: 'x' } }],
      ['db_update', { model: 'Order', id: ORDER_A1, data: { status: 'x' } }],
      ['db_delete', { model: 'Order', id: ORDER_A1 }],
      ['db_bulk_update', { model: 'Order', ids: [ORDER_A1], data: { status: 'x' } }],
    ] as const) {
      const r = await none.toolset.call(as(ALICE), tool, args)
      expect(r).toMatchObject({ ok: false, error: { code: 'WRITE_DISABLED', details: { model: 'Order' } } })
    }
    expect(await rowJson(db(), 'orders', ORDER_A1)).toBe(before)
  })

  it("answers a delete denied while update is allowed with WRITE_DISABLED { operation: 'delete', model }", async () => {
    const r = await h.toolset.call(as(ALICE), 'db_delete', { model: 'Customer', id: CUSTOMER_A2 })
    expect(r).toEqual({
      ok: false,
      error: {
        code: 'WRITE_DISABLED',
        message: "Operation 'delete' is not allowed on model 'Customer'",
        hints: [],
        details: { operation: 'delete', model: 'Customer' },
      },
    })
    expect(await rowOf(db(), 'customers', CUSTOMER_A2)).not.toBeNull()
    const ok = await h.toolset.update(as(ALICE), {
      model: 'Customer',
      id: CUSTOMER_A2,
      data: { name: 'Grace B. Hopper' },
    })
    expect(ok.row['name']).toBe('Grace B. Hopper')
  })
})
