import { expect, it } from 'vitest'
import { definePolicy } from '../../src/policy/define-policy.ts'
import type { PolicyInput } from '../../src/policy/policy-schema.ts'
import { EvalHarness, fuzz, parseSuite } from '../../src/eval/index.ts'
import { describeEachDatabase, type TestDatabase } from '../support/databases.ts'
import { toolsetFor } from '../support/toolset.ts'
import { DEMO, ordersUnscoped } from '../support/broken-policies.ts'

async function harness(db: TestDatabase, enforced: PolicyInput): Promise<EvalHarness> {
  const { toolset } = await toolsetFor(db, enforced)
  return new EvalHarness({ toolset, db: db.admin, policy: definePolicy(DEMO) })
}

describeEachDatabase('adversarial fuzzer', (db) => {
  it('finds no violation in a seeded run against the correct policy', async () => {
    const report = await fuzz(await harness(db(), DEMO), { runs: 120, seed: 7 })
    expect(report.failure?.violations ?? []).toEqual([])
    expect(report.completedRuns).toBe(120)
  }, 240_000)

  it('shrinks a leak under a broken policy to one replayable YAML case', async () => {
    const report = await fuzz(await harness(db(), ordersUnscoped()), { runs: 300, seed: 7 })
    expect(report.failure).not.toBeNull()
    expect(report.failure?.violations.map((v) => v.invariant)).toContain('noCrossTenantData')
    const suite = parseSuite(report.failure?.yaml ?? '', 'counterexample.yaml')
    expect(suite.cases).toHaveLength(1)
    expect(suite.cases[0]?.args).toMatchObject({ model: 'Order' })
  }, 240_000)
})
