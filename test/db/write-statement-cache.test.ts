import { CamelCasePlugin } from 'kysely'
import { beforeAll, expect, it } from 'vitest'
import type { Principal } from '../../src/context/index.ts'
import { planWrite } from '../../src/planner/plan-write.ts'
import type { CreatePlan, UpdatePlan } from '../../src/planner/write-plan.ts'
import type { PolicyInput } from '../../src/policy/policy-schema.ts'
import type { BoundPolicy } from '../../src/policy/types.ts'
import { parseWriteRequest, type WriteKind } from '../../src/request/index.ts'
import {
  printCheckedInsert,
  printLockedUpdate,
  type ReferenceValuesShape,
} from '../../src/sql/print-write.ts'
import { compileCheckedInsert, compileLockedUpdate } from '../../src/sql/write-statement-cache.ts'
import { describeEachDatabase } from '../support/databases.ts'
import { CREATABLE_ORDER_ITEM } from '../support/write-helpers.ts'
import {
  ALICE,
  ANDY,
  BOB,
  CUSTOMER_A1,
  CUSTOMER_A2,
  ERIN,
  ORDER_A1,
  ORDER_A2,
  ORDER_B1,
  SUPER,
} from '../support/saas.ts'
import { toolsetFor } from '../support/toolset.ts'
import { scopedOrder } from '../support/scoped-order.ts'

const policy: PolicyInput = {
  models: {
    Order: scopedOrder(
      { id: 'allow', tenant_id: 'allow', customer_id: 'allow', status: 'allow', total: 'allow' },
      {
        rowPolicies: [{ name: 'not_archived', condition: "status != 'archived'", mode: 'restrictive' }],
        write: {
          create: 'allow',
          update: 'allow',
          autoSet: { tenant_id: 'principal.tenantId', created_at: 'now()' },
          immutableFields: ['tenant_id'],
          maxAffectedRows: 5,
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
        is_public: 'allow',
      },
      rowPolicies: [
        { name: 'own_tenant', condition: 'tenant_id = principal.tenantId', mode: 'permissive' },
        { name: 'public', condition: 'is_public = true', mode: 'permissive', crossTenant: true },
        { name: 'named', condition: 'name IS NOT NULL', mode: 'restrictive' },
        { name: 'support', condition: "'super_admin' IN principal.roles", bypass: true },
      ],
      write: { create: 'allow', update: 'allow', autoSet: { tenant_id: 'principal.tenantId' } },
    },
    Product: { table: 'products', shared: true, fields: { id: 'allow', name: 'allow' } },
    OrderItem: CREATABLE_ORDER_ITEM,
  },
}

const creates: readonly unknown[] = [
  { model: 'Order', data: { status: 'pending', total: '12.50', customer_id: CUSTOMER_A1 } },
  { model: 'Order', data: { status: 'paid', total: 3, customer_id: CUSTOMER_A2 } },
  { model: 'Order', data: { status: 'pending' } },
  { model: 'Order', data: { status: 'pending', customer_id: null } },
  { model: 'OrderItem', data: { order_id: ORDER_A1, product_id: 7, quantity: 1, unit_price: 1 } },
  { model: 'OrderItem', data: { order_id: ORDER_B1, product_id: null, quantity: 2, unit_price: '2.5' } },
  { model: 'Customer', data: { name: "Hostile $1 '; drop table x --", is_public: true } },
]

const updates: readonly [WriteKind, unknown][] = [
  ['update', { model: 'Order', id: ORDER_A1, data: { total: '9.99' } }],
  ['update', { model: 'Order', id: ORDER_A2, data: { status: 'shipped', total: 1 } }],
  ['update', { model: 'Customer', id: CUSTOMER_A1, data: { name: 'Renamed' } }],
  ['bulkUpdate', { model: 'Order', ids: [ORDER_A1, ORDER_A2], data: { status: 'paid' } }],
  ['bulkUpdate', { model: 'Order', ids: [ORDER_A1], data: { status: 'paid' } }],
]

const principals: readonly Principal[] = [ALICE, ANDY, BOB, ERIN, SUPER]

/** The references a create checks: every foreign key with a non-null key and a model to see it through. */
function referencesOf(plan: CreatePlan): ReferenceValuesShape[] {
  return plan.foreignKeys
    .map((fk) => ({ fk, values: fk.columns.map((c) => plan.knownRow[c] ?? null) }))
    .filter((r) => r.fk.targets.length > 0 && r.values.every((v) => v !== null))
}

describeEachDatabase('compiled statement templates for writes', (db) => {
  let bound: BoundPolicy
  beforeAll(async () => {
    bound = (await toolsetFor(db(), policy)).toolset.bound
  })

  const createPlan = (principal: Principal, args: unknown) =>
    planWrite(bound, principal, parseWriteRequest('create', args)) as CreatePlan
  const updatePlan = (principal: Principal, kind: WriteKind, args: unknown) =>
    planWrite(bound, principal, parseWriteRequest(kind, args)) as UpdatePlan

  it('compiles exactly what printing each write directly compiles, on first use and on reuse', () => {
    // The query node of each statement on the second pass (the first prints each shape directly once): on the
    // third, a template is reused (the same node) for every write but the bulk update of two ids, whose keys
    // travel as one array and are printed afresh.
    const firstPass = new Map<string, unknown>()
    for (let pass = 0; pass < 3; pass++) {
      for (const [p, principal] of principals.entries()) {
        for (const [i, args] of creates.entries()) {
          const plan = createPlan(principal, args)
          const refs = referencesOf(plan)
          const direct = printCheckedInsert(plan, refs).compile(db().app)
          const cached = compileCheckedInsert(db().app, plan, refs)
          expect(cached.sql).toBe(direct.sql)
          expect(cached.parameters).toEqual(direct.parameters)
          if (pass === 1) firstPass.set(`${p}c${i}`, cached.query)
          if (pass === 2) expect(cached.query === firstPass.get(`${p}c${i}`)).toBe(true)
        }
        for (const [i, [kind, args]] of updates.entries()) {
          const plan = updatePlan(principal, kind, args)
          const direct = printLockedUpdate(plan, !plan.bulk).compile(db().app)
          const cached = compileLockedUpdate(db().app, plan, !plan.bulk)
          expect(cached.sql).toBe(direct.sql)
          expect(cached.parameters).toEqual(direct.parameters)
          if (pass === 1) firstPass.set(`${p}u${i}`, cached.query)
          if (pass === 2) expect(cached.query === firstPass.get(`${p}u${i}`)).toBe(plan.targets.length === 1)
        }
      }
    }
  })

  it('reuses one template for writes that differ only in their values, tenant included', () => {
    const args = (total: string) => ({
      model: 'Order',
      data: { status: 'pending', total, customer_id: CUSTOMER_A1 },
    })
    const alice = createPlan(ALICE, args('1.00'))
    const bob = createPlan(BOB, args('2.00'))
    const first = compileCheckedInsert(db().app, alice, referencesOf(alice))
    const second = compileCheckedInsert(db().app, bob, referencesOf(bob))
    expect(second.query).toBe(first.query)
    expect(second.sql).toBe(first.sql)
    expect(second.parameters).toContain(BOB.tenantId)
    expect(second.parameters).not.toContain(ALICE.tenantId)
    const update = (principal: Principal, total: string) =>
      compileLockedUpdate(
        db().app,
        updatePlan(principal, 'update', { model: 'Order', id: ORDER_A1, data: { total } }),
        true,
      )
    const u1 = update(ALICE, '1.00')
    const u2 = update(BOB, '2.00')
    expect(u2.query).toBe(u1.query)
    expect(u2.parameters).toContain('2.00')
    expect(u2.parameters).not.toContain('1.00')
  })

  it('keeps an update that aborts on a failed check apart from one that returns the check', () => {
    const plan = updatePlan(ALICE, 'update', { model: 'Order', id: ORDER_A1, data: { total: '1.00' } })
    const aborting = compileLockedUpdate(db().app, plan, true)
    const flagging = compileLockedUpdate(db().app, plan, false)
    expect(aborting.sql).not.toBe(flagging.sql)
    expect(aborting.sql).toContain('else (select false union all select false) end')
    expect(flagging.sql).not.toContain('union all')
    expect(compileLockedUpdate(db().app, plan, true).sql).toBe(aborting.sql)
  })

  it('gives each set of written columns its own statement', () => {
    const withTotal = createPlan(ALICE, { model: 'Order', data: { status: 'x', total: 1 } })
    const without = createPlan(ALICE, { model: 'Order', data: { status: 'x' } })
    const a = compileCheckedInsert(db().app, withTotal, referencesOf(withTotal))
    const b = compileCheckedInsert(db().app, without, referencesOf(without))
    expect(a.sql).not.toBe(b.sql)
    expect(a.sql).toContain('("status", "total", ')
    expect(b.sql).toContain('("status", "tenant_id", ')
  })

  it('compiles through the plugins of a database that has some', () => {
    const camel = db().app.withPlugin(new CamelCasePlugin())
    const plan = createPlan(ALICE, creates[0])
    const refs = referencesOf(plan)
    const direct = printCheckedInsert(plan, refs).compile(camel)
    for (let i = 0; i < 2; i++) {
      const cached = compileCheckedInsert(camel, plan, refs)
      expect(cached.sql).toBe(direct.sql)
      expect(cached.parameters).toEqual(direct.parameters)
    }
  })
})
