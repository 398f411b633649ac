/**
 * Differential test for both printers over the condition AST: for random rows, principals and conditions, the
 * in-memory evaluateCondition and each printer must agree on every row — TRUE, FALSE and NULL alike — and on
 * which rows a query shows:
 *
 * - `app`: conditionPredicate over the planner's principal-bound condition (bindConditionToPrincipal), run
 *   as a WHERE clause; it must fail (TENANT_SCOPE_REQUIRED) on exactly the inputs the evaluator fails on;
 * - `rls`: printRlsCondition over the claim-bound condition (bindConditionToClaims), evaluated with the
 *   `tessera.*` claims the executor sets, and installed as a FORCEd policy queried by the non-superuser,
 *   non-owner application role. Where the evaluator throws the app refuses the call before any SQL runs, in
 *   every mode, so there is nothing to compare.
 */
import fc from 'fast-check'
import { sql } from 'kysely'
import { beforeAll, expect, it } from 'vitest'
import type { Principal } from '../../src/context/index.ts'
import { isTesseraError } from '../../src/errors/index.ts'
import { createExecutor } from '../../src/executor/index.ts'
import { bindConditionToClaims, bindConditionToPrincipal } from '../../src/planner/index.ts'
import type { ConditionNode, OperandNode, PrincipalPath } from '../../src/policy/condition/ast.ts'
import { evaluateCondition } from '../../src/policy/condition/evaluate-condition.ts'
import { parseCondition } from '../../src/policy/condition/parse-condition.ts'
import { printCondition } from '../../src/policy/condition/print-condition.ts'
import { printRlsCondition } from '../../src/rls/index.ts'
import { type ColumnInfo, introspectSchema } from '../../src/schema/index.ts'
import { conditionPredicate } from '../../src/sql/print-condition.ts'
import { describeEachDatabase, type TestDatabase } from '../support/databases.ts'

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

// ---- the evaluator

type Outcome =
  | { readonly kind: 'values'; readonly byId: Record<number, boolean | null> }
  | { readonly kind: 'throws'; readonly code: string }

function thrown(error: unknown): Outcome {
  return { kind: 'throws', code: isTesseraError(error) ? error.code : String(error) }
}

const NULL_ROW = { id: 0, tenant: null, n: null, amount: null, flag: null, label: null, at: null, tags: null }

/** Also evaluated on an all-NULL row: whether a condition throws must not depend on there being rows. */
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
    return thrown(error)
  }
}

const acceptedIds = (byId: Record<number, boolean | null>): number[] =>
  Object.entries(byId)
    .filter(([, v]) => v === true)
    .map(([id]) => Number(id))

// ---- the printers

interface Printer {
  readonly name: 'app' | 'rls'
  /** Whether a condition the evaluator refuses must be refused by the printer too (else: not compared). */
  readonly refusesLikeEvaluator: boolean
  /** TRUE/FALSE/NULL per row, or what printing threw. */
  values(db: TestDatabase, node: ConditionNode, who: Principal): Promise<Outcome>
  /** The ids of the rows a query filtered by the condition shows. */
  visibleIds(db: TestDatabase, node: ConditionNode, who: Principal): Promise<number[]>
}

const spec = (principal: Principal) => ({
  access: 'read' as const,
  requestId: 'condition-differential',
  principal,
  claims: true,
  statementTimeoutMs: 5000,
})

const appPrinter: Printer = {
  name: 'app',
  refusesLikeEvaluator: true,
  async values(db, node, who) {
    let compiled
    try {
      compiled = conditionPredicate(bindConditionToPrincipal(node, null, who), {
        column: (f) => sql.ref(`t0.${f}`),
      })
    } catch (error) {
      return thrown(error)
    }
    const rows = await db.admin
      .selectFrom('cond_rows as t0')
      .select(['t0.id', sql<boolean | null>`${compiled}`.as('v')])
      .execute()
    return {
      kind: 'values',
      byId: Object.fromEntries(rows.map((r) => [r.id as number, r.v as boolean | null])),
    }
  },
  async visibleIds(db, node, who) {
    const where = conditionPredicate(bindConditionToPrincipal(node, null, who), {
      column: (f) => sql.ref(`t0.${f}`),
    })
    const rows = await db.admin
      .selectFrom('cond_rows as t0')
      .select('id')
      .where(where)
      .orderBy('id')
      .execute()
    return rows.map((r) => r.id as number)
  },
}

function rlsPrinter(columns: () => readonly ColumnInfo[]): Printer {
  const print = (node: ConditionNode) =>
    printRlsCondition(bindConditionToClaims(node), (name) => {
      const info = columns().find((c) => c.name === name)
      if (!info) throw new Error(`no column ${name}`)
      return info
    })
  return {
    name: 'rls',
    refusesLikeEvaluator: false,
    // Evaluated with the claims set, as the superuser (RLS does not apply to it).
    async values(db, node, who) {
      const expression = print(node)
      const rows = await createExecutor({ db: db.admin }).run(spec(who), async (q) => {
        const result = await sql<{ id: number; v: boolean | null }>`
          select id, (${sql.raw(expression)}) as v from cond_rows order by id`.execute(q)
        return result.rows
      })
      return { kind: 'values', byId: Object.fromEntries(rows.map((r) => [r.id, r.v])) }
    },
    // Through a real policy with that expression, as the application role.
    async visibleIds(db, node, who) {
      const { admin, app, appRole } = db
      await sql`drop policy if exists cond_policy on cond_rows`.execute(admin)
      await sql`create policy cond_policy on cond_rows for select using (${sql.raw(print(node))})`.execute(
        admin,
      )
      const executor = createExecutor({ db: app, ...(appRole === undefined ? {} : { role: appRole }) })
      const rows = await executor.run(
        spec(who),
        async (q) => (await sql<{ id: number }>`select id from cond_rows order by id`.execute(q)).rows,
      )
      return rows.map((r) => r.id)
    },
  }
}

const SAMPLE_ROWS: RowInput[] = [
  { tenant: 't1', n: 1, amount: '1.50', flag: true, label: 'a', at: INSTANTS[0], tags: ['a'] },
  { tenant: 't2', n: 2, amount: '0.50', flag: false, label: 't1', at: INSTANTS[3], tags: [] },
  { tenant: null, n: null, amount: null, flag: null, label: null, at: null, tags: null },
  { tenant: 't3', n: -1, amount: '-2.00', flag: false, label: 'b', at: INSTANTS[1], tags: ['b', 'a'] },
]

const SAMPLE_PRINCIPALS: Principal[] = [
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
  { tenantId: 't1', roles: ['member'], metadata: { tenants: ['t2', null] } },
]

describeEachDatabase(
  'row-policy conditions agree between the in-memory evaluator and both printers',
  (db) => {
    let columns: readonly ColumnInfo[] = []
    const printers = [appPrinter, rlsPrinter(() => columns)]

    beforeAll(async () => {
      const admin = db().admin
      await sql`
      create table cond_rows (
        id int primary key, tenant text, n int, amount numeric(10, 2), flag boolean, label text,
        at timestamptz, tags text[]
      )`.execute(admin)
      await sql`grant select on cond_rows to tessera_app`.execute(admin)
      await sql`alter table cond_rows enable row level security`.execute(admin)
      await sql`alter table cond_rows force row level security`.execute(admin)
      columns = (await introspectSchema(admin)).tables['cond_rows']?.columns ?? []
    })

    async function load(rows: readonly RowInput[]): Promise<Record<string, unknown>[]> {
      const admin = db().admin
      await admin.deleteFrom('cond_rows').execute()
      if (rows.length > 0)
        await admin
          .insertInto('cond_rows')
          .values(rows.map((r, i) => ({ id: i + 1, ...r })))
          .execute()
      // Evaluate what the database hands back (numeric as "1.50", timestamptz as Date), as the toolset would.
      return admin.selectFrom('cond_rows').selectAll().orderBy('id').execute()
    }

    for (const printer of printers) {
      it(`${printer.name}: yields the same TRUE/FALSE/NULL per row and shows exactly the rows evaluateCondition accepts`, async () => {
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
              const label = `${printCondition(node)} :: ${JSON.stringify(who)}`
              if (expected.kind === 'throws') {
                expect(expected.code, label).toBe('TENANT_SCOPE_REQUIRED')
                if (printer.refusesLikeEvaluator)
                  expect(await printer.values(db(), node, who), label).toEqual(expected)
                return
              }
              decided++
              expect(await printer.values(db(), node, who), label).toEqual(expected)
              const accepted = acceptedIds(expected.byId)
              if (accepted.length > 0 && accepted.length < stored.length) partial++
              expect(await printer.visibleIds(db(), node, who), label).toEqual(accepted)
            },
          ),
          { numRuns: 70, seed: 1414 },
        )
        // Most generated conditions resolve every principal path; the comparison above must not be vacuous.
        expect(decided).toBeGreaterThan(20)
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
      ])(
        `${printer.name}: agrees on %j for principals with and without the values it reads`,
        async (text) => {
          const node = parseCondition(text)
          const stored = await load(SAMPLE_ROWS)
          let checked = 0
          for (const who of SAMPLE_PRINCIPALS) {
            const expected = evaluatorValues(node, stored, who)
            if (expected.kind === 'throws' && !printer.refusesLikeEvaluator) continue
            checked++
            expect(await printer.values(db(), node, who), `${text} :: ${JSON.stringify(who)}`).toEqual(
              expected,
            )
          }
          expect(checked).toBeGreaterThanOrEqual(2)
        },
      )

      it(`${printer.name}: matches no row for IN an empty principal list and every row, NULLs included, for NOT IN`, async () => {
        await load([
          { tenant: 't1', n: null, amount: null, flag: null, label: null, at: null, tags: null },
          { tenant: null, n: null, amount: null, flag: null, label: null, at: null, tags: null },
        ])
        const who: Principal = { tenantId: 't1', metadata: { tenants: [] } }
        expect(
          await printer.visibleIds(db(), parseCondition('tenant IN principal.metadata.tenants'), who),
        ).toEqual([])
        expect(
          await printer.visibleIds(db(), parseCondition('tenant NOT IN principal.metadata.tenants'), who),
        ).toEqual([1, 2])
      })
    }

    it('rls: shows no row when a claim the policy reads is unset, even after an earlier call set it on the same connection', async () => {
      const rls = rlsPrinter(() => columns)
      await load([
        { tenant: 't1', n: 1, amount: '1.00', flag: true, label: 'a', at: null, tags: null },
        { tenant: 't2', n: 2, amount: '1.00', flag: true, label: 'b', at: null, tags: null },
      ])
      const either = parseCondition('tenant IN principal.metadata.tenants OR label = principal.userId')
      expect(
        await rls.visibleIds(db(), either, { tenantId: 't1', userId: 'a', metadata: { tenants: ['t2'] } }),
      ).toEqual([1, 2])
      expect(await rls.visibleIds(db(), either, { tenantId: 't1' })).toEqual([])
      // NOT IN an unset list is unknown, not TRUE: a missing claim never widens.
      const notIn = parseCondition('tenant NOT IN principal.metadata.tenants')
      expect(await rls.visibleIds(db(), notIn, { tenantId: 't1' })).toEqual([])
      expect(await rls.visibleIds(db(), notIn, { tenantId: 't1', metadata: { tenants: [] } })).toEqual([1, 2])
    })

    it('rls: refuses to print a principal operand that was not bound to its claim', () => {
      expect(() =>
        printRlsCondition(parseCondition('tenant = principal.tenantId'), () => columns[0] as ColumnInfo),
      ).toThrow(/unbound/)
    })
  },
)
