import { expect, it } from 'vitest'
import { definePolicy } from '../../src/policy/define-policy.ts'
import type { PolicyInput } from '../../src/policy/policy-schema.ts'
import {
  EvalHarness,
  generateIsolationSuite,
  parseSuite,
  runSuite,
  suiteToYaml,
  type EvalSuite,
} from '../../src/eval/index.ts'
import { describeEachDatabase, type TestDatabase } from '../support/databases.ts'
import { TENANT_A, TENANT_B } from '../support/saas.ts'
import { toolsetFor } from '../support/toolset.ts'
import {
  DEMO,
  customersUnscoped,
  emailUnmasked,
  ordersUnscoped,
  passwordAllowed,
} from '../support/broken-policies.ts'

async function harness(db: TestDatabase, enforced: PolicyInput): Promise<EvalHarness> {
  const { toolset } = await toolsetFor(db, enforced)
  return new EvalHarness({ toolset, db: db.admin, policy: definePolicy(DEMO) })
}

describeEachDatabase('generated isolation suite for policies/demo.yaml', (db) => {
  let suite: EvalSuite

  it('derives principals from the data and attacks every scoped model across tenants', async () => {
    const h = await harness(db(), DEMO)
    suite = await generateIsolationSuite(h.reference, h.oracle(), { maxPairs: 1 })
    const tenants = Object.values(suite.principals).map((p) => p.tenantId)
    expect(tenants.slice(0, 2)).toEqual([TENANT_A, TENANT_B])
    const tools = new Set(suite.cases.map((c) => c.tool))
    expect([...tools].sort()).toEqual([
      'db_aggregate',
      'db_create',
      'db_delete',
      'db_get',
      'db_query',
      'db_update',
    ])
    // Written out as YAML, it loads back as the same suite.
    expect(parseSuite(suiteToYaml(suite), 'generated.yaml')).toEqual(suite)
  }, 60_000)

  it('runs with no violation against the correct policy', async () => {
    const report = await runSuite(await harness(db(), DEMO), suite)
    const problems = report.cases.flatMap((c) => [...c.failures, ...c.violations.map((v) => v.message)])
    expect(problems).toEqual([])
  }, 120_000)

  it('catches each deliberately broken policy', async () => {
    for (const [name, broken] of Object.entries({
      ordersUnscoped,
      passwordAllowed,
      customersUnscoped,
      emailUnmasked,
    })) {
      const report = await runSuite(await harness(db(), broken()), suite)
      const caught = report.cases.filter((c) => c.failures.length + c.violations.length > 0)
      expect(caught.length, name).toBeGreaterThan(0)
    }
  }, 240_000)
})
