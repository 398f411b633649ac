/**
 * Red-team suite for the read tools: every attack goes through tool ARGUMENTS only (principal and policy are
 * trusted) and asserts the safe behaviour — no other tenant's row, no denied or masked value (not even inside a
 * cursor), no way to tell "exists elsewhere" from "does not exist", no budget bypass.
 */
import { beforeAll, expect, it } from 'vitest'
import type { PolicyInput } from '../../src/policy/policy-schema.ts'
import { describeEachDatabase } from '../support/databases.ts'
import {
  ALICE,
  as,
  BOB,
  CUSTOMER_B1,
  CUSTOMER_B_PUBLIC,
  LIVE_ORDERS_A,
  ORDER_A1,
  ORDER_A_PLANT,
  ORDER_B1,
  ORDER_B2,
  ORDER_NO_TENANT,
  SUPER,
  TENANT_A,
  TENANT_B,
} from '../support/saas.ts'
import { type ToolsetHarness, toolsetFor } from '../support/toolset.ts'
import { errorOf } from '../support/write-helpers.ts'
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
        rowPolicies: [{ name: 'admin_bypass', condition: "'super_admin' IN principal.roles", bypass: true }],
        relations: { customer: { model: 'Customer' }, invoices: { model: 'Invoice' } },
        aggregations: { fields: ['total', 'created_by', 'created_at'], groupBy: ['status'] },
        write: { softDelete: { field: 'deleted_at' } },
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
      },
      scoping: { tenant_id: 'principal.tenantId' },
      rowPolicies: [{ name: 'public', condition: 'is_public = true', mode: 'permissive', crossTenant: true }],
      relations: { orders: { model: 'Order' } },
      aggregations: { fields: ['name'], groupBy: ['name'] },
    },
    Invoice: {
      table: 'invoices',
      fields: {
        id: 'allow',
        order_id: 'allow',
        number: 'allow',
        amount: 'allow',
        card_number: { action: 'mask', pattern: '****{last4}' },
      },
      scoping: { tenant_id: 'principal.tenantId' },
    },
    Product: {
      table: 'products',
      shared: true,
      fields: { id: 'allow', sku: 'allow', name: 'allow', price: 'allow' },
      aggregations: { fields: ['price'], groupBy: [] },
    },
  },
}

type Row = Record<string, unknown>
const ids = (rows: readonly Row[]): string[] => rows.map((r) => r['id'] as string).sort()
const MISSING_ORDER = '0a000000-0000-4000-8000-0000000000ee'

/** Every string inside a value, at any depth (for "this text appears nowhere in the answer" checks). */
function textOf(value: unknown): string {
  return JSON.stringify(value) ?? ''
}

/** The decoded JSON body of a cursor token: what anyone holding the token can read without the secret. */
function cursorBody(token: string): string {
  return Buffer.from(token.split('.')[0] ?? '', 'base64url').toString('utf8')
}

describeEachDatabase('red team: reads through tool arguments', (db) => {
  let h: ToolsetHarness
  beforeAll(async () => {
    h = await toolsetFor(db(), policy)
  })

  // ── scope widening ────────────────────────────────────────────────────────────────────────────────

  it.each<[string, unknown, string[]]>([
    ['not around the own tenant', { not: { field: 'tenant_id', op: 'eq', value: TENANT_A } }, []],
    [
      'ne on the tenant (the NULL-tenant row must not appear)',
      { field: 'tenant_id', op: 'ne', value: TENANT_A },
      [],
    ],
    ['is_null on the tenant', { field: 'tenant_id', op: 'is_null' }, []],
    ['not_in the own tenant', { field: 'tenant_id', op: 'not_in', value: [TENANT_A] }, []],
    ['an empty or (false)', { or: [] }, []],
    [
      'an empty and (true) ored with B',
      { or: [{ and: [] }, { field: 'tenant_id', op: 'eq', value: TENANT_B }] },
      LIVE_ORDERS_A,
    ],
    ['not of an empty or (true)', { not: { or: [] } }, LIVE_ORDERS_A],
    ['in B and NULL-tenant ids', { field: 'id', op: 'in', value: [ORDER_B1, ORDER_B2, ORDER_NO_TENANT] }, []],
    ['between reversed', { field: 'total', op: 'between', value: [1000, 0] }, []],
    ['not_in an empty list', { field: 'id', op: 'not_in', value: [] }, LIVE_ORDERS_A],
  ])('keeps %s inside the caller scope', async (_name, where, expected) => {
    const r = await h.toolset.query(as(ALICE), { model: 'Order', where, limit: 100 })
    expect(ids(r.rows)).toEqual([...expected].sort())
    const count = await h.toolset.aggregate(as(ALICE), { model: 'Order', op: 'count', where })
    expect(count).toEqual({ value: expected.length })
  })

  it('refuses null inside an in list instead of matching NULL-tenant rows', async () => {
    const e = await errorOf(
      h.toolset.query(as(ALICE), { model: 'Order', where: { field: 'tenant_id', op: 'in', value: [null] } }),
    )
    expect(e.code).toBe('VALIDATION_ERROR')
  })

  it('matches hostile array-literal text in an in list literally, with no error and no extra rows', async () => {
    const r = await h.toolset.query(as(ALICE), {
      model: 'Order',
      where: { field: 'status', op: 'in', value: ['NULL', '{}', 'a","b', '\\', '"paid"', "paid'--"] },
    })
    expect(r.rows).toEqual([])
  })

  it("answers a page of B's ids exactly like a page of missing ids: no rows, hasMore false, no cursor", async () => {
    const foreign = await h.toolset.query(as(ALICE), {
      model: 'Order',
      where: { field: 'id', op: 'in', value: [ORDER_B1, ORDER_B2] },
      limit: 1,
    })
    const missing = await h.toolset.query(as(ALICE), {
      model: 'Order',
      where: { field: 'id', op: 'in', value: [MISSING_ORDER, MISSING_ORDER.replace('ee', 'ef')] },
      limit: 1,
    })
    expect(foreign).toEqual({ rows: [], nextCursor: null, hasMore: false })
    expect(missing).toEqual(foreign)
  })

  it("counts B's ids as zero, like ids that do not exist", async () => {
    const where = { field: 'id', op: 'eq', value: ORDER_B1 }
    expect(await h.toolset.aggregate(as(ALICE), { model: 'Order', op: 'count', where })).toEqual({ value: 0 })
    expect(
      await h.toolset.aggregate(as(ALICE), { model: 'Order', op: 'sum', field: 'total', where }),
    ).toEqual({
      value: null,
    })
  })

  // ── includes ──────────────────────────────────────────────────────────────────────────────────────

  it("returns null for B's customer through the planted FK, even two levels deep", async () => {
    const r = await h.toolset.get(as(ALICE), {
      model: 'Order',
      id: ORDER_A_PLANT,
      include: { customer: { include: { orders: true } } },
    })
    expect(r.row['customer']).toBeNull()
    expect(textOf(r)).not.toContain('Barbara')
    expect(textOf(r)).not.toContain(ORDER_B1)
  })

  it("shows B's public customer but none of B's orders through it", async () => {
    const r = await h.toolset.get(as(ALICE), {
      model: 'Customer',
      id: CUSTOMER_B_PUBLIC,
      include: { orders: { include: { invoices: true } } },
    })
    expect(r.row['name']).toBe('Globex Public')
    expect(r.row['orders']).toEqual([])
  })

  it("includes only the caller's rows under the customer of the plant (A's order, not B's)", async () => {
    // A cannot see Barbara; B sees her but must not see acme's planted order under her.
    const b = await h.toolset.get(as(BOB), { model: 'Customer', id: CUSTOMER_B1, include: { orders: true } })
    expect(ids(b.row['orders'] as Row[])).toEqual([ORDER_B1])
    const a = await h.toolset.call(as(ALICE), 'db_get', { model: 'Customer', id: CUSTOMER_B1 })
    expect(a).toMatchObject({ ok: false, error: { code: 'NOT_FOUND' } })
  })

  it("applies the included model's own scope under a bypass that holds only for the root model", async () => {
    // SUPER bypasses Order's scope; Customer has no bypass rule, so included customers stay SUPER's (B's) own.
    const r = await h.toolset.query(as(SUPER), {
      model: 'Order',
      where: { field: 'id', op: 'in', value: [ORDER_A1, ORDER_B1] },
      include: { customer: true },
    })
    const byId = new Map(r.rows.map((row) => [row['id'], row]))
    expect((byId.get(ORDER_A1)?.['customer'] as Row | null) ?? null).toBeNull()
    expect((byId.get(ORDER_B1)?.['customer'] as Row)['id']).toBe(CUSTOMER_B1)
  })

  it.each<[string, unknown]>([
    [
      'where on a masked field',
      { invoices: { where: { field: 'card_number', op: 'startswith', value: '4111' } } },
    ],
    ['orderBy on a masked field', { invoices: { orderBy: [{ field: 'card_number' }] } }],
    ['where on a denied field', { invoices: { where: { field: 'tenant_id', op: 'eq', value: TENANT_B } } }],
    ['orderBy on a denied field', { invoices: { orderBy: ['tenant_id'] } }],
    ['select of a denied field', { invoices: { select: ['tenant_id'] } }],
    [
      'select of a denied field two levels down',
      { customer: { include: { orders: { select: ['org_id'] } } } },
    ],
  ])('refuses %s inside an include with FIELD_NOT_ALLOWED before any SQL', async (_name, include) => {
    h.queries.length = 0
    const e = await errorOf(h.toolset.query(as(ALICE), { model: 'Order', include }))
    expect(e.code).toBe('FIELD_NOT_ALLOWED')
    expect(h.queries).toEqual([])
  })

  it('gives a denied, a masked and a missing field the same error, inside an include and at the root', async () => {
    const inInclude = async (field: string): Promise<string> => {
      const where = { field, op: 'eq', value: 'x' }
      const e = await errorOf(
        h.toolset.query(as(ALICE), { model: 'Order', include: { invoices: { where } } }),
      )
      return JSON.stringify(e).replaceAll(field, '<f>')
    }
    const atRoot = async (field: string): Promise<string> => {
      const e = await errorOf(
        h.toolset.query(as(ALICE), { model: 'Customer', where: { field, op: 'eq', value: 'x' } }),
      )
      return JSON.stringify(e).replaceAll(field, '<f>')
    }
    const missingInclude = await inInclude('no_such_field')
    expect(await inInclude('card_number')).toBe(missingInclude)
    expect(await inInclude('tenant_id')).toBe(missingInclude)
    const missingRoot = await atRoot('no_such_field')
    for (const field of ['notes', 'email', 'ssn']) expect(await atRoot(field)).toBe(missingRoot)
  })

  it.each(['toString', 'hasOwnProperty', 'valueOf', 'isPrototypeOf', 'orders', 'no_such_relation'])(
    'refuses the relation name %s on Order with RELATION_NOT_ALLOWED',
    async (name) => {
      const e = await errorOf(h.toolset.query(as(ALICE), { model: 'Order', include: { [name]: true } }))
      expect(e).toMatchObject({ code: 'RELATION_NOT_ALLOWED', details: { model: 'Order', relation: name } })
    },
  )

  it.each([
    ['__proto__', '{"model":"Order","include":{"__proto__":true}}'],
    ['constructor', '{"model":"Order","include":{"constructor":true}}'],
    ['prototype', '{"model":"Order","include":{"customer":{"include":{"prototype":true}}}}'],
  ])('rejects the relation key %s as input before planning', async (_name, json) => {
    h.queries.length = 0
    const r = await h.toolset.call(as(ALICE), 'db_query', JSON.parse(json))
    expect(r).toMatchObject({ ok: false, error: { code: 'VALIDATION_ERROR' } })
    expect(h.queries).toEqual([])
    expect(({} as Row)['model']).toBeUndefined()
  })

  it('refuses where, orderBy and limit on a to-one include', async () => {
    for (const spec of [
      { where: { field: 'name', op: 'eq', value: 'x' } },
      { orderBy: ['name'] },
      { limit: 1 },
    ]) {
      const e = await errorOf(h.toolset.query(as(ALICE), { model: 'Order', include: { customer: spec } }))
      expect(e.code).toBe('VALIDATION_ERROR')
    }
  })

  // ── aggregates as oracles ─────────────────────────────────────────────────────────────────────────

  it.each([
    ['min', 'email'],
    ['max', 'email'],
    ['min', 'ssn'],
    ['max', 'notes'],
    ['count', 'notes'],
  ])('refuses %s over the masked, hashed or denied field %s like a missing field', async (op, field) => {
    const e = await errorOf(h.toolset.aggregate(as(ALICE), { model: 'Customer', op, field }))
    const missing = await errorOf(h.toolset.aggregate(as(ALICE), { model: 'Customer', op, field: 'no_such' }))
    expect(e.code).toBe('FIELD_NOT_ALLOWED')
    expect(JSON.stringify(e).replaceAll(field, '<f>')).toBe(
      JSON.stringify(missing).replaceAll('no_such', '<f>'),
    )
  })

  it('answers min and max over a uuid field with VALIDATION_ERROR, not a database failure', async () => {
    for (const op of ['min', 'max']) {
      const r = await h.toolset.call(as(ALICE), 'db_aggregate', { model: 'Order', op, field: 'created_by' })
      expect(r).toMatchObject({ ok: false, error: { code: 'VALIDATION_ERROR' } })
    }
    const ok = await h.toolset.aggregate(as(ALICE), { model: 'Order', op: 'max', field: 'created_at' })
    expect(ok).toEqual({ value: '2026-02-07T10:00:00+00:00' })
  })

  it("takes min and max over the caller's rows only", async () => {
    const max = await h.toolset.aggregate(as(ALICE), { model: 'Order', op: 'max', field: 'total' })
    // B's largest order is 1000.00; A's largest live order is 310.00.
    expect(max).toEqual({ value: '310.00' })
  })

  // ── cursors ───────────────────────────────────────────────────────────────────────────────────────

  it('hands out cursors whose readable part holds no row value', async () => {
    const r = await h.toolset.query(as(ALICE), { model: 'Order', orderBy: ['status', 'total'], limit: 1 })
    expect(r.hasMore).toBe(true)
    const body = cursorBody(r.nextCursor as string)
    const row = r.rows[0] as Row
    for (const value of [row['id'], row['status'], row['total'], TENANT_A]) {
      expect(body).not.toContain(String(value))
    }
    const next = await h.toolset.query(as(ALICE), {
      model: 'Order',
      orderBy: ['status', 'total'],
      limit: 10,
      cursor: r.nextCursor,
    })
    expect(ids([...r.rows, ...next.rows])).toEqual([...LIVE_ORDERS_A].sort())
  })

  it('rejects a cursor moved to another tenant, another toolset secret, or padded to a huge length', async () => {
    const page = await h.toolset.query(as(ALICE), { model: 'Order', limit: 1 })
    const cursor = page.nextCursor as string
    const other = await toolsetFor(db(), policy, { secret: 'another-secret-0123456789' })
    const codes = [
      await h.toolset.call(as(BOB), 'db_query', { model: 'Order', limit: 1, cursor }),
      await other.toolset.call(as(ALICE), 'db_query', { model: 'Order', limit: 1, cursor }),
      await h.toolset.call(as(ALICE), 'db_query', {
        model: 'Order',
        limit: 1,
        cursor: `${cursor}${'A'.repeat(5_000)}`,
      }),
      await h.toolset.call(as(ALICE), 'db_query', { model: 'Order', limit: 1, cursor: 'x'.repeat(20_000) }),
    ].map((r) => (r.ok ? 'OK' : r.error.code))
    expect(codes).toEqual(['INVALID_CURSOR', 'INVALID_CURSOR', 'INVALID_CURSOR', 'VALIDATION_ERROR'])
  })

  // ── budgets ───────────────────────────────────────────────────────────────────────────────────────

  it.each<[string, Row, string]>([
    ['limit 0', { limit: 0 }, 'VALIDATION_ERROR'],
    ['limit -1', { limit: -1 }, 'VALIDATION_ERROR'],
    ['limit 1.5', { limit: 1.5 }, 'VALIDATION_ERROR'],
    ['limit "10"', { limit: '10' }, 'VALIDATION_ERROR'],
    ['limit 1e9', { limit: 1e9 }, 'QUERY_BUDGET_EXCEEDED'],
    ['limit 2^53', { limit: 2 ** 53 }, 'VALIDATION_ERROR'],
    ['an include limit of 1e9', { include: { invoices: { limit: 1e9 } } }, 'QUERY_BUDGET_EXCEEDED'],
    ['an include limit of 0', { include: { invoices: { limit: 0 } } }, 'VALIDATION_ERROR'],
    [
      '41 duplicate select entries',
      { select: Array.from({ length: 41 }, () => 'id') },
      'QUERY_BUDGET_EXCEEDED',
    ],
    ['5,001 select entries', { select: Array.from({ length: 5_001 }, () => 'id') }, 'VALIDATION_ERROR'],
    [
      '51 comparisons in nested ands',
      {
        where: {
          and: Array.from({ length: 51 }, () => ({ and: [{ field: 'status', op: 'eq', value: 'x' }] })),
        },
      },
      'QUERY_BUDGET_EXCEEDED',
    ],
    [
      'ands nested 40 deep',
      { where: Array.from({ length: 40 }).reduce<unknown>((w) => ({ and: [w] }), []) },
      'VALIDATION_ERROR',
    ],
  ])('refuses %s before any SQL', async (_name, extra, code) => {
    h.queries.length = 0
    const r = await h.toolset.call(as(ALICE), 'db_query', { model: 'Order', ...extra })
    expect(r).toMatchObject({ ok: false, error: { code } })
    expect(h.queries).toEqual([])
  })

  it.each<[string, unknown]>([
    ['an empty array', []],
    ['an empty and', { and: [] }],
    ['an or of an empty and', { or: [[]] }],
    ['not of an empty or', { not: { or: [] } }],
    ['nested empty groups', { and: [{ or: [{ and: [] }] }, []] }],
  ])('keeps the broad-query guard on for a filter of %s, which narrows nothing', async (_name, where) => {
    h.queries.length = 0
    const q = await h.toolset.call(as(ALICE), 'db_query', { model: 'Product', where, limit: 1 })
    const a = await h.toolset.call(as(ALICE), 'db_aggregate', {
      model: 'Product',
      op: 'sum',
      field: 'price',
      where,
    })
    expect(q).toMatchObject({ ok: false, error: { code: 'QUERY_TOO_BROAD' } })
    expect(a).toMatchObject({ ok: false, error: { code: 'QUERY_TOO_BROAD' } })
    expect(h.queries).toEqual([])
  })

  it('still runs a shared-table query with a real comparison', async () => {
    const r = await h.toolset.query(as(ALICE), {
      model: 'Product',
      where: [[], { field: 'sku', op: 'eq', value: 'SKU-000007' }],
    })
    expect(r.rows).toEqual([{ id: '7', sku: 'SKU-000007', name: 'Product 7', price: '7.99' }])
  })

  // ── type confusion on ids ─────────────────────────────────────────────────────────────────────────

  it.each<[string, unknown]>([
    ['a number for a uuid key', 42],
    ['an array', [ORDER_A1]],
    ['an object with an extra key', { id: ORDER_A1, tenant_id: TENANT_B }],
    ['an object naming the tenant only', { tenant_id: TENANT_A }],
    ['an empty string', ''],
    ['a boolean', true],
    ['null', null],
    ['an injection string', "' OR 1=1 --"],
  ])('refuses %s as a get id with VALIDATION_ERROR before any SQL', async (_name, id) => {
    h.queries.length = 0
    const r = await h.toolset.call(as(ALICE), 'db_get', { model: 'Order', id })
    expect(r).toMatchObject({ ok: false, error: { code: 'VALIDATION_ERROR' } })
    expect(h.queries).toEqual([])
  })

  it("answers get of B's id in upper case and as a key object like a missing id", async () => {
    const missing = await h.toolset.call(as(ALICE), 'db_get', { model: 'Order', id: MISSING_ORDER })
    for (const id of [ORDER_B1.toUpperCase(), { id: ORDER_B1 }, ORDER_NO_TENANT]) {
      expect(await h.toolset.call(as(ALICE), 'db_get', { model: 'Order', id })).toEqual(missing)
    }
    expect(missing).toMatchObject({ ok: false, error: { code: 'NOT_FOUND' } })
  })
})
