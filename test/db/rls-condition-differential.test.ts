/**
 * Differential test for the second printer: for random rows, principals and conditions, the RLS expression
 * printRlsCondition generates — reading the principal from the `tessera.*` claims the executor sets — and the
 * in-memory evaluateCondition agree on every row: TRUE, FALSE and NULL alike, and, through a real FORCEd RLS
 * policy queried as the non-superuser, non-owner application role, on exactly which rows are visible.
 *
 * Where the evaluator throws (a principal path that does not resolve, TENANT_SCOPE_REQUIRED) the app refuses
 * the call before any SQL runs, in every mode; the RLS side must then show no row the evaluator could show
 * for any value of that path — checked here as "no row at all" for conditions that are a single comparison.
 * The generators are those of test/db/condition-differential.test.ts (the app printer's differential test).
 */
import fc from 'fast-check'
import { sql } from 'kysely'
import { beforeAll, expect, it } from 'vitest'
import type { Principal } from '../../src/context/index.ts'
import { isTesseraError } from '../../src/errors/index.ts'
import { createExecutor } from '../../src/executor/index.ts'
import type { ConditionNode, OperandNode, PrincipalPath } from '../../src/policy/condition/ast.ts'
import { evaluateCondition } from '../../src/policy/condition/evaluate-condition.ts'
import { parseCondition } from '../../src/policy/condition/parse-condition.ts'
import { printCondition } from '../../src/policy/condition/print-condition.ts'
import { printRlsCondition } from '../../src/rls/index.ts'
import type { ColumnInfo } from '../../src/schema/index.ts'
import { introspectSchema } from '../../src/schema/index.ts'
import { describeEachDatabase } from '../support/databases.ts'

// ---- data: small pools, lower-case letters only, so text order cannot depend on the collation

const TENANTS = ['t1', 't2', 't3'] as const
const LABELS = ['', 'a', 'b', 'ab', 'ba', 'aa', 't1'] as const
const INSTANTS = [
  '2023-12-31T23:59:59.999Z',
  '2024-01-01T00:00:00.000Z',
  '2024-01-01T00:00:00.001Z',
  '2024-06-30T12:30:00.000Z',
] as const
const INSTANT_LITERALS = [...INSTANTS, '2024-01-01T02:00:00+02:00', '2024-06-30 12:30:00Z'] as const

const nullable = <T>(arb: fc.Arbitrary<T>): fc.Arbitrary<T | null> => fc.option(arb, { nil: null, freq: 4 })

const rowArb = fc.record({
  tenant: nullable(fc.constantFrom(...TENANTS)),
  n: nullable(fc.integer({ min: -5, max: 5 })),
  amount: nullable(fc.integer({ min: -1000, max: 1000 }).map((cents) => (cents / 100).toFixed(2))),
  flag: nullable(fc.boolean()),
  label: nullable(fc.constantFrom(...LABELS)),
  at: nullable(fc.constantFrom(...INSTANTS)),
  tags: nullable(fc.array(fc.constantFrom(...LABELS), { maxLength: 3 })),
})
type RowInput = typeof rowArb extends fc.Arbitrary<infer R> ? R : never

const textValue = fc.constantFrom<string>(...TENANTS, ...LABELS)
const principalArb: fc.Arbitrary<Principal> = fc.record(
  {
    tenantId: fc.constantFrom(...TENANTS),
    userId: textValue.filter((s) => s !== ''),
    roles: fc.subarray(['admin', 'member', 'a', 't1']),
    metadata: fc.record(
      {
        tenants: fc.array(fc.option(fc.constantFrom(...TENANTS), { nil: null, freq: 6 }), { maxLength: 3 }),
        tag: textValue,
        limit: fc.integer({ min: -5, max: 5 }),
        nums: fc.array(fc.integer({ min: -5, max: 5 }), { maxLength: 3 }),
        active: fc.boolean(),
      },
      { requiredKeys: ['tenants', 'limit', 'nums', 'active'] },
    ),
  },
  { requiredKeys: ['tenantId', 'metadata'] },
)

// ---- conditions: operands are typed so every generated comparison is one PostgreSQL can type-check

const field = (name: string): OperandNode => ({ kind: 'field', name })
const literal = (value: string | number | boolean | null): OperandNode => ({ kind: 'literal', value })
const principal = (...path: string[]): OperandNode => ({
  kind: 'principal',
  path: path as unknown as PrincipalPath,
})

type Group = 'text' | 'int' | 'num' | 'bool' | 'ts'

const operandOf: Record<Group, fc.Arbitrary<OperandNode>> = {
  text: fc.oneof(
    { arbitrary: fc.constantFrom(field('tenant'), field('label')), weight: 4 },
    { arbitrary: fc.option(textValue, { nil: null, freq: 8 }).map(literal), weight: 2 },
    {
      arbitrary: fc.constantFrom(principal('tenantId'), principal('userId'), principal('metadata', 'tag')),
      weight: 2,
    },
  ),
  int: fc.oneof(
    { arbitrary: fc.constant(field('n')), weight: 4 },
    { arbitrary: fc.option(fc.integer({ min: -6, max: 6 }), { nil: null, freq: 8 }).map(literal), weight: 2 },
    { arbitrary: fc.constant(principal('metadata', 'limit')), weight: 1 },
  ),
  num: fc.oneof(
    { arbitrary: fc.constant(field('amount')), weight: 4 },
    {
      arbitrary: fc
        .option(
          fc.integer({ min: -1100, max: 1100 }).map((c) => c / 100),
          { nil: null, freq: 8 },
        )
        .map(literal),
      weight: 2,
    },
    { arbitrary: fc.constant(principal('metadata', 'limit')), weight: 1 },
  ),
  bool: fc.oneof(
    { arbitrary: fc.constant(field('flag')), weight: 4 },
    { arbitrary: fc.option(fc.boolean(), { nil: null, freq: 8 }).map(literal), weight: 2 },
    { arbitrary: fc.constant(principal('metadata', 'active')), weight: 1 },
  ),
  ts: fc.oneof(
    { arbitrary: fc.constant(field('at')), weight: 4 },
    {
      arbitrary: fc.option(fc.constantFrom(...INSTANT_LITERALS), { nil: null, freq: 8 }).map(literal),
      weight: 2,
    },
  ),
}

const listRightOf: Record<Group, fc.Arbitrary<OperandNode>[]> = {
  text: [fc.constantFrom(principal('roles'), principal('metadata', 'tenants')), fc.constant(field('tags'))],
  int: [fc.constant(principal('metadata', 'nums'))],
  num: [fc.constant(principal('metadata', 'nums'))],
  bool: [],
  ts: [],
}

const compareOp = fc.constantFrom(
  '=' as const,
  '!=' as const,
  '<' as const,
  '<=' as const,
  '>' as const,
  '>=' as const,
)
const groupArb = fc.constantFrom<Group>('text', 'text', 'int', 'num', 'bool', 'ts')

const compareArb: fc.Arbitrary<ConditionNode> = fc.oneof(
  {
    arbitrary: groupArb.chain((g) =>
      fc.record({
        kind: fc.constant('compare' as const),
        op: compareOp,
        left: operandOf[g],
        right: operandOf[g],
      }),
    ),
    weight: 5,
  },
  // int against numeric: PostgreSQL compares as numeric, the evaluator as exact decimals.
  {
    arbitrary: fc.record({
      kind: fc.constant('compare' as const),
      op: compareOp,
      left: fc.constant(field('n')),
      right: fc.constant(field('amount')),
    }),
    weight: 1,
  },
)

const inArb: fc.Arbitrary<ConditionNode> = groupArb.chain((g) =>
  fc.record({
    kind: fc.constant('in' as const),
    negated: fc.boolean(),
    left: operandOf[g],
    right: fc.oneof(
      fc
        .array(operandOf[g], { minLength: 1, maxLength: 4 })
        .map((items) => ({ kind: 'list' as const, items })),
      ...listRightOf[g],
    ),
  }),
)

const isNullArb: fc.Arbitrary<ConditionNode> = fc.record({
  kind: fc.constant('is_null' as const),
  negated: fc.boolean(),
  operand: fc.oneof(
    groupArb.chain((g) => operandOf[g]),
    fc.constantFrom(principal('userId'), principal('metadata', 'tag'), principal('roles')),
  ),
})

const leafArb: fc.Arbitrary<ConditionNode> = fc.oneof(
  { arbitrary: compareArb, weight: 4 },
  { arbitrary: inArb, weight: 3 },
  { arbitrary: isNullArb, weight: 2 },
  { arbitrary: fc.boolean().map((value) => ({ kind: 'bool' as const, value })), weight: 1 },
)

const { conditionArb } = fc.letrec<{ conditionArb: ConditionNode }>((tie) => ({
  conditionArb: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    leafArb,
    fc.record({
      kind: fc.constant('and' as const),
      operands: fc.array(tie('conditionArb'), { minLength: 2, maxLength: 3 }),
    }),
    fc.record({
      kind: fc.constant('or' as const),
      operands: fc.array(tie('conditionArb'), { minLength: 2, maxLength: 3 }),
    }),
    fc.record({ kind: fc.constant('not' as const), operand: tie('conditionArb') }),
  ),
}))

// ---- the two sides

type Outcome =
  | { readonly kind: 'values'; readonly byId: Record<number, boolean | null> }
  | { readonly kind: 'throws'; readonly code: string }

const NULL_ROW = { id: 0, tenant: null, n: null, amount: null, flag: null, label: null, at: null, tags: null }

function evaluatorValues(
  node: ConditionNode,
  rows: readonly Record<string, unknown>[],
  who: Principal,
): Outcome {
  try {
    evaluateCondition(node, NULL_ROW, who)
    return {
      kind: 'values',
      byId: Object.fromEntries(rows.map((row) => [row['id'] as number, evaluateCondition(node, row, who)])),
    }
  } catch (error) {
    return { kind: 'throws', code: isTesseraError(error) ? error.code : String(error) }
  }
}

const spec = (principal: Principal) => ({
  access: 'read' as const,
  requestId: 'rls-differential',
  principal,
  claims: true,
  statementTimeoutMs: 5000,
})

describeEachDatabase('RLS policy expressions agree with the in-memory evaluator', (db) => {
  let columns: readonly ColumnInfo[] = []
  const column = (name: string): ColumnInfo => {
    const info = columns.find((c) => c.name === name)
    if (!info) throw new Error(`no column ${name}`)
    return info
  }

  beforeAll(async () => {
    const admin = db().admin
    await sql`
      create table rls_cond_rows (
        id int primary key, tenant text, n int, amount numeric(10, 2), flag boolean, label text,
        at timestamptz, tags text[]
      )`.execute(admin)
    await sql`grant select on rls_cond_rows to tessera_app`.execute(admin)
    await sql`alter table rls_cond_rows enable row level security`.execute(admin)
    await sql`alter table rls_cond_rows force row level security`.execute(admin)
    columns = (await introspectSchema(admin)).tables['rls_cond_rows']?.columns ?? []
  })

  async function load(rows: readonly RowInput[]): Promise<Record<string, unknown>[]> {
    const admin = db().admin
    await admin.deleteFrom('rls_cond_rows').execute()
    if (rows.length > 0)
      await admin
        .insertInto('rls_cond_rows')
        .values(rows.map((r, i) => ({ id: i + 1, ...r })))
        .execute()
    return admin.selectFrom('rls_cond_rows').selectAll().orderBy('id').execute()
  }

  /** TRUE/FALSE/NULL per row: the expression evaluated with the claims set (as the superuser, so no RLS). */
  async function rlsValues(expression: string, who: Principal): Promise<Outcome> {
    const rows = await createExecutor({ db: db().admin }).run(spec(who), async (q) => {
      const result = await sql<{ id: number; v: boolean | null }>`
        select id, (${sql.raw(expression)}) as v from rls_cond_rows order by id`.execute(q)
      return result.rows
    })
    return { kind: 'values', byId: Object.fromEntries(rows.map((r) => [r.id, r.v])) }
  }

  /** The rows the application role sees through a real policy with that expression. */
  async function visibleIds(expression: string, who: Principal): Promise<number[]> {
    const { admin, app, appRole } = db()
    await sql`drop policy if exists rls_cond_policy on rls_cond_rows`.execute(admin)
    await sql`create policy rls_cond_policy on rls_cond_rows for select using (${sql.raw(expression)})`.execute(
      admin,
    )
    const executor = createExecutor({ db: app, ...(appRole === undefined ? {} : { role: appRole }) })
    const rows = await executor.run(
      spec(who),
      async (q) => (await sql<{ id: number }>`select id from rls_cond_rows order by id`.execute(q)).rows,
    )
    return rows.map((r) => r.id)
  }

  it('yields the same TRUE/FALSE/NULL per row and, as a FORCEd policy, shows exactly the rows evaluateCondition accepts', async () => {
    let decided = 0
    let partial = 0
    await fc.assert(
      fc.asyncProperty(
        fc.array(rowArb, { maxLength: 10 }),
        principalArb,
        conditionArb,
        async (rows, who, node) => {
          const stored = await load(rows)
          const expected = evaluatorValues(node, stored, who)
          const expression = printRlsCondition(node, column)
          const label = `${printCondition(node)} :: ${JSON.stringify(who)}`
          if (expected.kind === 'throws') {
            expect(expected.code, label).toBe('TENANT_SCOPE_REQUIRED')
            return
          }
          decided++
          expect(await rlsValues(expression, who), label).toEqual(expected)
          const accepted = Object.entries(expected.byId)
            .filter(([, v]) => v === true)
            .map(([id]) => Number(id))
          if (accepted.length > 0 && accepted.length < stored.length) partial++
          expect(await visibleIds(expression, who), label).toEqual(accepted)
        },
      ),
      { numRuns: 80 },
    )
    expect(decided).toBeGreaterThan(25)
    expect(partial).toBeGreaterThan(5)
  }, 300_000)

  it.each([
    'flag = true OR tenant = principal.tenantId',
    'tenant IN principal.metadata.tenants',
    'tenant NOT IN principal.metadata.tenants',
    "'admin' IN principal.roles OR tenant = principal.tenantId",
    "NOT ('admin' IN principal.roles) AND tenant = principal.tenantId",
    "label NOT IN ('a', null)",
    'principal.userId IN (label, tenant)',
    "'a' IN tags AND amount >= 1.5",
    "n < amount OR at > '2024-01-01T00:00:00Z'",
    'principal.userId IS NULL OR label = principal.userId',
    'principal.roles IS NULL OR n <= principal.metadata.limit',
    'principal.metadata.limit IN principal.metadata.nums OR flag = principal.metadata.active',
  ])('agrees on %j for principals with and without the values it reads', async (text) => {
    const node = parseCondition(text)
    const stored = await load([
      { tenant: 't1', n: 1, amount: '1.50', flag: true, label: 'a', at: INSTANTS[0], tags: ['a'] },
      { tenant: 't2', n: 2, amount: '0.50', flag: false, label: 't1', at: INSTANTS[3], tags: [] },
      { tenant: null, n: null, amount: null, flag: null, label: null, at: null, tags: null },
      { tenant: 't3', n: -1, amount: '-2.00', flag: false, label: 'b', at: INSTANTS[1], tags: ['b', 'a'] },
    ])
    const expression = printRlsCondition(node, column)
    let checked = 0
    for (const who of [
      {
        tenantId: 't1',
        roles: ['member'],
        metadata: { tenants: ['t2', null], limit: 1, nums: [1, 2], active: true },
      },
      {
        tenantId: 't2',
        userId: 't1',
        roles: ['admin'],
        metadata: { tenants: [], limit: 5, nums: [], active: false },
      },
      {
        tenantId: 't3',
        userId: 'b',
        roles: [],
        metadata: { tenants: ['t3'], limit: -1, nums: [-1], active: true },
      },
    ] satisfies Principal[]) {
      const expected = evaluatorValues(node, stored, who)
      if (expected.kind === 'throws') continue // the app refuses the call; nothing to compare
      checked++
      expect(await rlsValues(expression, who), `${text} :: ${JSON.stringify(who)}`).toEqual(expected)
    }
    expect(checked).toBeGreaterThanOrEqual(2)
  })

  it('shows no row when a claim the policy reads is unset, even after an earlier call set it on the same connection', async () => {
    await load([
      { tenant: 't1', n: 1, amount: '1.00', flag: true, label: 'a', at: null, tags: null },
      { tenant: 't2', n: 2, amount: '1.00', flag: true, label: 'b', at: null, tags: null },
    ])
    const expression = printRlsCondition(
      parseCondition('tenant IN principal.metadata.tenants OR label = principal.userId'),
      column,
    )
    expect(
      await visibleIds(expression, { tenantId: 't1', userId: 'a', metadata: { tenants: ['t2'] } }),
    ).toEqual([1, 2])
    expect(await visibleIds(expression, { tenantId: 't1' })).toEqual([])
    // NOT IN an unset list is unknown, not TRUE: a missing claim never widens.
    const notIn = printRlsCondition(parseCondition('tenant NOT IN principal.metadata.tenants'), column)
    expect(await visibleIds(notIn, { tenantId: 't1' })).toEqual([])
    expect(await visibleIds(notIn, { tenantId: 't1', metadata: { tenants: [] } })).toEqual([1, 2])
  })
})
