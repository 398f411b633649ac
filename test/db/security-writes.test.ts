/**
 * Red-team suite for the write tools: mass assignment, cross-tenant ids and references, soft-deleted rows,
 * bulk tricks, type confusion and approval replay — all through tool arguments. Every test checks the database
 * through the unscoped oracle connection, so "refused" also means "nothing changed".
 */
import { beforeAll, expect, it } from 'vitest'
import type { PolicyInput } from '../../src/policy/policy-schema.ts'
import { describeEachDatabase } from '../support/databases.ts'
import {
  ALICE,
  ANDY,
  as,
  BOB,
  CUSTOMER_A1,
  CUSTOMER_A_PUBLIC,
  CUSTOMER_B1,
  CUSTOMER_B_PUBLIC,
  ORDER_A1,
  ORDER_A2,
  ORDER_A3,
  ORDER_A5_DELETED,
  ORDER_B1,
  ORDER_B2,
  ORDER_NO_TENANT,
  TENANT_A,
  TENANT_B,
} from '../support/saas.ts'
import { type ToolsetHarness, toolsetFor } from '../support/toolset.ts'
import { countRows, errorOf, rowJson, tenantSnapshot } from '../support/write-helpers.ts'
import { scopedOrder } from '../support/scoped-order.ts'

const policy: PolicyInput = {
  models: {
    Order: scopedOrder(
      {
        id: 'allow',
        tenant_id: 'allow',
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
          update: 'allow',
          delete: 'allow',
          autoSet: { tenant_id: 'principal.tenantId', created_by: 'principal.userId', created_at: 'now()' },
          immutableFields: ['tenant_id', 'created_by'],
          requiredFields: ['status'],
          softDelete: { field: 'deleted_at' },
          allowHardDelete: true,
          maxAffectedRows: 5,
        },
      },
    ),
    Customer: {
      table: 'customers',
      unscopedColumns: ['org_id'],
      fields: { id: 'allow', tenant_id: 'allow', name: 'allow', is_public: 'allow' },
      scoping: { tenant_id: 'principal.tenantId' },
      rowPolicies: [{ name: 'public', condition: 'is_public = true', mode: 'permissive', crossTenant: true }],
    },
    User: {
      table: 'users',
      fields: { id: 'allow', tenant_id: 'allow', name: 'allow', email: 'allow', password_hash: 'allow' },
      scoping: { tenant_id: 'principal.tenantId' },
      write: { create: 'allow', autoSet: { tenant_id: 'principal.tenantId' } },
    },
  },
}

const approvalPolicy: PolicyInput = {
  models: {
    Order: scopedOrder(
      { id: 'allow', tenant_id: 'allow', status: 'allow', total: 'allow' },
      {
        write: { update: 'approval', delete: 'approval', softDelete: { field: 'deleted_at' } },
      },
    ),
  },
}

const MISSING_ORDER = '0a000000-0000-4000-8000-0000000000ee'
const MISSING_CUSTOMER = 'c0a00000-0000-4000-8000-0000000000ee'

describeEachDatabase('red team: writes through tool arguments', (db) => {
  let h: ToolsetHarness
  let notFound: unknown
  beforeAll(async () => {
    h = await toolsetFor(db(), policy)
    notFound = await h.toolset.call(as(ALICE), 'db_update', {
      model: 'Order',
      id: MISSING_ORDER,
      data: { status: 'x' },
    })
  })

  it.each<[string, unknown, string]>([
    ['tenant_id (server-set)', TENANT_B, 'VALIDATION_ERROR'],
    ['created_by (server-set)', '00000000-0000-4000-8000-0000000000b1', 'VALIDATION_ERROR'],
    ['created_at (server-set)', '2020-01-01T00:00:00Z', 'VALIDATION_ERROR'],
    ['deleted_at (the soft-delete column, not readable)', null, 'FIELD_NOT_ALLOWED'],
    ['org_id (not readable)', 'labs', 'FIELD_NOT_ALLOWED'],
    ['Tenant_ID (a case variant)', TENANT_B, 'FIELD_NOT_ALLOWED'],
    ['TENANT_ID (a case variant)', TENANT_B, 'FIELD_NOT_ALLOWED'],
    ['\uff54enant_id (a fullwidth letter)', TENANT_B, 'VALIDATION_ERROR'],
    ['tenant_id\u200b (a zero-width space)', TENANT_B, 'VALIDATION_ERROR'],
    [' tenant_id (a leading space)', TENANT_B, 'VALIDATION_ERROR'],
    ['t0.tenant_id (a qualified name)', TENANT_B, 'VALIDATION_ERROR'],
  ])('refuses %s in create data and stores nothing', async (label, value, code) => {
    const field = label.slice(0, label.indexOf(' ('))
    const before = await countRows(db(), 'orders')
    const b = await tenantSnapshot(db(), TENANT_B)
    const r = await h.toolset.call(as(ALICE), 'db_create', {
      model: 'Order',
      data: { status: 'pending', [field]: value },
    })
    expect(r).toMatchObject({ ok: false, error: { code } })
    expect(await countRows(db(), 'orders')).toBe(before)
    expect(await tenantSnapshot(db(), TENANT_B)).toEqual(b)
  })

  it('gives a case variant of the tenant column the same error as a field that does not exist', async () => {
    const variant = await errorOf(
      h.toolset.create(as(ALICE), { model: 'Order', data: { status: 'x', Tenant_ID: TENANT_B } }),
    )
    const missing = await errorOf(
      h.toolset.create(as(ALICE), { model: 'Order', data: { status: 'x', no_such: TENANT_B } }),
    )
    expect(JSON.stringify(variant).replaceAll('Tenant_ID', '<f>')).toBe(
      JSON.stringify(missing).replaceAll('no_such', '<f>'),
    )
  })

  it.each<[string, Record<string, unknown>]>([
    ['moves the row to B', { tenant_id: TENANT_B }],
    ['changes the primary key', { id: MISSING_ORDER }],
    ['changes the owner', { created_by: '00000000-0000-4000-8000-0000000000b1' }],
    ['un-deletes through deleted_at', { deleted_at: null }],
    ['moves the row to B under a case variant', { TENANT_ID: TENANT_B }],
  ])('refuses an update that %s, leaving the row unchanged', async (_name, data) => {
    const before = await rowJson(db(), 'orders', ORDER_A2)
    const r = await h.toolset.call(as(ALICE), 'db_update', { model: 'Order', id: ORDER_A2, data })
    expect(r.ok).toBe(false)
    expect(await rowJson(db(), 'orders', ORDER_A2)).toBe(before)
  })

  it('treats an own soft-deleted row like a missing one for update and delete (soft and hard)', async () => {
    const before = await rowJson(db(), 'orders', ORDER_A5_DELETED)
    const update = await h.toolset.call(as(ALICE), 'db_update', {
      model: 'Order',
      id: ORDER_A5_DELETED,
      data: { status: 'pending' },
    })
    const soft = await h.toolset.call(as(ALICE), 'db_delete', { model: 'Order', id: ORDER_A5_DELETED })
    const hard = await h.toolset.call(as(ALICE), 'db_delete', {
      model: 'Order',
      id: ORDER_A5_DELETED,
      hard: true,
    })
    expect(update).toEqual(notFound)
    expect(soft).toEqual(notFound)
    expect(hard).toEqual(notFound)
    expect(await rowJson(db(), 'orders', ORDER_A5_DELETED)).toBe(before)
  })

  it("answers a hard delete of B's id, of a NULL-tenant id and of an upper-cased B id like a missing id", async () => {
    const b = await tenantSnapshot(db(), TENANT_B)
    const orphan = await rowJson(db(), 'orders', ORDER_NO_TENANT)
    for (const id of [ORDER_B1, ORDER_NO_TENANT, ORDER_B1.toUpperCase(), { id: ORDER_B2 }]) {
      const r = await h.toolset.call(as(ALICE), 'db_delete', { model: 'Order', id, hard: true })
      expect(r).toEqual(notFound)
    }
    expect(await tenantSnapshot(db(), TENANT_B)).toEqual(b)
    expect(await rowJson(db(), 'orders', ORDER_NO_TENANT)).toBe(orphan)
  })

  it('bulk-updates a row named four ways (duplicate, upper case, key object) once and reports 1', async () => {
    const r = await h.toolset.bulkUpdate(as(ALICE), {
      model: 'Order',
      ids: [ORDER_A3, ORDER_A3, ORDER_A3.toUpperCase(), { id: ORDER_A3 }],
      data: { total: '311.00' },
    })
    expect(r).toEqual({ updated: 1 })
    const audit = (await h.audit.query({ tool: 'db_bulk_update', outcome: 'success' })).at(0)
    expect(audit?.affectedRows).toBe(1)
  })

  it("reports 0 for a bulk update of B's and NULL-tenant ids only, changing nothing", async () => {
    const b = await tenantSnapshot(db(), TENANT_B)
    const orphan = await rowJson(db(), 'orders', ORDER_NO_TENANT)
    const r = await h.toolset.bulkUpdate(as(ALICE), {
      model: 'Order',
      ids: [ORDER_B1, ORDER_B2, ORDER_NO_TENANT],
      data: { status: 'hacked' },
    })
    expect(r).toEqual({ updated: 0 })
    expect(await tenantSnapshot(db(), TENANT_B)).toEqual(b)
    expect(await rowJson(db(), 'orders', ORDER_NO_TENANT)).toBe(orphan)
  })

  it("refuses a bulk update that points A's rows at B's private customer, in any spelling, changing nothing", async () => {
    const a1 = await rowJson(db(), 'orders', ORDER_A1)
    const results = []
    for (const customer of [CUSTOMER_B1, CUSTOMER_B1.toUpperCase(), MISSING_CUSTOMER]) {
      results.push(
        await h.toolset.call(as(ALICE), 'db_bulk_update', {
          model: 'Order',
          ids: [ORDER_A1, ORDER_B1],
          data: { customer_id: customer },
        }),
      )
    }
    expect(results[0]).toMatchObject({ ok: false, error: { code: 'NOT_FOUND' } })
    expect(results[1]).toEqual(results[0])
    expect(results[2]).toEqual(results[0])
    expect(await rowJson(db(), 'orders', ORDER_A1)).toBe(a1)
  })

  it('lets A reuse an email B uses, since the unique key includes the tenant: no existence oracle', async () => {
    const r = await h.toolset.create(as(ALICE), {
      model: 'User',
      data: { name: 'Not Bob', email: 'bob@globex.test', password_hash: 'x' },
    })
    expect(r.row).toMatchObject({ tenant_id: TENANT_A, email: 'bob@globex.test' })
  })

  it.each<[string, Record<string, unknown>]>([
    ['a number for text', { status: 123 }],
    ['an array for text', { status: ['paid'] }],
    ['an object for text', { status: { $ne: null } }],
    ['NaN text for numeric', { status: 'x', total: 'NaN' }],
    ['an exponent string for numeric', { status: 'x', total: '1e400' }],
    ['a number for a uuid', { status: 'x', customer_id: 42 }],
    ['null for a required field', { status: null }],
    ['a string over the input limit', { status: 'x'.repeat(10_001) }],
    ['a NUL character', { status: 'pa\u0000id' }],
    ['a numeric the column cannot hold', { status: 'x', total: 1e300 }],
  ])('refuses %s in create data without storing or leaking database text', async (_name, data) => {
    const before = await countRows(db(), 'orders')
    const r = await h.toolset.call(as(ALICE), 'db_create', { model: 'Order', data })
    expect(r).toMatchObject({ ok: false, error: { code: 'VALIDATION_ERROR' } })
    expect(JSON.stringify(r)).not.toMatch(/numeric|overflow|syntax|violates|constraint|orders/i)
    expect(await countRows(db(), 'orders')).toBe(before)
  })

  it.each<[string, string, Record<string, unknown>]>([
    ['data null', 'db_create', { model: 'Order', data: null }],
    ['data an array', 'db_create', { model: 'Order', data: [['status', 'x']] }],
    ['data a string', 'db_update', { model: 'Order', id: ORDER_A1, data: 'status=x' }],
    ['empty data', 'db_update', { model: 'Order', id: ORDER_A1, data: {} }],
    ['ids a string', 'db_bulk_update', { model: 'Order', ids: ORDER_A1, data: { status: 'x' } }],
    ['no ids', 'db_bulk_update', { model: 'Order', ids: [], data: { status: 'x' } }],
    ['hard as a string', 'db_delete', { model: 'Order', id: ORDER_A1, hard: 'true' }],
    [
      'a reason over 1,000 characters',
      'db_update',
      { model: 'Order', id: ORDER_A1, data: { status: 'x' }, reason: 'r'.repeat(1_001) },
    ],
    [
      'a tenantId argument',
      'db_update',
      { model: 'Order', id: ORDER_B1, data: { status: 'x' }, tenantId: TENANT_B },
    ],
  ])('refuses %s with VALIDATION_ERROR before any SQL', async (_name, tool, args) => {
    h.queries.length = 0
    const r = await h.toolset.call(as(ALICE), tool, args)
    expect(r).toMatchObject({ ok: false, error: { code: 'VALIDATION_ERROR' } })
    expect(h.queries).toEqual([])
  })
  // ── approvals ─────────────────────────────────────────────────────────────────────────────────────

  let ha: ToolsetHarness
  let unknownApproval: unknown
  beforeAll(async () => {
    ha = await toolsetFor(db(), approvalPolicy, { approvalTtlMs: 60_000 })
    unknownApproval = await ha.toolset.call(as(ALICE), 'db_update', {
      model: 'Order',
      id: ORDER_A1,
      data: { status: 'x' },
      approvalId: '00000000-0000-4000-8000-000000000000',
    })
  })

  async function approved(who: typeof ALICE, args: Record<string, unknown>): Promise<string> {
    const e = await errorOf(ha.toolset.update(as(who), args))
    expect(e.code).toBe('WRITE_APPROVAL_REQUIRED')
    const id = e.details['approvalId'] as string
    expect(await ha.toolset.approvals.approve(id, 'manager')).not.toBeNull()
    return id
  }

  it("refuses A's approved write replayed by B or by another user of A like an unknown approval, and keeps it usable", async () => {
    const args = { model: 'Order', id: ORDER_A1, data: { status: 'approved-once' } }
    const approvalId = await approved(ALICE, args)
    const b = await tenantSnapshot(db(), TENANT_B)
    const before = await rowJson(db(), 'orders', ORDER_A1)
    const byBob = await ha.toolset.call(as(BOB), 'db_update', { ...args, approvalId })
    const byAndy = await ha.toolset.call(as(ANDY), 'db_update', { ...args, approvalId })
    const onB = await ha.toolset.call(as(ALICE), 'db_update', { ...args, id: ORDER_B1, approvalId })
    expect(unknownApproval).toMatchObject({ ok: false, error: { code: 'VALIDATION_ERROR' } })
    expect(byBob).toEqual(unknownApproval)
    expect(byAndy).toEqual(unknownApproval)
    expect(onB).toEqual(unknownApproval)
    expect(await rowJson(db(), 'orders', ORDER_A1)).toBe(before)
    expect(await tenantSnapshot(db(), TENANT_B)).toEqual(b)
    const own = await ha.toolset.update(as(ALICE), { ...args, approvalId })
    expect(own.row['status']).toBe('approved-once')
  })

  it("refuses B's approved write on B's row when A submits it, leaving B's row and B's approval intact", async () => {
    const args = { model: 'Order', id: ORDER_B2, data: { status: 'bob-approved' } }
    const approvalId = await approved(BOB, args)
    const before = await rowJson(db(), 'orders', ORDER_B2)
    const byAlice = await ha.toolset.call(as(ALICE), 'db_update', { ...args, approvalId })
    expect(byAlice).toEqual(unknownApproval)
    expect(await rowJson(db(), 'orders', ORDER_B2)).toBe(before)
    const own = await ha.toolset.update(as(BOB), { ...args, approvalId })
    expect(own.row['status']).toBe('bob-approved')
  })

  it("creates no approval for B's id: the request fails like a missing id", async () => {
    const foreign = await ha.toolset.call(as(ALICE), 'db_delete', { model: 'Order', id: ORDER_B1 })
    const missing = await ha.toolset.call(as(ALICE), 'db_delete', { model: 'Order', id: MISSING_ORDER })
    expect(foreign).toMatchObject({ ok: false, error: { code: 'NOT_FOUND' } })
    expect(foreign).toEqual(missing)
    expect(JSON.stringify(foreign)).not.toContain('approvalId')
  })

  // ── a model scoped only through permissive rules ─────────────────────────────────────────────────

  it.each<[string, PolicyInput['models'][string]['rowPolicies']]>([
    [
      'two rules',
      [
        { name: 'own', condition: 'tenant_id = principal.tenantId', mode: 'permissive' },
        { name: 'public', condition: 'is_public = true', mode: 'permissive', crossTenant: true },
      ],
    ],
    [
      'one rule with OR',
      [
        {
          name: 'own_or_public',
          condition: 'is_public = true OR tenant_id = principal.tenantId',
          mode: 'permissive',
        },
      ],
    ],
  ])(
    "refuses to update, delete or create B's public rows when public rows are shared by %s",
    async (_name, rowPolicies) => {
      const hp = await toolsetFor(db(), {
        models: {
          Customer: {
            table: 'customers',
            unscopedColumns: ['org_id'],
            fields: { id: 'allow', tenant_id: 'allow', name: 'allow', is_public: 'allow' },
            rowPolicies,
            write: { create: 'allow', update: 'allow', delete: 'allow' },
          },
          Tenant: { table: 'tenants', shared: true, fields: { id: 'allow', name: 'allow' } },
        },
      })
      const b = await tenantSnapshot(db(), TENANT_B)
      const customers = await countRows(db(), 'customers')
      // Readable, as the policy says...
      const read = await hp.toolset.get(as(ALICE), { model: 'Customer', id: CUSTOMER_B_PUBLIC })
      expect(read.row['name']).toBe('Globex Public')
      // ...but not writable: exactly like a missing row.
      const missing = await hp.toolset.call(as(ALICE), 'db_update', {
        model: 'Customer',
        id: MISSING_CUSTOMER,
        data: { name: 'x' },
      })
      const update = await hp.toolset.call(as(ALICE), 'db_update', {
        model: 'Customer',
        id: CUSTOMER_B_PUBLIC,
        data: { name: 'pwned' },
      })
      const del = await hp.toolset.call(as(ALICE), 'db_delete', { model: 'Customer', id: CUSTOMER_B_PUBLIC })
      const bulk = await hp.toolset.call(as(ALICE), 'db_bulk_update', {
        model: 'Customer',
        ids: [CUSTOMER_B_PUBLIC, CUSTOMER_B1],
        data: { name: 'pwned' },
      })
      const create = await hp.toolset.call(as(ALICE), 'db_create', {
        model: 'Customer',
        data: { tenant_id: TENANT_B, is_public: true, name: 'planted by A' },
      })
      const move = await hp.toolset.call(as(ALICE), 'db_update', {
        model: 'Customer',
        id: CUSTOMER_A_PUBLIC,
        data: { tenant_id: TENANT_B },
      })
      expect(missing).toMatchObject({ ok: false, error: { code: 'NOT_FOUND' } })
      expect(update).toEqual(missing)
      expect(del).toMatchObject({ ok: false, error: { code: 'NOT_FOUND' } })
      expect(bulk).toEqual({ ok: true, data: { updated: 0 } })
      expect(create).toMatchObject({ ok: false, error: { code: 'VALIDATION_ERROR' } })
      expect(move).toMatchObject({ ok: false, error: { code: 'VALIDATION_ERROR' } })
      expect(await tenantSnapshot(db(), TENANT_B)).toEqual(b)
      expect(await countRows(db(), 'customers')).toBe(customers)
      // The caller's own rows, public or not, stay writable.
      const own = await hp.toolset.bulkUpdate(as(ALICE), {
        model: 'Customer',
        ids: [CUSTOMER_A1, CUSTOMER_A_PUBLIC],
        data: { is_public: true },
      })
      expect(own).toEqual({ updated: 2 })
    },
  )
})
