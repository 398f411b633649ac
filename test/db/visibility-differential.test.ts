/**
 * Differential test at the policy level, for both walls: for random rows, principals and model policies
 * (scoping, shared, permissive, restrictive and bypass rules, soft delete), the in-memory isRowVisible over
 * planVisibility's plan and each SQL side must select exactly the same rows:
 *
 * - `app`: the SQL visibility predicate printed from the same VisibilityPlan (visibilityPredicate), which must
 *   also fail with the same error code on the same inputs;
 * - `rls`: the RLS policies generateRls prints, applied with ENABLE + FORCE and queried with no predicate at
 *   all as the non-superuser, non-owner application role with the executor's claims. Soft delete is not part
 *   of RLS (the planner filters it in every mode), so the query adds `deleted_at IS NULL` when the policy
 *   soft-deletes. Where the planner refuses the call (TENANT_SCOPE_REQUIRED) no SQL runs in any mode; those
 *   cases are counted, not compared.
 */
import fc from 'fast-check'
import { sql } from 'kysely'
import { beforeAll, expect, it } from 'vitest'
import type { Principal } from '../../src/context/index.ts'
import { isTesseraError } from '../../src/errors/index.ts'
import { bindPolicy } from '../../src/policy/bind-policy.ts'
import { definePolicy } from '../../src/policy/define-policy.ts'
import type { PolicyInput, RowPolicyInput } from '../../src/policy/policy-schema.ts'
import type { BoundModel, BoundPolicy } from '../../src/policy/types.ts'
import { createExecutor } from '../../src/executor/index.ts'
import { applyRls, generateRls } from '../../src/rls/index.ts'
import { columnRef, visibilityPredicate } from '../../src/sql/print-predicates.ts'
import { planVisibility } from '../../src/planner/plan-visibility.ts'
import { isRowVisible } from '../../src/planner/row-visibility.ts'
import { introspectSchema } from '../../src/schema/index.ts'
import type { DbSchema } from '../../src/schema/types.ts'
import { describeEachDatabase, type TestDatabase } from '../support/databases.ts'
import { as } from '../support/saas.ts'
import { toolsetFor } from '../support/toolset.ts'

// ---- rows: small pools so that rows collide with the principal's values, NULL included

const TENANTS = ['t1', 't2', 't3'] as const
const ORGS = ['o1', 'o2', 'x'] as const
const USERS = ['u1', 'u2'] as const
const DELETED_AT = '2024-01-01T00:00:00.000Z'

const nullable = <T>(arb: fc.Arbitrary<T>): fc.Arbitrary<T | null> => fc.option(arb, { nil: null, freq: 4 })

const rowArb = fc.record({
  tenant_id: nullable(fc.constantFrom(...TENANTS)),
  org_id: nullable(fc.constantFrom(...ORGS)),
  owner_id: nullable(fc.constantFrom(...USERS)),
  is_public: nullable(fc.boolean()),
  level: nullable(fc.integer({ min: 0, max: 3 })),
  deleted_at: fc.oneof(
    { arbitrary: fc.constant(null), weight: 3 },
    { arbitrary: fc.constant(DELETED_AT), weight: 1 },
  ),
})
type RowInput = typeof rowArb extends fc.Arbitrary<infer R> ? R : never
// At least two rows, so that a visible set can be a proper subset; the evaluator is also asked about an
// all-NULL row, so a throw cannot depend on there being rows.
const rowsArb = fc.array(rowArb, { minLength: 2, maxLength: 12 })

// ---- principals: keys sometimes missing (or of the wrong shape), so unresolvable paths occur

/** `arb`'s value under `key`, or (one time in `freq`) no such key at all. */
const sometimes = <T>(key: string, arb: fc.Arbitrary<T>, freq = 10): fc.Arbitrary<Record<string, T>> =>
  fc.option(arb, { nil: undefined, freq }).map((v) => (v === undefined ? {} : { [key]: v }))

const metadataArb: fc.Arbitrary<Record<string, unknown>> = fc
  .tuple(
    // A number cannot be a value of the text column org_id: scoping on it must refuse the call.
    sometimes(
      'orgId',
      fc.oneof(
        { arbitrary: fc.constantFrom<string | number>(...ORGS), weight: 10 },
        { arbitrary: fc.constant(7), weight: 1 },
      ),
    ),
    sometimes(
      'tenants',
      fc.oneof(
        {
          arbitrary: fc.array(fc.option(fc.constantFrom(...TENANTS), { nil: null, freq: 6 }), {
            maxLength: 3,
          }),
          weight: 10,
        },
        // Not a list: `x IN principal.metadata.tenants` cannot be decided.
        { arbitrary: fc.constant('t1'), weight: 1 },
      ),
    ),
  )
  .map(([orgId, tenants]) => ({ ...orgId, ...tenants }))

const principalArb: fc.Arbitrary<Principal> = fc
  .tuple(
    fc.constantFrom(...TENANTS),
    sometimes('userId', fc.constantFrom(...USERS)),
    sometimes('roles', fc.subarray(['admin', 'member', 'auditor'])),
    sometimes('metadata', metadataArb, 15),
  )
  .map(([tenantId, userId, roles, metadata]) => ({ tenantId, ...userId, ...roles, ...metadata }) as Principal)

// ---- policies, built from condition templates over the table's columns and principal paths

const SCOPES = {
  tenant_id: 'principal.tenantId',
  org_id: 'principal.metadata.orgId',
  owner_id: 'principal.userId',
} as const
type ScopedColumn = keyof typeof SCOPES
const TENANT_LIKE: readonly ScopedColumn[] = ['tenant_id', 'org_id']

/**
 * Conditions on row fields. A principal value compared with a column has the column's type, except orgId = 7,
 * which only meets `org_id = principal.metadata.orgId` outside a NOT (where FALSE and NULL both hide the row):
 * a principal value of another type than its column is a known disagreement (SQL parses the parameter as the
 * column's type, the evaluator compares JS values), left to the condition layer to fix.
 */
const ROW_CONDITIONS = [
  'is_public = true',
  'is_public != false',
  'tenant_id IN principal.metadata.tenants',
  'tenant_id NOT IN principal.metadata.tenants',
  'level >= 2',
  'level < 1 OR level IS NULL',
  'owner_id = principal.userId',
  'tenant_id IS NOT NULL',
  "NOT (org_id = 'x')",
  "org_id IN ('o1', 'x')",
  'tenant_id = principal.tenantId',
  "org_id = principal.metadata.orgId OR (is_public = true AND org_id != 'x')",
  "'admin' IN principal.roles OR owner_id = principal.userId",
  'principal.userId IS NULL OR owner_id = principal.userId',
  'tenant_id = principal.tenantId AND NOT (level > 2)',
  'deleted_at IS NOT NULL OR level = 0',
] as const

/** Conditions on the principal only: valid for bypass and restrictive rules, invalid for permissive ones. */
const PRINCIPAL_CONDITIONS = [
  "'admin' IN principal.roles",
  "'auditor' IN principal.roles AND principal.userId IS NOT NULL",
  "principal.metadata.orgId = 'o1'",
  "NOT ('member' IN principal.roles)",
] as const

interface PolicyCase {
  readonly scoping: 'none' | 'shared' | readonly ScopedColumn[]
  readonly permissive: readonly string[]
  readonly restrictive: readonly string[]
  readonly bypass: string | null
  readonly softDelete: boolean
  /** List the tenant-like columns that are not scoped in unscopedColumns (without it, many policies are invalid). */
  readonly waive: boolean
}

const rowOrPrincipal = (principalWeight: number): fc.Arbitrary<string> =>
  fc.oneof(
    { arbitrary: fc.constantFrom<string>(...ROW_CONDITIONS), weight: 20 },
    { arbitrary: fc.constantFrom<string>(...PRINCIPAL_CONDITIONS), weight: principalWeight },
  )

const policyCaseArb: fc.Arbitrary<PolicyCase> = fc.record({
  scoping: fc.oneof(
    {
      arbitrary: fc.subarray<ScopedColumn>(['tenant_id', 'org_id', 'owner_id'], { minLength: 1 }),
      weight: 6,
    },
    { arbitrary: fc.constant('none' as const), weight: 3 },
    { arbitrary: fc.constant('shared' as const), weight: 1 },
  ),
  // A principal-only permissive rule is rejected at load time (it would be an undeclared bypass).
  permissive: fc.array(rowOrPrincipal(1), { maxLength: 2 }),
  restrictive: fc.array(rowOrPrincipal(6), { maxLength: 2 }),
  bypass: fc.oneof(
    { arbitrary: fc.constant(null), weight: 4 },
    { arbitrary: fc.constantFrom<string>(...PRINCIPAL_CONDITIONS), weight: 3 },
    // A bypass that mentions a row field is rejected at load time.
    { arbitrary: fc.constant('is_public = true'), weight: 1 },
  ),
  softDelete: fc.boolean(),
  waive: fc.oneof({ arbitrary: fc.constant(true), weight: 8 }, { arbitrary: fc.constant(false), weight: 1 }),
})

function policyInputOf(c: PolicyCase): PolicyInput {
  const scoped: readonly ScopedColumn[] = typeof c.scoping === 'string' ? [] : c.scoping
  const rowPolicies: RowPolicyInput[] = [
    // Generated rules are not all pinned to the principal: the widening is deliberate here.
    ...c.permissive.map((condition, i) => ({
      name: `p${i}`,
      condition,
      mode: 'permissive' as const,
      crossTenant: true,
    })),
    ...c.restrictive.map((condition, i) => ({ name: `r${i}`, condition, mode: 'restrictive' as const })),
    ...(c.bypass === null ? [] : [{ name: 'b0', condition: c.bypass, bypass: true }]),
  ]
  const unscoped = TENANT_LIKE.filter((column) => !scoped.includes(column))
  return {
    models: {
      Vis: {
        table: 'vis_rows',
        defaultFieldAction: 'allow',
        ...(scoped.length > 0
          ? { scoping: Object.fromEntries(scoped.map((col) => [col, SCOPES[col]])) }
          : {}),
        ...(c.scoping === 'shared' ? { shared: true as const } : {}),
        ...(c.waive && c.scoping !== 'shared' && unscoped.length > 0 ? { unscopedColumns: unscoped } : {}),
        ...(rowPolicies.length > 0 ? { rowPolicies } : {}),
        ...(c.softDelete ? { write: { softDelete: { field: 'deleted_at' } } } : {}),
      },
    },
  }
}

// ---- the two sides

type Outcome =
  | { readonly kind: 'ids'; readonly ids: readonly number[] }
  | { readonly kind: 'throws'; readonly code: string }

function thrown(error: unknown): Outcome {
  return { kind: 'throws', code: isTesseraError(error) ? error.code : String(error) }
}

const NULL_ROW = {
  id: 0,
  tenant_id: null,
  org_id: null,
  owner_id: null,
  is_public: null,
  level: null,
  deleted_at: null,
}

/**
 * The evaluator's answer. It is also asked about an all-NULL row: whether visibility throws must not depend on
 * there being rows to look at (the SQL side throws while compiling, before it sees any).
 */
function memoryOutcome(model: BoundModel, rows: readonly Record<string, unknown>[], who: Principal): Outcome {
  try {
    const plan = planVisibility(model, who)
    isRowVisible(plan, NULL_ROW)
    return { kind: 'ids', ids: rows.filter((r) => isRowVisible(plan, r)).map((r) => r['id'] as number) }
  } catch (error) {
    return thrown(error)
  }
}

// ---- the SQL sides

interface Wall {
  readonly name: 'app' | 'rls'
  /** Whether a call the planner refuses must be refused by this side too (else: not compared). */
  readonly refusesLikePlanner: boolean
  /** The ids the side shows `who` of the table's current rows, or what it threw. */
  outcome(db: TestDatabase, bound: BoundPolicy, who: Principal): Promise<Outcome>
}

const appWall: Wall = {
  name: 'app',
  refusesLikePlanner: true,
  async outcome(db, bound, who) {
    let predicate: ReturnType<typeof visibilityPredicate>
    try {
      predicate = visibilityPredicate(planVisibility(visModel(bound), who), columnRef('t0'))
    } catch (error) {
      return thrown(error)
    }
    const rows = await db.admin
      .selectFrom('vis_rows as t0')
      .select('t0.id')
      .where(predicate)
      .orderBy('t0.id')
      .execute()
    return { kind: 'ids', ids: rows.map((r) => r.id as number) }
  },
}

const rlsWall: Wall = {
  name: 'rls',
  refusesLikePlanner: false,
  async outcome(db, bound, who) {
    await applyRls(db.admin, generateRls(bound))
    const softDelete = visModel(bound).policy.write.softDelete !== null
    const executor = createExecutor({ db: db.app, ...(db.appRole === undefined ? {} : { role: db.appRole }) })
    const rows = await executor.run(
      { access: 'read', requestId: 'rls-vis', principal: who, claims: true, statementTimeoutMs: 5000 },
      async (q) =>
        (
          await sql<{
            id: number
          }>`select id from vis_rows ${sql.raw(softDelete ? 'where deleted_at is null ' : '')}order by id`.execute(
            q,
          )
        ).rows,
    )
    return { kind: 'ids', ids: rows.map((r) => r.id) }
  },
}

function visModel(bound: BoundPolicy): BoundModel {
  const model = bound.models['Vis']
  if (!model) throw new Error('no model Vis')
  return model
}

describeEachDatabase(
  'row visibility agrees between the in-memory evaluator, the SQL predicate and the generated RLS',
  (db) => {
    let schema: DbSchema

    beforeAll(async () => {
      const admin = db().admin
      await sql`
      create table vis_rows (
        id int primary key, tenant_id text, org_id text, owner_id text, is_public boolean, level int,
        deleted_at timestamptz
      )`.execute(admin)
      await sql`grant select on vis_rows to tessera_app`.execute(admin)
      schema = await introspectSchema(admin)
    })

    /** Replaces the table's rows; returns them as the database hands them back (timestamptz as Date). */
    async function load(rows: readonly RowInput[]): Promise<Record<string, unknown>[]> {
      const admin = db().admin
      await sql`truncate vis_rows`.execute(admin)
      if (rows.length > 0)
        await admin
          .insertInto('vis_rows')
          .values(rows.map((r, i) => ({ id: i + 1, ...r })))
          .execute()
      return admin.selectFrom('vis_rows').selectAll().orderBy('id').execute()
    }

    /** The bound policy, or null when the policy is invalid by design (rejected by definePolicy / bindPolicy). */
    function bind(input: PolicyInput): BoundPolicy | null {
      try {
        return bindPolicy(definePolicy(input), schema)
      } catch (error) {
        if (isTesseraError(error) && error.code === 'POLICY_INVALID') return null
        throw error
      }
    }

    for (const wall of [appWall, rlsWall]) {
      it(`${wall.name}: shows exactly the rows isRowVisible accepts, for random policies, principals and rows`, async () => {
        let attempted = 0
        let valid = 0
        let throwing = 0
        let partial = 0
        await fc.assert(
          fc.asyncProperty(rowsArb, principalArb, policyCaseArb, async (rows, who, c) => {
            attempted++
            const input = policyInputOf(c)
            const bound = bind(input)
            fc.pre(bound !== null)
            if (bound === null) return // for the type checker; fc.pre has already skipped the run
            valid++
            const stored = await load(rows)
            const expected = memoryOutcome(visModel(bound), stored, who)
            const label = JSON.stringify({ policy: input.models['Vis'], principal: who })
            if (expected.kind === 'throws') {
              expect(expected.code, label).toBe('TENANT_SCOPE_REQUIRED')
              throwing++
              if (!wall.refusesLikePlanner) return
            } else if (expected.ids.length > 0 && expected.ids.length < stored.length) {
              partial++
            }
            expect(await wall.outcome(db(), bound, who), label).toEqual(expected)
          }),
          { numRuns: 100, seed: 1415 },
        )
        // The property must not hold vacuously: most generated policies load, and the visible set is usually a
        // proper, non-empty subset of the rows.
        expect(valid * 2).toBeGreaterThanOrEqual(attempted)
        expect(partial).toBeGreaterThanOrEqual(15)
        expect(throwing).toBeGreaterThan(0)
      }, 300_000)
    }

    it('agrees with what toolset.query returns end to end', async () => {
      // An app-mode toolset sets no claims: RLS left on by the rls runs would hide every row.
      await sql`alter table vis_rows no force row level security`.execute(db().admin)
      await sql`alter table vis_rows disable row level security`.execute(db().admin)
      let compared = 0
      await fc.assert(
        fc.asyncProperty(rowsArb, principalArb, policyCaseArb, async (rows, who, c) => {
          const input = policyInputOf(c)
          const bound = bind(input)
          fc.pre(bound !== null)
          if (bound === null) return
          const stored = await load(rows)
          const expected = memoryOutcome(visModel(bound), stored, who)
          const { toolset } = await toolsetFor(db(), input)
          let actual: Outcome
          try {
            const r = await toolset.query(as(who), {
              model: 'Vis',
              select: ['id'],
              orderBy: [{ field: 'id' }],
              limit: 100,
            })
            actual = { kind: 'ids', ids: r.rows.map((row) => row['id'] as number) }
          } catch (error) {
            actual = thrown(error)
          }
          expect(actual, JSON.stringify({ policy: input.models['Vis'], principal: who })).toEqual(expected)
          compared++
        }),
        { numRuns: 8 },
      )
      expect(compared).toBe(8)
    })

    it.each<[string, PolicyInput['models'][string], Principal, readonly number[]]>([
      [
        'contract shared-resources pattern with a restrictive rule and soft delete',
        {
          table: 'vis_rows',
          defaultFieldAction: 'allow',
          unscopedColumns: ['org_id'],
          rowPolicies: [
            {
              name: 'shared_or_own',
              condition: 'is_public = true OR tenant_id = principal.tenantId',
              mode: 'permissive',
            },
            { name: 'tenant_required', condition: 'tenant_id IS NOT NULL', mode: 'restrictive' },
          ],
          write: { softDelete: { field: 'deleted_at' } },
        },
        { tenantId: 't1' },
        [1, 3, 6],
      ],
      [
        'a bypass keeps the restrictive rule and soft delete but drops the scope',
        {
          table: 'vis_rows',
          defaultFieldAction: 'allow',
          unscopedColumns: ['org_id'],
          scoping: { tenant_id: 'principal.tenantId' },
          rowPolicies: [
            { name: 'admin', condition: "'admin' IN principal.roles", bypass: true },
            { name: 'low', condition: 'level < 3', mode: 'restrictive' },
          ],
          write: { softDelete: { field: 'deleted_at' } },
        },
        { tenantId: 't1', roles: ['admin'] },
        [1, 2, 3, 4],
      ],
      [
        'two scoped columns, one of them NULL on a row',
        {
          table: 'vis_rows',
          defaultFieldAction: 'allow',
          scoping: { tenant_id: 'principal.tenantId', org_id: 'principal.metadata.orgId' },
        },
        { tenantId: 't1', metadata: { orgId: 'o1' } },
        [1, 6],
      ],
      [
        'a shared model narrowed by a restrictive rule that a NULL does not pass',
        {
          table: 'vis_rows',
          defaultFieldAction: 'allow',
          shared: true,
          rowPolicies: [{ name: 'not_x', condition: "NOT (org_id = 'x')", mode: 'restrictive' }],
        },
        { tenantId: 't3' },
        [1, 2, 4, 6],
      ],
    ])('app and rls agree on %s', async (_title, modelInput, who, visible) => {
      const rows: RowInput[] = [
        { tenant_id: 't1', org_id: 'o1', owner_id: 'u1', is_public: false, level: 1, deleted_at: null },
        { tenant_id: 't2', org_id: 'o1', owner_id: 'u2', is_public: false, level: 2, deleted_at: null },
        { tenant_id: 't2', org_id: 'x', owner_id: null, is_public: true, level: 0, deleted_at: null },
        { tenant_id: null, org_id: 'o1', owner_id: 'u1', is_public: true, level: 1, deleted_at: null },
        { tenant_id: 't1', org_id: null, owner_id: 'u1', is_public: true, level: 1, deleted_at: DELETED_AT },
        { tenant_id: 't1', org_id: 'o1', owner_id: 'u1', is_public: true, level: 3, deleted_at: null },
      ]
      const bound = bind({ models: { Vis: modelInput } })
      expect(bound).not.toBeNull()
      if (bound === null) return
      const stored = await load(rows)
      const expected = memoryOutcome(visModel(bound), stored, who)
      expect(expected).toEqual({ kind: 'ids', ids: visible })
      for (const wall of [appWall, rlsWall])
        expect(await wall.outcome(db(), bound, who), wall.name).toEqual(expected)
    })
  },
)
