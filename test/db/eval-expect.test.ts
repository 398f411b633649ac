import { fileURLToPath } from 'node:url'
import { expect, it } from 'vitest'
import { definePolicy } from '../../src/policy/define-policy.ts'
import {
  EvalAssertionError,
  EvalHarness,
  expectNoCrossTenantLeaks,
  expectSuitePasses,
  generateIsolationSuite,
  runSuite,
} from '../../src/eval/index.ts'
import { describeEachDatabase } from '../support/databases.ts'
import { DEMO, ordersUnscoped } from '../support/broken-policies.ts'
import { toolsetFor } from '../support/toolset.ts'

const suiteFile = (name: string): string => fileURLToPath(new URL(`../../evals/${name}`, import.meta.url))

describeEachDatabase('eval assertions in a test runner', (db) => {
  it('expectNoCrossTenantLeaks passes for the demo policy, cursor reuse across tenants included', async () => {
    const { toolset } = await toolsetFor(db(), DEMO)
    const report = await expectNoCrossTenantLeaks(toolset, { db: db().admin, maxPairs: 1 })
    const reuse = report.cases.filter((c) => c.name.endsWith("reuse of the victim's cursor"))
    expect(reuse.map((c) => c.name)).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/: Order reuse/),
        expect.stringMatching(/: Customer reuse/),
      ]),
    )
    expect(reuse.flatMap((c) => [...c.failures, ...c.violations])).toEqual([])
  }, 180_000)

  it('expectSuitePasses runs a YAML suite file and resolves to its report', async () => {
    const { toolset } = await toolsetFor(db(), DEMO)
    const report = await expectSuitePasses(toolset, suiteFile('demo-reads.yaml'), { db: db().admin })
    expect(report.cases.length).toBeGreaterThan(5)
  }, 120_000)

  it('a cursor issued to one tenant, sent by another, fails the case when the toolset accepts it', async () => {
    // The generated case expects INVALID_CURSOR; a case that expects success instead must fail with the reason.
    const { toolset } = await toolsetFor(db(), DEMO)
    const harness = new EvalHarness({ toolset, db: db().admin })
    const suite = await generateIsolationSuite(harness.reference, harness.oracle(), { maxPairs: 1 })
    const reuse = suite.cases.find((c) => c.cursorFrom !== undefined)
    if (reuse === undefined) throw new Error('no cursor reuse case generated')
    const report = await runSuite(harness, { ...suite, cases: [{ ...reuse, expect: { ok: true } }] })
    expect(report.cases[0]?.failures).toEqual([
      'expected success, got INVALID_CURSOR: The cursor is not valid for this query',
    ])
  }, 120_000)

  // Last: the broken policy lets cross-tenant writes through and changes the data.
  it('fails the test with every leaking call, row and field when the policy is broken', async () => {
    const { toolset } = await toolsetFor(db(), ordersUnscoped())
    const error = await expectNoCrossTenantLeaks(toolset, {
      db: db().admin,
      policy: definePolicy(DEMO),
      maxPairs: 1,
    }).then(
      () => undefined,
      (e: unknown) => e,
    )
    expect(error).toBeInstanceOf(EvalAssertionError)
    const e = error as EvalAssertionError
    expect(e.message).toMatch(/^\d+ of \d+ eval cases failed in generated isolation suite/)
    expect(e.message).toMatch(/noCrossTenantData: db_\w+ Order as tenant "/)
    expect(e.violations.some((v) => v.model === 'Order' && v.row !== undefined)).toBe(true)
  }, 180_000)
})
