/**
 * The read fast path (src/tools/read-shape-cache.ts) held to the uncached path: two toolsets over the same
 * database and policy, one with the per-shape cache and one without (`readShapeCache: false`), get the same
 * random sequences of reads from principals of different tenants, roles and attributes — valid and invalid,
 * with includes, filters of every bound kind, cursors and aggregates — and must answer each call with the same
 * result or error, send the same statements, and write the same audit record. Then targeted cases: principals
 * that differ only in a role or an attribute that a row policy reads, calling one shape one after the other.
 * The row policies hold literals (a value, a literal list), which templates bind as fixed parameters.
 */
import fc from 'fast-check'
import { beforeAll, expect, it } from 'vitest'
import type { Principal } from '../../src/context/index.ts'
import type { PolicyInput } from '../../src/policy/policy-schema.ts'
import type { AuditRecord } from '../../src/stores/index.ts'
import { describeEachDatabase } from '../support/databases.ts'
import {
  ALICE,
  ANDY,
  as,
  BOB,
  CUSTOMER_A1,
  CUSTOMER_A_PUBLIC,
  CUSTOMER_B1,
  ERIN,
  ORDER_A1,
  ORDER_A2,
  ORDER_A4_LABS,
  ORDER_A5_DELETED,
  ORDER_B1,
  SUPER,
  TENANT_A,
} from '../support/saas.ts'
import { suiteEnforcement, type ToolsetHarness, toolsetFor } from '../support/toolset.ts'
import { ORDER_READ_FIELDS, scopedOrder } from '../support/scoped-order.ts'

const policy: PolicyInput = {
  models: {
    Order: scopedOrder(ORDER_READ_FIELDS, {
      rowPolicies: [
        {
          name: 'own_org_unless_admin',
          condition: "'admin' IN principal.roles OR org_id = principal.metadata.orgId",
          mode: 'restrictive',
        },
        { name: 'support', condition: "'super_admin' IN principal.roles", bypass: true },
        // Literals (a value beside a principal-only part): the template binds them as fixed parameters.
        {
          name: 'not_shipped',
          condition: "status <> 'shipped' OR 'admin' IN principal.roles",
          mode: 'restrictive',
        },
      ],
      relations: { customer: { model: 'Customer' }, items: { model: 'OrderItem' } },
      aggregations: { fields: ['total', 'created_at'], groupBy: ['status', 'customer_id'] },
      write: { softDelete: { field: 'deleted_at' } },
      budget: { broadQueryGuard: false },
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
      rowPolicies: [
        { name: 'own_tenant', condition: 'tenant_id = principal.tenantId', mode: 'permissive' },
        { name: 'public', condition: 'is_public = true', mode: 'permissive', crossTenant: true },
        // A literal list: one fixed array parameter.
        { name: 'not_listed', condition: "name NOT IN ('Ken Thompson', 'Alan Turing')", mode: 'restrictive' },
      ],
      relations: { orders: { model: 'Order' } },
    },
    OrderItem: {
      table: 'order_items',
      fields: { id: 'allow', order_id: 'allow', quantity: 'allow', unit_price: 'allow' },
      scoping: { tenant_id: 'principal.tenantId' },
    },
  },
}

/** ALICE with another role, or another org: each differs from her in one thing a row policy reads. */
const ALICE_MEMBER: Principal = { ...ALICE, roles: ['member'] }
const ALICE_LABS: Principal = { ...ALICE, roles: ['member'], metadata: { orgId: 'labs' } }
const ANDY_ADMIN: Principal = { ...ANDY, roles: ['admin', 'member'] }
/** The bypass (with the attribute the restrictive rule reads, which SUPER lacks). */
const SUPPORT: Principal = { ...SUPER, metadata: { orgId: 'main' } }
const PRINCIPALS: readonly Principal[] = [
  ALICE,
  ALICE_MEMBER,
  ALICE_LABS,
  ANDY,
  ANDY_ADMIN,
  BOB,
  ERIN,
  SUPER,
  SUPPORT,
]

const ORDER_IDS = [ORDER_A1, ORDER_A2, ORDER_A4_LABS, ORDER_A5_DELETED, ORDER_B1]
const CUSTOMER_IDS = [CUSTOMER_A1, CUSTOMER_A_PUBLIC, CUSTOMER_B1]

const idValue = mostly(
  fc.constantFrom(...ORDER_IDS, ...CUSTOMER_IDS),
  fc.constantFrom('not-a-uuid', '', 42, -1, 1.5, null, true, ORDER_A1.toUpperCase()),
)

const comparison = fc.oneof(
  fc.record({
    field: fc.constant('status'),
    op: fc.constantFrom('eq', 'ne', 'lt', 'gte'),
    value: fc.constantFrom('paid', 'pending', 'shipped', null, 5, true),
  }),
  fc.record({
    field: fc.constant('total'),
    op: fc.constantFrom('gt', 'lte', 'eq'),
    value: fc.constantFrom(0, 10, 99.5, '12.50', 'abc', null),
  }),
  fc.record({
    field: fc.constant('created_at'),
    op: fc.constantFrom('lt', 'gte'),
    value: fc.constantFrom('2026-01-02T00:00:00Z', '2020-01-01', 'yesterday', 7),
  }),
  fc.record({
    field: fc.constantFrom('id', 'customer_id'),
    op: fc.constantFrom('in', 'not_in'),
    value: fc.oneof(
      fc.subarray([...ORDER_IDS, CUSTOMER_A1, CUSTOMER_B1]),
      fc.constant(['x']),
      fc.constant('notalist'),
    ),
  }),
  fc.record({
    field: fc.constantFrom('customer_id', 'tenant_id'),
    op: fc.constant('is_null'),
    value: fc.constantFrom(true, false, undefined),
  }),
  fc.record({
    field: fc.constant('total'),
    op: fc.constant('between'),
    value: fc.constantFrom([0, 100], [50, '80'], ['a', 'b'], [1]),
  }),
  fc.record({
    field: fc.constantFrom('status', 'nope', 'deleted_at'),
    op: fc.constantFrom('eq', 'startswith'),
    value: fc.constantFrom('pa', 'x'),
  }),
)

const where = fc.oneof(
  comparison,
  fc.array(comparison, { minLength: 0, maxLength: 3 }),
  fc.record({ or: fc.array(comparison, { minLength: 1, maxLength: 2 }) }),
  fc.record({ not: comparison }),
)

/** Mostly valid, sometimes not: a sequence must reach the database often enough to reuse shapes. */
function mostly<T, U>(valid: fc.Arbitrary<T>, invalid: fc.Arbitrary<U>): fc.Arbitrary<T | U> {
  return fc.oneof({ arbitrary: valid, weight: 6 }, { arbitrary: invalid, weight: 1 })
}

const orderSelect = mostly(
  fc.subarray(['id', 'org_id', 'status', 'total', 'created_at', 'customer_id'], { minLength: 1 }),
  fc.constantFrom(['nope'], ['deleted_at'], []),
)
const orderBy = fc.array(
  fc.oneof(
    fc.constantFrom('created_at', 'status', 'total', 'nope'),
    fc.record({ field: fc.constantFrom('created_at', 'id'), direction: fc.constantFrom('asc', 'desc') }),
  ),
  { maxLength: 2 },
)
const include = mostly(
  fc.oneof(
    fc.constant({ customer: true }),
    fc.record({
      customer: fc.record({ select: fc.subarray(['id', 'name', 'email', 'ssn'], { minLength: 1 }) }),
    }),
    fc.record({ items: fc.record({ limit: fc.constantFrom(1, 2) }, { requiredKeys: [] }) }),
  ),
  fc.constantFrom({ nope: true }, { items: { limit: 500 } }, { customer: { limit: 2 } }),
)

type Call =
  | { readonly tool: 'get'; readonly principal: number; readonly args: Record<string, unknown> }
  | { readonly tool: 'query'; readonly principal: number; readonly args: Record<string, unknown> }
  | { readonly tool: 'aggregate'; readonly principal: number; readonly args: Record<string, unknown> }
  /** The next page of an earlier successful query (by index among the run's pages), by the same or another principal. */
  | { readonly tool: 'next'; readonly principal: number; readonly page: number }

const principal = fc.nat({ max: PRINCIPALS.length - 1 })

const call: fc.Arbitrary<Call> = fc.oneof(
  fc.record({
    tool: fc.constant('get' as const),
    principal,
    args: fc.record(
      {
        model: fc.constantFrom('Order', 'Customer'),
        id: idValue,
        select: orderSelect,
        include,
      },
      { requiredKeys: ['model', 'id'] },
    ),
  }),
  fc.record({
    tool: fc.constant('query' as const),
    principal,
    args: fc.record(
      {
        model: fc.constantFrom('Order', 'Order', 'Customer'),
        where,
        orderBy,
        limit: mostly(fc.constantFrom(1, 2, 3, 50), fc.constantFrom(0, 100_000, 2.5)),
        select: orderSelect,
        include,
        cursor: mostly(fc.constant(undefined), fc.constantFrom('abc', 'A'.repeat(80))),
      },
      { requiredKeys: ['model'] },
    ),
  }),
  fc.record({
    tool: fc.constant('aggregate' as const),
    principal,
    args: fc.record(
      {
        model: fc.constantFrom('Order', 'Customer'),
        op: fc.constantFrom('count', 'sum', 'min', 'max'),
        field: fc.constantFrom('total', 'created_at', 'status'),
        where,
        groupBy: fc.constantFrom(['status'], ['customer_id'], ['org_id']),
      },
      { requiredKeys: ['model', 'op'] },
    ),
  }),
  fc.record({ tool: fc.constant('next' as const), principal, page: fc.nat({ max: 20 }) }),
)

/** Which shape each call of a run uses, by whom, and with which id (when the shape has one). */
const sequence = fc.array(
  fc.record({ shape: fc.nat({ max: 2 }), principal, id: fc.option(idValue, { nil: undefined }) }),
  { minLength: 1, maxLength: 10 },
)

function withId(args: Record<string, unknown>, id: unknown): Record<string, unknown> {
  return id === undefined || !('id' in args) ? args : { ...args, id }
}

const TOOL_NAMES = { get: 'db_get', query: 'db_query', aggregate: 'db_aggregate' } as const

/** A record as both paths must write it: without what differs per call (ids, time, chain). */
function comparable(record: AuditRecord | undefined): unknown {
  if (record === undefined) return undefined
  const { id, timestamp, prevHash, hash, requestId, durationMs, argsDigest, ...rest } = record
  void [id, timestamp, prevHash, hash, durationMs]
  // Each path pages with its own cursor (sealed with a random nonce): the arguments differ by it alone.
  const inputs = rest.inputs as { cursor?: unknown } | null
  const paged = typeof inputs === 'object' && inputs !== null && typeof inputs.cursor === 'string'
  return {
    ...rest,
    inputs: paged ? { ...inputs, cursor: 'a cursor' } : inputs,
    argsDigest: paged ? 'of a cursor' : argsDigest,
    requestId: requestId.replace(/^[a-z]+-/, ''),
  }
}

/** A result with its next cursor as a flag: cursors are sealed with a random nonce. */
function comparableResult(r: { ok: boolean; data?: unknown; error?: unknown }): unknown {
  if (!r.ok) return r
  const data = r.data as { nextCursor?: unknown } | undefined
  if (data !== undefined && typeof data === 'object' && data !== null && 'nextCursor' in data)
    return { ...r, data: { ...data, nextCursor: data.nextCursor !== null } }
  return r
}

describeEachDatabase('read fast path: the per-shape cache against the uncached path', (db) => {
  let cached: ToolsetHarness
  let uncached: ToolsetHarness
  beforeAll(async () => {
    cached = await toolsetFor(db(), policy)
    uncached = await toolsetFor(db(), policy, { readShapeCache: false })
  })

  async function both(
    p: Principal,
    tool: string,
    args: { cached: unknown; uncached: unknown },
    n: number,
  ): Promise<{ cached: { ok: boolean; data?: unknown }; uncached: { ok: boolean; data?: unknown } }> {
    cached.queries.length = 0
    uncached.queries.length = 0
    const rc = await cached.toolset.call(as(p, `c-${n}`), tool, args.cached)
    const ru = await uncached.toolset.call(as(p, `u-${n}`), tool, args.uncached)
    expect(comparableResult(rc)).toEqual(comparableResult(ru))
    expect(cached.queries).toEqual(uncached.queries)
    expect(comparable(cached.audit.all().at(-1))).toEqual(comparable(uncached.audit.all().at(-1)))
    return { cached: rc, uncached: ru }
  }

  it('answers random read sequences exactly as the uncached path', async () => {
    let n = 0
    await fc.assert(
      // A few request shapes per run, each called by several principals (and with other ids): the cache
      // is reused within a run and across runs, by principals whose plans differ.
      fc.asyncProperty(fc.array(call, { minLength: 1, maxLength: 3 }), sequence, async (shapes, picks) => {
        /** Successful pages with more rows: the query and each path's own next cursor. */
        const pages: { args: Record<string, unknown>; cached: string; uncached: string }[] = []
        for (const pick of picks) {
          const picked = shapes[pick.shape % shapes.length] as Call
          const c: Call = picked.tool === 'next' ? picked : { ...picked, args: withId(picked.args, pick.id) }
          const p = PRINCIPALS[pick.principal] as Principal
          n += 1
          if (c.tool === 'next') {
            const page = pages[c.page % Math.max(1, pages.length)]
            if (page === undefined) continue
            const r = await both(
              p,
              'db_query',
              {
                cached: { ...page.args, cursor: page.cached },
                uncached: { ...page.args, cursor: page.uncached },
              },
              n,
            )
            void r
            continue
          }
          const r = await both(p, TOOL_NAMES[c.tool], { cached: c.args, uncached: c.args }, n)
          const rc = r.cached.data as { nextCursor?: string | null } | undefined
          const ru = r.uncached.data as { nextCursor?: string | null } | undefined
          if (c.tool === 'query' && typeof rc?.nextCursor === 'string' && typeof ru?.nextCursor === 'string')
            pages.push({ args: c.args, cached: rc.nextCursor, uncached: ru.nextCursor })
        }
      }),
      // Under `rls`/`both` the two harnesses reinstall their (equal) RLS before every call: fewer runs.
      { numRuns: suiteEnforcement() === 'app' ? 100 : 20 },
    )
    // The runs reached the database and the cache: successes, denials and errors alike.
    const outcomes = new Set(cached.audit.all().map((r) => r.outcome))
    expect(outcomes).toEqual(new Set(['success', 'denied', 'error']))
  }, 240_000)

  it('keeps principals that differ only in a role apart when they share a shape', async () => {
    const args = { model: 'Order', select: ['id', 'org_id'], orderBy: ['created_at'], limit: 50 }
    let n = 1_000_000
    // ALICE (admin) first, so her shape is cached; then ALICE as a member, then ALICE again.
    const admin = await both(ALICE, 'db_query', { cached: args, uncached: args }, n++)
    const member = await both(ALICE_MEMBER, 'db_query', { cached: args, uncached: args }, n++)
    const again = await both(ALICE, 'db_query', { cached: args, uncached: args }, n++)
    const orgs = (r: { data?: unknown }) =>
      [...new Set((r.data as { rows: { org_id: string }[] }).rows.map((row) => row.org_id))].sort()
    expect(orgs(admin.cached)).toEqual(['labs', 'main'])
    expect(orgs(member.cached)).toEqual(['main'])
    expect(again.cached).toEqual(admin.cached.ok ? { ...again.cached } : admin.cached)
    expect(orgs(again.cached)).toEqual(['labs', 'main'])
  })

  it('keeps principals that differ only in an attribute apart, and binds the tenant per call', async () => {
    const args = { model: 'Order', select: ['id', 'org_id', 'tenant_id'], limit: 50 }
    let n = 2_000_000
    const main = await both(ALICE_MEMBER, 'db_query', { cached: args, uncached: args }, n++)
    const labs = await both(ALICE_LABS, 'db_query', { cached: args, uncached: args }, n++)
    const bob = await both(BOB, 'db_query', { cached: args, uncached: args }, n++)
    const rows = (r: { data?: unknown }) => (r.data as { rows: { org_id: string; tenant_id: string }[] }).rows
    expect(rows(main.cached).every((r) => r.org_id === 'main' && r.tenant_id === TENANT_A)).toBe(true)
    expect(rows(labs.cached).map((r) => r.org_id)).toEqual(['labs'])
    expect(rows(bob.cached).every((r) => r.tenant_id !== TENANT_A)).toBe(true)
    // The bypass: every tenant's rows, and the same shape right after for a scoped principal.
    const all = await both(SUPPORT, 'db_query', { cached: args, uncached: args }, n++)
    expect(new Set(rows(all.cached).map((r) => r.tenant_id)).size).toBeGreaterThan(1)
    const after = await both(ANDY, 'db_query', { cached: args, uncached: args }, n++)
    expect(rows(after.cached).every((r) => r.tenant_id === TENANT_A && r.org_id === 'labs')).toBe(true)
  })

  it('refuses an unresolvable attribute the same way after the shape is cached', async () => {
    const args = { model: 'Order', id: ORDER_A1 }
    let n = 3_000_000
    await both(ALICE_MEMBER, 'db_get', { cached: args, uncached: args }, n++)
    // ERIN has no metadata.orgId: the restrictive rule cannot be bound for her.
    const erin = await both(ERIN, 'db_get', { cached: args, uncached: args }, n++)
    expect(erin.cached).toEqual({
      ok: false,
      error: expect.objectContaining({ code: 'TENANT_SCOPE_REQUIRED' }),
    })
  })
})
