import { beforeAll, expect, it } from 'vitest'
import type { PolicyInput } from '../../src/policy/policy-schema.ts'
import { describeEachDatabase } from '../support/databases.ts'
import {
  ALICE,
  ANDY,
  as,
  BOB,
  CUSTOMER_A_PUBLIC,
  CUSTOMER_B_PUBLIC,
  ERIN,
  ORDER_A4_LABS,
  ORDER_NO_TENANT,
  SUPER,
  TENANT_A,
  TENANT_A1,
  TENANT_A2,
  TENANT_B,
} from '../support/saas.ts'
import { type ToolsetHarness, toolsetFor } from '../support/toolset.ts'
import { scopedOrder } from '../support/scoped-order.ts'

const ids = (rows: readonly Record<string, unknown>[]): string[] => rows.map((r) => r['id'] as string).sort()
const tenants = (rows: readonly Record<string, unknown>[]): string[] =>
  [...new Set(rows.map((r) => r['tenant_id'] as string))].sort()

describeEachDatabase('scoping with two fields', (db) => {
  let h: ToolsetHarness
  beforeAll(async () => {
    h = await toolsetFor(db(), {
      models: {
        Order: {
          table: 'orders',
          fields: { id: 'allow', tenant_id: 'allow', org_id: 'allow' },
          scoping: { tenant_id: 'principal.tenantId', org_id: 'principal.metadata.orgId' },
        },
      },
    })
  })

  it("excludes the caller's other org", async () => {
    const labs = await h.toolset.query(as(ANDY), { model: 'Order' })
    expect(ids(labs.rows)).toEqual([ORDER_A4_LABS])
    const main = await h.toolset.query(as(ALICE), { model: 'Order' })
    expect(main.rows.every((r) => r['org_id'] === 'main' && r['tenant_id'] === TENANT_A)).toBe(true)
  })

  it('answers an unresolved principal path with TENANT_SCOPE_REQUIRED and runs no SQL', async () => {
    h.queries.length = 0
    const r = await h.toolset.call(as({ tenantId: TENANT_A }), 'db_query', { model: 'Order' })
    expect(r).toEqual({ ok: false, error: expect.objectContaining({ code: 'TENANT_SCOPE_REQUIRED' }) })
    expect(h.queries).toEqual([])
  })

  it('does not list the model in describe_schema for a principal who cannot resolve its scope', async () => {
    const d = await h.toolset.describeSchema(as({ tenantId: TENANT_A }))
    expect(Object.keys(d.models)).toEqual([])
  })
})

describeEachDatabase('row policies', (db) => {
  const shared: PolicyInput = {
    models: {
      Customer: {
        table: 'customers',
        unscopedColumns: ['org_id'],
        fields: { id: 'allow', tenant_id: 'allow', is_public: 'allow', name: 'allow' },
        rowPolicies: [
          {
            name: 'public_or_own',
            condition: 'is_public = true OR tenant_id = principal.tenantId',
            mode: 'permissive',
          },
        ],
      },
    },
  }
  const hierarchy: PolicyInput = {
    models: {
      Order: scopedOrder(
        { id: 'allow', tenant_id: 'allow' },
        {
          rowPolicies: [
            {
              name: 'ancestors',
              condition: 'tenant_id IN principal.metadata.tenantHierarchy',
              mode: 'permissive',
            },
          ],
        },
      ),
    },
  }
  const bypass: PolicyInput = {
    models: {
      Order: scopedOrder(
        { id: 'allow', tenant_id: 'allow', status: 'allow' },
        {
          rowPolicies: [
            { name: 'tenant_required', condition: 'tenant_id IS NOT NULL', mode: 'restrictive' },
            { name: 'admin_bypass', condition: "'super_admin' IN principal.roles", bypass: true },
          ],
          budget: { broadQueryGuard: false },
        },
      ),
    },
  }
  let sharedH: ToolsetHarness
  let hierarchyH: ToolsetHarness
  let bypassH: ToolsetHarness
  beforeAll(async () => {
    sharedH = await toolsetFor(db(), shared)
    hierarchyH = await toolsetFor(db(), hierarchy)
    bypassH = await toolsetFor(db(), bypass)
  })

  it("returns A's rows plus B's public rows only for public-or-owned", async () => {
    const r = await sharedH.toolset.query(as(ALICE), { model: 'Customer' })
    const foreign = r.rows.filter((row) => row['tenant_id'] !== TENANT_A)
    expect(ids(foreign)).toEqual([CUSTOMER_B_PUBLIC])
    expect(r.rows.filter((row) => row['tenant_id'] === TENANT_A)).toHaveLength(4)
    expect(foreign.every((row) => row['is_public'] === true)).toBe(true)
  })

  it("still lets the other tenant see A's public row but not its private ones", async () => {
    const r = await sharedH.toolset.query(as(BOB), {
      model: 'Customer',
      where: { field: 'tenant_id', op: 'eq', value: TENANT_A },
    })
    expect(ids(r.rows)).toEqual([CUSTOMER_A_PUBLIC])
  })

  it("returns the ancestors' rows and not the siblings' for a hierarchy", async () => {
    const r = await hierarchyH.toolset.query(as(ERIN), { model: 'Order', limit: 100 })
    expect(tenants(r.rows)).toEqual([TENANT_A, TENANT_A1].sort())
    expect(r.rows.some((row) => row['tenant_id'] === TENANT_A2)).toBe(false)
  })

  it('lets a super admin see every tenant and records the bypass in the audit', async () => {
    const r = await bypassH.toolset.query(as(SUPER, 'bypass-1'), { model: 'Order', limit: 100 })
    expect(tenants(r.rows)).toEqual([TENANT_A, TENANT_A1, TENANT_A2, TENANT_B].sort())
    const record = (await bypassH.audit.query({})).find((a) => a.requestId === 'bypass-1')
    expect(record?.bypass).toBe('Order.admin_bypass')
  })

  it('leaves a non-admin unaffected by the bypass rule', async () => {
    const r = await bypassH.toolset.query(as(BOB), { model: 'Order', limit: 100 })
    expect(tenants(r.rows)).toEqual([TENANT_B])
    const record = (await bypassH.audit.query({ tenantId: TENANT_B })).at(0)
    expect(record?.bypass).toBeNull()
  })

  it('hides null-tenant rows through the restrictive rule even under bypass', async () => {
    const r = await bypassH.toolset.query(as(SUPER), { model: 'Order', limit: 100 })
    expect(r.rows.some((row) => row['id'] === ORDER_NO_TENANT)).toBe(false)
    const get = await bypassH.toolset.call(as(SUPER), 'db_get', { model: 'Order', id: ORDER_NO_TENANT })
    expect(get).toEqual({ ok: false, error: expect.objectContaining({ code: 'NOT_FOUND' }) })
  })
})
