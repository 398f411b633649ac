/**
 * Second red-team pass, describe_schema and tools(ctx) against the planner, for principals that lack (or carry
 * a wrong shape of) values only some models need: a model, relation or operation is offered exactly when a
 * call to it can be planned, and a call to anything not offered fails closed before any SQL.
 */
import { beforeAll, expect, it } from 'vitest'
import type { Principal } from '../../src/context/index.ts'
import type { PolicyInput } from '../../src/policy/policy-schema.ts'
import { describeEachDatabase } from '../support/databases.ts'
import { ALICE, as, CUSTOMER_A1, LIVE_ORDERS_A, ORDER_A1, TENANT_A } from '../support/saas.ts'
import { type ToolsetHarness, toolsetFor } from '../support/toolset.ts'
import { countRows } from '../support/write-helpers.ts'
import { includeRelations } from '../support/tool-schema.ts'
import { scopedOrder } from '../support/scoped-order.ts'

const policy: PolicyInput = {
  models: {
    Order: scopedOrder(
      { id: 'allow', status: 'allow', total: 'allow', customer_id: 'allow' },
      {
        relations: { customer: { model: 'Customer' } },
        write: {
          create: 'allow',
          update: 'allow',
          autoSet: { tenant_id: 'principal.tenantId', created_by: 'principal.userId' },
          softDelete: { field: 'deleted_at' },
        },
      },
    ),
    Customer: {
      table: 'customers',
      fields: { id: 'allow', name: 'allow' },
      scoping: { tenant_id: 'principal.tenantId', org_id: 'principal.metadata.orgId' },
      write: {
        create: 'allow',
        autoSet: { tenant_id: 'principal.tenantId', org_id: 'principal.metadata.orgId' },
      },
    },
    FamilyOrder: {
      table: 'orders',
      unscopedColumns: ['org_id'],
      fields: { id: 'allow', tenant_id: 'allow', status: 'allow' },
      rowPolicies: [
        { name: 'family', condition: 'tenant_id IN principal.metadata.tenantHierarchy', mode: 'permissive' },
      ],
      write: { softDelete: { field: 'deleted_at' } },
    },
  },
}

const NO_USER: Principal = { tenantId: TENANT_A }
const WRONG_SHAPES: Principal = {
  tenantId: TENANT_A,
  userId: 'not-a-uuid',
  metadata: { orgId: ['main'], tenantHierarchy: TENANT_A },
}
const EMPTY_FAMILY: Principal = { tenantId: TENANT_A, metadata: { tenantHierarchy: [] } }

describeEachDatabase('red team (2nd pass): describe_schema and tools(ctx) agree with the planner', (db) => {
  let h: ToolsetHarness
  beforeAll(async () => {
    h = await toolsetFor(db(), policy)
  })

  function toolNames(principal: Principal): string[] {
    return h.toolset.tools(as(principal)).map((t) => t.name)
  }

  function modelEnum(principal: Principal, tool: string): unknown {
    const def = h.toolset.tools(as(principal)).find((t) => t.name === tool)
    return (def?.inputSchema['properties'] as Record<string, { enum?: unknown }> | undefined)?.['model']?.enum
  }

  it('offers create to a principal that has every value create sets, on every model it can fill', async () => {
    const described = await h.toolset.describeSchema(as(ALICE))
    expect(described.models['Order']?.operations).toEqual(['query', 'get', 'aggregate', 'create', 'update'])
    expect(described.models['Customer']?.operations).toEqual(['query', 'get', 'aggregate', 'create'])
    expect(modelEnum(ALICE, 'db_create')).toEqual(['Customer', 'Order'])
    const query = h.toolset.tools(as(ALICE)).find((t) => t.name === 'db_query')
    expect(includeRelations(query, 'Order')).toEqual(['customer'])
  })

  it.each<[string, Principal]>([
    ['no userId', NO_USER],
    ['a userId that is no uuid', WRONG_SHAPES],
  ])(
    'withholds create from a principal with %s, and a create call still fails closed',
    async (_name, principal) => {
      const described = await h.toolset.describeSchema(as(principal))
      expect(described.models['Order']?.operations).toEqual(['query', 'get', 'aggregate', 'update'])
      expect(toolNames(principal)).not.toContain('db_create')
      expect(modelEnum(principal, 'db_update')).toEqual(['Order'])
      const before = await countRows(db(), 'orders')
      h.queries.length = 0
      const r = await h.toolset.call(as(principal), 'db_create', { model: 'Order', data: { status: 'x' } })
      expect(r).toMatchObject({ ok: false, error: { code: 'TENANT_SCOPE_REQUIRED' } })
      expect(h.queries).toEqual([])
      expect(await countRows(db(), 'orders')).toBe(before)
    },
  )

  it.each<[string, Principal]>([
    ['no metadata', NO_USER],
    ['metadata of the wrong shapes', WRONG_SHAPES],
  ])(
    'leaves out the models and relations a principal with %s cannot use, and refuses them before SQL',
    async (_name, principal) => {
      const described = await h.toolset.describeSchema(as(principal))
      expect(Object.keys(described.models)).toEqual(['Order'])
      expect(described.models['Order']?.relations).toEqual({})
      expect(await h.toolset.describeSchema(as(principal), { model: 'Customer' })).toEqual({ models: {} })
      expect(modelEnum(principal, 'db_query')).toEqual(['Order'])
      const query = h.toolset.tools(as(principal)).find((t) => t.name === 'db_query')
      expect(includeRelations(query, 'Order')).toEqual([])
      h.queries.length = 0
      const calls = [
        ['db_query', { model: 'Customer' }],
        ['db_get', { model: 'Customer', id: CUSTOMER_A1 }],
        ['db_aggregate', { model: 'Customer', op: 'count' }],
        ['db_query', { model: 'FamilyOrder' }],
        ['db_get', { model: 'Order', id: ORDER_A1, include: { customer: true } }],
        ['db_create', { model: 'Customer', data: { name: 'x' } }],
      ] as const
      for (const [tool, args] of calls) {
        const r = await h.toolset.call(as(principal), tool, args)
        expect(r, `${tool} ${JSON.stringify(args)}`).toMatchObject({
          ok: false,
          error: { code: 'TENANT_SCOPE_REQUIRED' },
        })
      }
      expect(h.queries).toEqual([])
      // What it may use still works.
      const own = await h.toolset.aggregate(as(principal), { model: 'Order', op: 'count' })
      expect(own).toEqual({ value: LIVE_ORDERS_A.length })
    },
  )

  it('lets an empty hierarchy see nothing through a permissive IN rule, without an error', async () => {
    expect(Object.keys((await h.toolset.describeSchema(as(EMPTY_FAMILY))).models)).toContain('FamilyOrder')
    const rows = await h.toolset.query(as(EMPTY_FAMILY), { model: 'FamilyOrder' })
    expect(rows).toEqual({ rows: [], nextCursor: null, hasMore: false })
    expect(await h.toolset.aggregate(as(EMPTY_FAMILY), { model: 'FamilyOrder', op: 'count' })).toEqual({
      value: 0,
    })
  })
})
