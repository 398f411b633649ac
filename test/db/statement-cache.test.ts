import fc from 'fast-check'
import { CamelCasePlugin, type CompiledQuery, type Kysely } from 'kysely'
import { beforeAll, expect, it } from 'vitest'
import type { Principal } from '../../src/context/index.ts'
import { printGet, printQuery } from '../../src/sql/print-select.ts'
import { printAggregate } from '../../src/sql/print-aggregate.ts'
import { compileAggregate, compileGet, compileQuery } from '../../src/sql/statement-cache.ts'
import { isPrintedStatement } from '../../src/sql/printed-statement.ts'
import { bindReadTemplate, readTemplateOf } from '../../src/sql/read-template.ts'
import { planAggregate, planGet, planQuery } from '../../src/planner/plan-read.ts'
import type { QueryPlan } from '../../src/planner/query-plan.ts'
import { parseRequest } from '../../src/request/request-schema.ts'
import type { PolicyInput } from '../../src/policy/policy-schema.ts'
import type { BoundPolicy } from '../../src/policy/types.ts'
import { describeEachDatabase } from '../support/databases.ts'
import { ALICE, ANDY, BOB, ERIN, ORDER_A1, ORDER_B1, SUPER, TEST_SECRET } from '../support/saas.ts'
import { toolsetFor } from '../support/toolset.ts'
import { ORDER_READ_FIELDS, scopedOrder } from '../support/scoped-order.ts'

const policy: PolicyInput = {
  models: {
    Order: scopedOrder(ORDER_READ_FIELDS, {
      relations: { customer: { model: 'Customer' }, items: { model: 'OrderItem' } },
      aggregations: { fields: ['total', 'created_at'], groupBy: ['status', 'customer_id'] },
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

/** Row policies (permissive, restrictive, bypass): plans whose SQL reads the principal at build time. */
const rowPolicyPolicy: PolicyInput = {
  models: {
    Customer: {
      table: 'customers',
      unscopedColumns: ['org_id'],
      fields: { id: 'allow', tenant_id: 'allow', name: 'allow', is_public: 'allow' },
      rowPolicies: [
        { name: 'own_tenant', condition: 'tenant_id = principal.tenantId', mode: 'permissive' },
        { name: 'public', condition: 'is_public = true', mode: 'permissive', crossTenant: true },
        { name: 'named', condition: 'name IS NOT NULL', mode: 'restrictive' },
        { name: 'support', condition: "'super_admin' IN principal.roles", bypass: true },
      ],
    },
  },
}

/**
 * Row policies holding literals (a value, a literal list, beside a principal-only part), in two policies
 * that differ in nothing but those literals: the template keeps literals as fixed parameters, so the literals
 * must be part of its key, or one policy's statement would be bound for the other on the same database.
 */
function literalPolicy(isPublic: 'true' | 'false', statuses: string): PolicyInput {
  return {
    models: {
      Customer: {
        table: 'customers',
        unscopedColumns: ['org_id'],
        fields: { id: 'allow', tenant_id: 'allow', name: 'allow', is_public: 'allow' },
        rowPolicies: [
          { name: 'own_tenant', condition: 'tenant_id = principal.tenantId', mode: 'permissive' },
          { name: 'public', condition: `is_public = ${isPublic}`, mode: 'permissive', crossTenant: true },
        ],
      },
      Order: scopedOrder(
        { id: 'allow', tenant_id: 'allow', status: 'allow', total: 'allow' },
        {
          rowPolicies: [
            {
              name: 'statuses',
              condition: `status IN (${statuses}) OR 'admin' IN principal.roles`,
              mode: 'restrictive',
            },
          ],
        },
      ),
    },
  }
}

/** `plan` with every literal of its root's row policies mapped by `change`, and nothing else new. */
function withLiterals(plan: QueryPlan, change: (value: unknown) => unknown): QueryPlan {
  const map = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(map)
    if (typeof node !== 'object' || node === null) return node
    const record = node as Record<string, unknown>
    if (record['kind'] === 'literal') return { ...record, value: change(record['value']) }
    return Object.fromEntries(Object.entries(record).map(([k, v]) => [k, map(v)]))
  }
  const v = plan.root.visibility
  const visibility = { ...v, permissive: map(v.permissive), restrictive: map(v.restrictive) }
  return { ...plan, root: { ...plan.root, visibility } } as QueryPlan
}

const queries: readonly unknown[] = [
  { model: 'Order' },
  { model: 'Order', select: ['id', 'status'], limit: 3 },
  { model: 'Order', orderBy: [{ field: 'created_at', direction: 'desc' }, 'status'], limit: 7 },
  { model: 'Order', where: { field: 'status', op: 'eq', value: 'paid' } },
  { model: 'Order', where: { field: 'status', op: 'eq', value: 'pending' } },
  { model: 'Order', where: { field: 'total', op: 'between', value: [10, 500] } },
  { model: 'Order', where: { field: 'status', op: 'in', value: ['paid', 'shipped', 'x'] } },
  { model: 'Order', where: { field: 'status', op: 'not_in', value: ['paid'] } },
  { model: 'Order', where: { field: 'customer_id', op: 'is_null', value: true } },
  { model: 'Order', where: { field: 'customer_id', op: 'is_null', value: false } },
  {
    model: 'Order',
    where: {
      not: {
        or: [
          { field: 'total', op: 'gt', value: 5 },
          { field: 'total', op: 'lte', value: '1.5' },
        ],
      },
    },
  },
  {
    model: 'Order',
    where: [
      { field: 'created_at', op: 'gte', value: '2026-01-01T00:00:00Z' },
      { field: 'id', op: 'ne', value: ORDER_A1 },
    ],
  },
  { model: 'Order', where: { and: [] } },
  { model: 'Order', where: { or: [] } },
  { model: 'Order', where: { field: 'status', op: 'contains', value: 'a%_\\' } },
  { model: 'Order', where: { field: 'status', op: 'startswith', value: 'pa' } },
  {
    model: 'Order',
    include: { customer: true, items: { where: { field: 'quantity', op: 'gt', value: 1 }, limit: 2 } },
  },
  {
    model: 'Order',
    include: { customer: { select: ['name', 'email', 'ssn'], include: { orders: { limit: 4 } } } },
  },
  {
    model: 'Customer',
    where: { field: 'is_public', op: 'eq', value: true },
    include: { orders: { orderBy: ['total'] } },
  },
]

const gets: readonly unknown[] = [
  { model: 'Order', id: ORDER_A1 },
  { model: 'Order', id: ORDER_B1, select: ['status'] },
  { model: 'Order', id: ORDER_A1, include: { customer: true, items: { limit: 3 } } },
]

const principals: readonly Principal[] = [ALICE, ANDY, BOB, ERIN]

function expectSameQuery(db: Kysely<any>, plan: QueryPlan): void {
  const direct = printQuery(db, plan).compile()
  const cached = compileQuery(db, plan)
  expect(cached.sql).toBe(direct.sql)
  expect(cached.parameters).toEqual(direct.parameters)
}

describeEachDatabase('compiled statement templates for reads', (db) => {
  let bound: BoundPolicy
  let rowPolicies: BoundPolicy
  let literalsA: BoundPolicy
  let literalsB: BoundPolicy
  beforeAll(async () => {
    bound = (await toolsetFor(db(), policy)).toolset.bound
    rowPolicies = (await toolsetFor(db(), rowPolicyPolicy)).toolset.bound
    literalsA = (await toolsetFor(db(), literalPolicy('true', "'paid', 'shipped'"))).toolset.bound
    literalsB = (await toolsetFor(db(), literalPolicy('false', "'pending'"))).toolset.bound
  })

  it('templates row policies holding literals, keeping each policy its own literals on one database', () => {
    const requests = [
      { model: 'Customer', select: ['id', 'name'] },
      { model: 'Order', where: { field: 'total', op: 'gt', value: 1 }, limit: 5 },
    ]
    const member: Principal = { ...ALICE, roles: ['member'], metadata: { orgId: 'main' } }
    for (const args of requests) {
      const plan = (policy: BoundPolicy, principal: Principal) =>
        planQuery(policy, principal, parseRequest('query', args), { cursorKey: TEST_SECRET })
      // Alternating the two policies (and principals) on one database: each call as a direct build gives.
      const seen = new Map<BoundPolicy, unknown>()
      for (const [policy, principal] of [
        [literalsA, member],
        [literalsB, member],
        [literalsA, BOB],
        [literalsB, ALICE],
        [literalsA, member],
      ] as const) {
        const p = plan(policy, principal)
        expectSameQuery(db().app, p)
        const statement = compileQuery(db().app, p)
        // Templated: the same compiled node for each call of the shape, not a fresh build; the fast path too.
        expect(compileQuery(db().app, p).query).toBe(statement.query)
        expect(readTemplateOf(db().app, p)?.template.query).toBe(statement.query)
        seen.set(policy, statement.parameters)
      }
      expect(seen.get(literalsA)).not.toEqual(seen.get(literalsB))
    }
    const a = compileQuery(
      db().app,
      planQuery(literalsA, member, parseRequest('query', requests[0]), { cursorKey: TEST_SECRET }),
    )
    expect(a.parameters).toContain(true)
    const b = compileQuery(
      db().app,
      planQuery(literalsB, member, parseRequest('query', requests[0]), { cursorKey: TEST_SECRET }),
    )
    expect(b.parameters).toContain(false)
    // The same plan with only its literals changed (every other part the very same objects, so nothing but
    // the literals tells the two shapes apart): each binds its own, on first use and on reuse.
    for (const request of requests) {
      const original = planQuery(literalsA, member, parseRequest('query', request), {
        cursorKey: TEST_SECRET,
      })
      const swapped = withLiterals(original, (v) =>
        v === true ? false : typeof v === 'string' ? `${v}-x` : v,
      )
      for (const p of [original, swapped, original, swapped]) {
        expectSameQuery(db().app, p)
        expectSameQuery(db().app, p)
      }
    }
    const order = compileQuery(
      db().app,
      planQuery(literalsA, member, parseRequest('query', requests[1]), { cursorKey: TEST_SECRET }),
    )
    expect(order.parameters).toContainEqual(['paid', 'shipped'])
  })

  it('compiles exactly what a direct build compiles, on first use and on reuse with other values', () => {
    for (let pass = 0; pass < 2; pass++) {
      for (const principal of principals) {
        for (const args of queries) {
          expectSameQuery(
            db().app,
            planQuery(bound, principal, parseRequest('query', args), { cursorKey: TEST_SECRET }),
          )
        }
        for (const args of gets) {
          const plan = planGet(bound, principal, parseRequest('get', args))
          const direct = printGet(db().app, plan).compile()
          const cached = compileGet(db().app, plan)
          expect(cached.sql).toBe(direct.sql)
          expect(cached.parameters).toEqual(direct.parameters)
        }
      }
    }
  })

  it('compiles aggregates from the shape cache exactly as a direct build does, with the group limit as a literal', () => {
    const aggregates: readonly unknown[] = [
      { model: 'Order', op: 'count' },
      { model: 'Order', op: 'count', where: { field: 'status', op: 'eq', value: 'paid' } },
      { model: 'Order', op: 'count', where: { field: 'status', op: 'eq', value: 'shipped' } },
      { model: 'Order', op: 'count', field: 'total', where: { field: 'total', op: 'gt', value: 5 } },
      { model: 'Order', op: 'sum', field: 'total', groupBy: ['status'] },
      { model: 'Order', op: 'max', field: 'created_at', groupBy: ['status', 'customer_id'] },
      { model: 'Order', op: 'min', field: 'total', where: { field: 'status', op: 'in', value: ['a', 'b'] } },
      { model: 'Order', op: 'avg', field: 'total', where: { field: 'status', op: 'contains', value: 'ai' } },
      { model: 'Customer', op: 'count', where: { field: 'is_public', op: 'eq', value: true } },
    ]
    for (let pass = 0; pass < 2; pass++) {
      for (const principal of principals) {
        for (const args of aggregates) {
          const plan = planAggregate(bound, principal, parseRequest('aggregate', args))
          const direct = printAggregate(db().app, plan).compile()
          const cached = compileAggregate(db().app, plan)
          expect(cached.sql).toBe(direct.sql)
          expect(cached.parameters).toEqual(direct.parameters)
          // The read fast path templates them too (counts and groupBy alike), all but the pattern filter.
          const template = readTemplateOf(db().app, plan)
          expect(template === undefined).toBe(JSON.stringify(args).includes('contains'))
          if (template !== undefined) {
            const statement = bindReadTemplate(template, db().app, plan)
            expect(statement?.sql).toBe(direct.sql)
            expect(statement?.parameters).toEqual(direct.parameters)
          }
        }
      }
      for (const principal of [ALICE, BOB, SUPER, ERIN]) {
        const plan = planAggregate(
          rowPolicies,
          principal,
          parseRequest('aggregate', { model: 'Customer', op: 'count' }),
        )
        expect(compileAggregate(db().app, plan).sql).toBe(printAggregate(db().app, plan).compile().sql)
        expect(compileAggregate(db().app, plan).parameters).toEqual(
          printAggregate(db().app, plan).compile().parameters,
        )
      }
    }
    const count = (principal: Principal, value: string) =>
      compileAggregate(
        db().app,
        planAggregate(
          bound,
          principal,
          parseRequest('aggregate', {
            model: 'Order',
            op: 'count',
            where: { field: 'status', op: 'eq', value },
          }),
        ),
      )
    // Calls that differ in bound values share one template.
    expect(count(BOB, 'paid').query).toBe(count(ALICE, 'pending').query)
    const grouped = compileAggregate(
      db().app,
      planAggregate(
        bound,
        ALICE,
        parseRequest('aggregate', { model: 'Order', op: 'count', groupBy: ['status'] }),
      ),
    )
    expect(grouped.sql).toMatch(/ limit \d+\) as "b"\) as "r" where /)
    expect(grouped.parameters).toEqual([ALICE.tenantId])
  })

  it('keeps NULL and non-NULL cursor keys apart', () => {
    const base = planQuery(
      bound,
      ALICE,
      parseRequest('query', { model: 'Order', orderBy: ['customer_id', 'status'] }),
      {
        cursorKey: TEST_SECRET,
      },
    )
    const afters: (string | null)[][] = [
      ['c1', 'paid', ORDER_A1],
      [null, 'paid', ORDER_A1],
      ['c2', null, ORDER_A1],
      [null, null, ORDER_B1],
      ['c3', 'shipped', ORDER_B1],
    ]
    for (const after of [...afters, ...afters]) expectSameQuery(db().app, { ...base, after })
    // Later pages of one query share a template as long as the same keys are NULL.
    expect(compileQuery(db().app, { ...base, after: afters[0]! }).query).toBe(
      compileQuery(db().app, { ...base, after: afters[4]! }).query,
    )
  })

  it('reuses one compiled template for calls that differ only in bound values', () => {
    const args = { model: 'Order', where: { field: 'total', op: 'gt', value: 1 }, limit: 5 }
    const first = compileQuery(
      db().app,
      planQuery(bound, ALICE, parseRequest('query', args), { cursorKey: TEST_SECRET }),
    )
    const second = compileQuery(
      db().app,
      planQuery(bound, BOB, parseRequest('query', { ...args, where: { ...args.where, value: 99 } }), {
        cursorKey: TEST_SECRET,
      }),
    )
    expect(second.query).toBe(first.query)
    expect(second.sql).toBe(first.sql)
    expect(second.parameters).not.toEqual(first.parameters)
    expect(second.parameters).toContain(BOB.tenantId)
    expect(second.parameters).not.toContain(ALICE.tenantId)
  })

  it('marks each statement made from a template as printed, and lets nobody make another from one', () => {
    const args = { model: 'Order', where: { field: 'total', op: 'gt', value: 1 }, limit: 5 }
    const plan = () => planQuery(bound, ALICE, parseRequest('query', args), { cursorKey: TEST_SECRET })
    compileQuery(db().app, plan())
    const statement = compileQuery(db().app, plan())
    expect(isPrintedStatement(statement)).toBe(true)
    expect(Object.isFrozen(statement)).toBe(true)
    // A copy is not printed, whatever it holds.
    expect(isPrintedStatement({ ...statement, sql: 'select 1' })).toBe(false)
    expect(isPrintedStatement(Object.create(Object.getPrototypeOf(statement) as object))).toBe(false)
    // The class is reachable from the statement, but it prints nothing for anyone else.
    const Statement = (statement as object).constructor as new (...a: unknown[]) => CompiledQuery
    expect(
      () =>
        new Statement(
          Symbol('printed template statement'),
          statement.query,
          statement.queryId,
          'select 1',
          [],
        ),
    ).toThrow(TypeError)
  })

  it('writes the row limit into the statement, so each page size is its own statement', () => {
    const args = { model: 'Order', where: { field: 'total', op: 'gt', value: 1 } }
    const plan = (limit: number) =>
      planQuery(bound, ALICE, parseRequest('query', { ...args, limit }), { cursorKey: TEST_SECRET })
    const five = compileQuery(db().app, plan(5))
    const nine = compileQuery(db().app, plan(9))
    expect(five.sql).toMatch(/ limit 6\) as "b"\) as "r" where /)
    expect(nine.sql).toMatch(/ limit 10\) as "b"\) as "r" where /)
    expect(five.parameters).not.toContain(6)
    expectSameQuery(db().app, plan(9))
  })

  it('builds plans with LIKE filters afresh on every call, and caches row-policy plans by shape, matching a direct build', () => {
    const like = { model: 'Order', where: { field: 'status', op: 'endswith', value: 'd' } }
    const a = compileQuery(
      db().app,
      planQuery(bound, ALICE, parseRequest('query', like), { cursorKey: TEST_SECRET }),
    )
    const b = compileQuery(
      db().app,
      planQuery(bound, ALICE, parseRequest('query', like), { cursorKey: TEST_SECRET }),
    )
    expect(b.query).not.toBe(a.query)
    // Row policies are bound into the plan (claims, no principal), so their plans are cached by shape too.
    let reused = 0
    for (const principal of [ALICE, BOB, SUPER, ERIN, ALICE]) {
      const plan = planQuery(rowPolicies, principal, parseRequest('query', { model: 'Customer' }), {
        cursorKey: TEST_SECRET,
      })
      expectSameQuery(db().app, plan)
      if (compileQuery(db().app, plan).query === compileQuery(db().app, plan).query) reused++
    }
    expect(reused).toBeGreaterThan(0)
  })

  it('compiles through the plugins of a database that has some', () => {
    const camel = db().app.withPlugin(new CamelCasePlugin())
    for (const principal of [ALICE, BOB]) {
      const plan = planQuery(bound, principal, parseRequest('query', { model: 'Order', limit: 2 }), {
        cursorKey: TEST_SECRET,
      })
      const direct = printQuery(camel, plan).compile()
      const cached = compileQuery(camel, plan)
      expect(cached.sql).toBe(direct.sql)
      expect(cached.parameters).toEqual(direct.parameters)
      expect(cached.query).not.toBe(compileQuery(camel, plan).query)
    }
  })

  it('matches a direct build for generated filters, includes and principals', () => {
    const uuid = fc.constantFrom(ORDER_A1, ORDER_B1, '00000000-0000-4000-8000-000000000000')
    const status = fc.constantFrom('paid', 'pending', 'shipped', '', "o'hara", 'a%b')
    const total = fc.oneof(fc.integer({ min: -1000, max: 1000 }), fc.constantFrom('12.50', '0.01'))
    const time = fc.constantFrom('2026-01-01T00:00:00Z', '2025-06-30T12:00:00+02:00')
    const comparison = fc.oneof(
      fc.record({
        field: fc.constant('status'),
        op: fc.constantFrom('eq', 'ne', 'lt', 'gte'),
        value: status,
      }),
      fc.record({
        field: fc.constant('status'),
        op: fc.constantFrom('in', 'not_in'),
        value: fc.array(status, { maxLength: 4 }),
      }),
      fc.record({
        field: fc.constant('status'),
        op: fc.constantFrom('contains', 'startswith'),
        value: status,
      }),
      fc.record({ field: fc.constant('total'), op: fc.constantFrom('eq', 'lt', 'lte', 'gt'), value: total }),
      fc.record({ field: fc.constant('total'), op: fc.constant('between'), value: fc.tuple(total, total) }),
      fc.record({ field: fc.constant('created_at'), op: fc.constantFrom('lt', 'gte', 'eq'), value: time }),
      fc.record({
        field: fc.constantFrom('id', 'customer_id'),
        op: fc.constantFrom('eq', 'ne', 'in'),
        value: fc.oneof(uuid, fc.array(uuid, { maxLength: 3 })),
      }),
      fc.record({
        field: fc.constantFrom('customer_id', 'status'),
        op: fc.constant('is_null'),
        value: fc.boolean(),
      }),
    )
    const filter = fc.letrec<{ node: unknown }>((tie) => ({
      node: fc.oneof(
        { depthSize: 'small', withCrossShrink: true },
        comparison,
        fc.record({ and: fc.array(tie('node'), { maxLength: 3 }) }),
        fc.record({ or: fc.array(tie('node'), { maxLength: 3 }) }),
        fc.record({ not: tie('node') }),
      ),
    })).node
    const request = fc.record(
      {
        model: fc.constant('Order'),
        where: filter,
        limit: fc.integer({ min: 1, max: 100 }),
        orderBy: fc.constantFrom(
          ['status'],
          [{ field: 'total', direction: 'desc' }],
          ['created_at', 'status'],
        ),
        include: fc.constantFrom(
          { customer: true },
          { items: { where: { field: 'quantity', op: 'lt', value: 3 } } },
        ),
      },
      { requiredKeys: ['model'] },
    )
    let planned = 0
    let templated = 0
    fc.assert(
      fc.property(request, fc.constantFrom(...principals), (args, principal) => {
        let plan: QueryPlan
        try {
          plan = planQuery(bound, principal, parseRequest('query', args), { cursorKey: TEST_SECRET })
        } catch {
          return // a request the planner refuses never reaches compilation
        }
        planned += 1
        expectSameQuery(db().app, plan)
        expectSameQuery(db().app, plan)
        // The read fast path: the values gathered by the probe's walk without a copy bind the same statement.
        const template = readTemplateOf(db().app, plan)
        if (template === undefined) return
        templated += 1
        const direct = printQuery(db().app, plan).compile()
        const statement = bindReadTemplate(template, db().app, plan)
        expect(statement?.sql).toBe(direct.sql)
        expect(statement?.parameters).toEqual(direct.parameters)
      }),
      { numRuns: 300 },
    )
    expect(planned).toBeGreaterThan(150)
    expect(templated).toBeGreaterThan(100)
  })
})
