/**
 * Differential corpus across enforcement modes (docs/rls.md): for every policy in policies/ over the SaaS fixture
 * (four tenants), a seeded corpus of generated read calls (the fuzzer's arbitraries, src/eval/fuzz-arbitraries.ts:
 * valid and hostile queries, gets, aggregates, other tenants' keys and cursors) runs through toolsets in `app`,
 * `rls` and `both` mode, all connected as the non-superuser, non-owner application role. Every call must
 * return the same rows — or the same error code and message — in the three modes; any difference fails with
 * the call.
 *
 * `app` runs with the tables' RLS turned off (an app-mode toolset sets no claims, so over the generated RLS it
 * would see no row at all, docs/rls.md); then the generated RLS is applied and `rls` and `both` run. The corpus
 * is read-only, so the data are the same for all three; writes in every mode are covered by
 * test/db/rls-enforcement.test.ts.
 *
 * Size: TESSERA_CORPUS_CALLS calls in all (default 320, split over the policies); `npm run eval:rls-corpus`
 * runs 2,000.
 */
import { readdirSync } from 'node:fs'
import fc from 'fast-check'
import { Kysely, PostgresDialect } from 'kysely'
import { beforeAll, expect, it } from 'vitest'
import type { Principal } from '../../src/context/index.ts'
import {
  EvalHarness,
  fuzzCallArb,
  generatePrincipals,
  sampleFuzzData,
  type FuzzCall,
  type FuzzSamples,
} from '../../src/eval/index.ts'
import type { EnforcementMode } from '../../src/executor/index.ts'
import { createToolset } from '../../src/index.ts'
import { bindPolicy, type BoundPolicy, loadPolicyFile, type Policy } from '../../src/policy/index.ts'
import { applyRls, dropRlsStatements, generateRls, type GeneratedRls } from '../../src/rls/index.ts'
import { runDdl } from '../../src/executor/index.ts'
import { introspectSchema } from '../../src/schema/index.ts'
import type { Toolset } from '../../src/tools/index.ts'
import { APP_ROLE, describeEachDatabase } from '../support/databases.ts'
import { ALICE, ANDY, BOB, ERIN, SUPER, TENANT_A2, TEST_SECRET } from '../support/saas.ts'

const TOTAL_CALLS = Number(process.env['TESSERA_CORPUS_CALLS'] ?? '320')
const SEED = 1414
const READ_TOOLS = new Set(['db_query', 'db_get', 'db_aggregate'])

/** The fixture's principals (four tenants, roles, metadata), joined by those the eval derives per policy. */
const FIXTURE_PRINCIPALS: readonly { name: string; principal: Principal }[] = [
  { name: 'alice', principal: ALICE },
  { name: 'andy', principal: ANDY },
  { name: 'bob', principal: BOB },
  { name: 'erin', principal: ERIN },
  { name: 'super', principal: SUPER },
  { name: 'a2-no-roles', principal: { tenantId: TENANT_A2 } },
]

const POLICY_FILES = readdirSync('policies')
  .filter((f) => f.endsWith('.yaml'))
  .sort()

/**
 * Plain reads that mostly succeed, to weigh against the fuzzer's hostile ones: a model's readable fields, an
 * equality filter on a value stored by some tenant, a key of some tenant's row, a grouped count.
 */
function plainReadArb(reference: BoundPolicy, samples: FuzzSamples): fc.Arbitrary<FuzzCall> {
  const perModel = Object.values(reference.models).map((model) => {
    const readable = Object.values(model.fields)
      .filter((f) => f.rule.action === 'allow')
      .map((f) => f.name)
    const values = samples.values[model.name] ?? {}
    const filterable = readable.filter((f) => (values[f]?.length ?? 0) > 0)
    const pk = model.primaryKey[0] ?? 'id'
    const ids = values[pk] ?? []
    const where =
      filterable.length === 0
        ? fc.constant(undefined)
        : fc.option(
            fc
              .constantFrom(...filterable)
              .chain((field) =>
                fc.constantFrom(...(values[field] ?? [])).map((value) => ({ field, op: 'eq', value })),
              ),
            { nil: undefined },
          )
    const query = fc
      .record({
        select: fc.subarray(readable, { minLength: Math.min(1, readable.length) }),
        where,
        limit: fc.integer({ min: 1, max: 25 }),
      })
      .map((a) => ({
        tool: 'db_query',
        args: Object.fromEntries(
          Object.entries({ model: model.name, ...a }).filter(([, v]) => v !== undefined),
        ),
      }))
    const get =
      ids.length === 0
        ? query
        : fc.constantFrom(...ids).map((id) => ({ tool: 'db_get', args: { model: model.name, id } }))
    const count = fc
      .option(fc.constantFrom(...(filterable.length > 0 ? filterable : readable)), { nil: undefined })
      .map((g) => ({
        tool: 'db_aggregate',
        args:
          g === undefined
            ? { model: model.name, op: 'count' }
            : { model: model.name, op: 'count', groupBy: [g] },
      }))
    return fc.oneof(
      { arbitrary: query, weight: 3 },
      { arbitrary: get, weight: 2 },
      { arbitrary: count, weight: 1 },
    )
  })
  return fc
    .tuple(fc.constantFrom(...samples.principals), fc.oneof(...perModel))
    .map(([principal, call]) => ({ principal, ...call }))
}

/** What a call answered, in a form equal across modes exactly when the answers are. */
type Answer = { ok: true; data: unknown } | { ok: false; code: string; message: string }

async function answer(toolset: Toolset, principal: Principal, call: FuzzCall): Promise<Answer> {
  const r = await toolset.call({ principal }, call.tool, call.args)
  if (!r.ok) return { ok: false, code: r.error.code, message: r.error.message }
  const data = r.data as { nextCursor?: unknown }
  if (typeof data.nextCursor !== 'string') return { ok: true, data }
  // A cursor is sealed with a fresh nonce, so its text differs per call: compare the page it leads to.
  const next = await answer(toolset, principal, { ...call, args: { ...call.args, cursor: data.nextCursor } })
  return { ok: true, data: { ...data, nextCursor: next } }
}

describeEachDatabase('app, rls and both enforcement answer a generated corpus of calls identically', (db) => {
  const loaded: { file: string; policy: Policy; generated: GeneratedRls }[] = []

  beforeAll(async () => {
    const schema = await introspectSchema(db().admin, { role: APP_ROLE })
    for (const file of POLICY_FILES) {
      const policy = await loadPolicyFile(`policies/${file}`)
      loaded.push({ file, policy, generated: generateRls(bindPolicy(policy, schema)) })
    }
  }, 60_000)

  function toolset(policy: Policy, enforcement: EnforcementMode): Promise<Toolset> {
    const { appPool, appRole } = db()
    return createToolset({
      db: new Kysely<any>({ dialect: new PostgresDialect({ pool: appPool }) }),
      policy,
      secret: TEST_SECRET,
      enforcement,
      ...(appRole === undefined ? {} : { role: appRole }),
    })
  }

  /** Every fixture table any policy covers, with RLS off: what an app-mode toolset runs against. */
  async function rlsOff(): Promise<void> {
    for (const { generated } of loaded) await runDdl(db().admin, dropRlsStatements(generated))
  }

  it(`returns the same rows or the same error in all three modes for ${TOTAL_CALLS} generated calls over every policy`, async () => {
    const perPolicy = Math.ceil(TOTAL_CALLS / POLICY_FILES.length)
    let calls = 0
    let withRows = 0
    let refused = 0
    for (const { file, policy, generated } of loaded) {
      await rlsOff()
      const app = await toolset(policy, 'app')
      const harness = new EvalHarness({ toolset: app, db: db().admin, policy })
      const principals = [
        ...FIXTURE_PRINCIPALS,
        ...(await generatePrincipals(harness.reference, harness.oracle())),
      ]
      const byName = new Map(principals.map((p) => [p.name, p.principal]))
      const samples = await sampleFuzzData(harness, principals)
      const corpus = fc.sample(
        fc.oneof(
          plainReadArb(harness.reference, samples),
          fuzzCallArb(harness.reference, samples).filter((c) => READ_TOOLS.has(c.tool)),
        ),
        { seed: SEED, numRuns: perPolicy },
      )
      const principalOf = (call: FuzzCall): Principal => {
        const p = byName.get(call.principal)
        if (!p) throw new Error(`unknown principal ${call.principal}`)
        return p
      }
      const appAnswers: Answer[] = []
      for (const call of corpus) appAnswers.push(await answer(app, principalOf(call), call))

      await applyRls(db().admin, generated)
      const rls = await toolset(policy, 'rls')
      const both = await toolset(policy, 'both')
      for (const [i, call] of corpus.entries()) {
        const expected = appAnswers[i]
        const label = `${file}: ${JSON.stringify(call)}`
        expect(await answer(rls, principalOf(call), call), `rls ≠ app for ${label}`).toEqual(expected)
        expect(await answer(both, principalOf(call), call), `both ≠ app for ${label}`).toEqual(expected)
        calls++
        if (expected?.ok === true && /"rows?":[[{]/.test(JSON.stringify(expected.data))) withRows++
        if (expected?.ok === false) refused++
      }
    }
    expect(loaded.length).toBe(POLICY_FILES.length)
    expect(calls).toBeGreaterThanOrEqual(TOTAL_CALLS)
    // Not vacuous: many calls return rows, and some are refused (hostile arguments, other tenants' keys).
    expect(withRows * 3).toBeGreaterThan(calls)
    expect(refused).toBeGreaterThan(0)
  }, 1_200_000)
})
