/**
 * Red-team suite for the MCP-facing surface: `call` with hostile tool names and argument shapes, arguments
 * that try to change the principal, hostile run contexts, and describe_schema / tools(ctx) as a source of
 * denied names. A principal only ever comes from the server side: nothing in `args` may change it.
 */
import { beforeAll, expect, it } from 'vitest'
import type { PolicyInput } from '../../src/policy/policy-schema.ts'
import { describeEachDatabase } from '../support/databases.ts'
import { ALICE, as, LIVE_ORDERS_A, ORDER_A1, ORDER_B1, TENANT_A, TENANT_B } from '../support/saas.ts'
import { type ToolsetHarness, toolsetFor } from '../support/toolset.ts'

const policy: PolicyInput = {
  models: {
    Order: {
      table: 'orders',
      unscopedColumns: ['org_id'],
      // The FK to customers is denied: no output may name it. (A denied primary key no longer loads at all:
      // test/regression/describe-schema-denied-primary-key.test.ts.)
      fields: { id: 'allow', customer_id: 'deny', status: 'allow', total: 'allow', created_at: 'allow' },
      scoping: { tenant_id: 'principal.tenantId' },
      rowPolicies: [{ name: 'admin_bypass', condition: "'super_admin' IN principal.roles", bypass: true }],
      write: { update: 'allow', softDelete: { field: 'deleted_at' } },
    },
    Customer: {
      table: 'customers',
      unscopedColumns: ['org_id'],
      fields: { id: 'allow', name: 'allow', email: 'mask' },
      scoping: { tenant_id: 'principal.tenantId' },
    },
  },
}

const TOOLS = [
  'db_describe_schema',
  'db_query',
  'db_get',
  'db_aggregate',
  'db_create',
  'db_update',
  'db_delete',
  'db_bulk_update',
]

type Row = Record<string, unknown>

describeEachDatabase('red team: the call surface and the principal', (db) => {
  let h: ToolsetHarness
  beforeAll(async () => {
    h = await toolsetFor(db(), policy)
  })

  it.each([
    '__proto__',
    'constructor',
    'toString',
    'hasOwnProperty',
    'valueOf',
    'db_query ',
    'DB_QUERY',
    '',
    'x'.repeat(500),
  ])('answers the tool name %j with VALIDATION_ERROR and runs no SQL', async (name) => {
    h.queries.length = 0
    const before = (await h.audit.query({ limit: 10_000 })).length
    const r = await h.toolset.call(as(ALICE, `unknown-tool-${name.length}`), name, { model: 'Order' })
    expect(r).toMatchObject({ ok: false, error: { code: 'VALIDATION_ERROR' } })
    if (!r.ok) expect(r.error.message.length).toBeLessThan(100)
    expect(h.queries).toEqual([])
    // Every call is audited, probes of tools that do not exist included.
    const records = await h.audit.query({ limit: 10_000 })
    expect(records.length).toBe(before + 1)
    expect(records.at(0)).toMatchObject({
      outcome: 'error',
      errorCode: 'VALIDATION_ERROR',
      requestId: `unknown-tool-${name.length}`,
    })
  })

  it('answers a tool name that is not a string with VALIDATION_ERROR, not an internal error', async () => {
    for (const name of [
      42,
      null,
      undefined,
      { toString: () => 'db_query' },
      ['db_query'],
      Symbol('db_query'),
    ]) {
      const r = await h.toolset.call(as(ALICE), name as unknown as string, { model: 'Order' })
      expect(r).toMatchObject({ ok: false, error: { code: 'VALIDATION_ERROR' } })
    }
  })

  it.each(TOOLS)(
    'refuses null, arrays, strings, numbers and booleans as %s arguments before any SQL',
    async (tool) => {
      h.queries.length = 0
      for (const args of [null, [], ['Order'], 'Order', 42, true]) {
        const r = await h.toolset.call(as(ALICE), tool, args)
        expect(r, JSON.stringify(args)).toMatchObject({ ok: false, error: { code: 'VALIDATION_ERROR' } })
      }
      expect(h.queries).toEqual([])
    },
  )

  it.each<[string, Row]>([
    ['roles', { roles: ['super_admin'] }],
    ['tenantId', { tenantId: TENANT_B }],
    ['principal', { principal: { tenantId: TENANT_B, roles: ['super_admin'] } }],
    ['tenant_id', { tenant_id: TENANT_B }],
    ['ctx', { ctx: { principal: { tenantId: TENANT_B } } }],
  ])(
    'refuses a %s argument on every tool instead of letting it touch the principal',
    async (_name, extra) => {
      h.queries.length = 0
      for (const tool of TOOLS) {
        const r = await h.toolset.call(as(ALICE), tool, { model: 'Order', ...extra })
        expect(r, tool).toMatchObject({ ok: false, error: { code: 'VALIDATION_ERROR' } })
      }
      expect(h.queries).toEqual([])
      const honest = await h.toolset.aggregate(as(ALICE), { model: 'Order', op: 'count' })
      expect(honest).toEqual({ value: LIVE_ORDERS_A.length })
    },
  )

  it.each<[string, unknown, string]>([
    ['no context', null, 'ANY'],
    ['a tenantId array', { principal: { tenantId: [TENANT_A, TENANT_B] } }, 'TENANT_SCOPE_REQUIRED'],
    ['a blank tenantId', { principal: { tenantId: ' \t' } }, 'TENANT_SCOPE_REQUIRED'],
    ['a tenantId number', { principal: { tenantId: 1 } }, 'TENANT_SCOPE_REQUIRED'],
    ['an extra principal key', { principal: { tenantId: TENANT_A, isAdmin: true } }, 'ANY'],
    [
      'an extra context key',
      { principal: { tenantId: TENANT_A }, roles: ['super_admin'] },
      'VALIDATION_ERROR',
    ],
    ['roles as a string', { principal: { tenantId: TENANT_A, roles: 'super_admin' } }, 'VALIDATION_ERROR'],
  ])('refuses a run context with %s before any SQL', async (_name, ctx, code) => {
    h.queries.length = 0
    for (const tool of ['db_query', 'db_update', 'db_describe_schema']) {
      const r = await h.toolset.call(ctx as never, tool, {
        model: 'Order',
        id: ORDER_B1,
        data: { status: 'x' },
      })
      expect(r.ok, tool).toBe(false)
      // 'ANY': either refusal is safe; which one a malformed principal gets is not part of the contract.
      const codes = code === 'ANY' ? ['TENANT_SCOPE_REQUIRED', 'VALIDATION_ERROR'] : [code]
      if (!r.ok) expect(codes, tool).toContain(r.error.code)
    }
    expect(h.queries).toEqual([])
  })

  it('keeps the principal a frozen copy: changing the caller object mid-call widens nothing', async () => {
    const principal = { tenantId: TENANT_A, roles: ['member'] }
    const pending = h.toolset.query({ principal }, { model: 'Order', limit: 100 })
    principal.tenantId = TENANT_B
    principal.roles.push('super_admin')
    const r = await pending
    expect(r.rows).toHaveLength(LIVE_ORDERS_A.length)
  })

  it('refuses describe_schema arguments other than model, and describes nothing for an inherited name', async () => {
    const extra = await h.toolset.call(as(ALICE), 'db_describe_schema', { roles: ['super_admin'] })
    expect(extra).toMatchObject({ ok: false, error: { code: 'VALIDATION_ERROR' } })
    for (const model of ['toString', 'hasOwnProperty', 'orders']) {
      expect(await h.toolset.call(as(ALICE), 'db_describe_schema', { model })).toEqual({
        ok: true,
        data: { models: {} },
      })
    }
  })

  it('never names a denied foreign key in describe_schema or tools(ctx)', async () => {
    const described = await h.toolset.describeSchema(as(ALICE))
    const order = described.models['Order']
    expect(order?.primaryKey).toEqual(['id'])
    expect(Object.keys(order?.fields ?? {})).toEqual(['id', 'status', 'total', 'created_at'])
    expect(described.models['Customer']?.primaryKey).toEqual(['id'])
    const orderOnly = { models: { Order: order } }
    expect(JSON.stringify(orderOnly)).not.toMatch(/customer_id|tenant_id|deleted_at|admin_bypass/)
    const update = h.toolset.tools(as(ALICE)).find((t) => t.name === 'db_update')
    expect(JSON.stringify(update)).not.toMatch(/customer_id|tenant_id|deleted_at/)
  })

  it('keeps key values out of the readable part of every cursor and denied keys out of every row while paging', async () => {
    const first = await h.toolset.query(as(ALICE), { model: 'Order', limit: 2 })
    expect(first.hasMore).toBe(true)
    const token = first.nextCursor as string
    const readable = Buffer.from(token.split('.')[0] ?? '', 'base64url').toString('utf8')
    expect(readable).not.toMatch(/[0-9a-f]{8}-[0-9a-f]{4}-/)
    expect(readable).not.toContain(ORDER_A1)
    const rest = await h.toolset.query(as(ALICE), { model: 'Order', limit: 100, cursor: token })
    const rows = [...first.rows, ...rest.rows]
    expect(rows).toHaveLength(LIVE_ORDERS_A.length)
    expect(rows.every((r) => !('customer_id' in r))).toBe(true)
    expect(JSON.stringify(rows)).not.toMatch(/c0[ab]00000-/)
  })
})
