import { readdirSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { expect, it } from 'vitest'
import { loadPolicyFile } from '../../src/policy/index.ts'
import type { PolicyInput } from '../../src/policy/policy-schema.ts'
import {
  EvalHarness,
  loadSuiteFile,
  runSuite,
  type LoadedSuite,
  type SuiteReport,
} from '../../src/eval/index.ts'
import { describeEachDatabase, type TestDatabase } from '../support/databases.ts'
import { toolsetFor } from '../support/toolset.ts'
import {
  customersUnscoped,
  emailUnmasked,
  ordersUnscoped,
  passwordAllowed,
  restrictiveDropped,
} from '../support/broken-policies.ts'

const dir = fileURLToPath(new URL('../../evals/', import.meta.url))
const files = readdirSync(dir)
  .filter((f) => f.endsWith('.yaml'))
  .sort()

async function load(name: string): Promise<LoadedSuite> {
  return loadSuiteFile(dir + name)
}

/** Runs a suite with the toolset under `enforced` (default: the suite's own policy), judged by the suite's policy. */
async function run(db: TestDatabase, loaded: LoadedSuite, enforced?: PolicyInput): Promise<SuiteReport> {
  const reference = await loadPolicyFile(
    fileURLToPath(new URL(loaded.suite.policy ?? '../policies/demo.yaml', `file://${dir}`)),
  )
  const { toolset } = await toolsetFor(db, enforced ?? (reference.source as PolicyInput))
  const harness = new EvalHarness({ toolset, db: db.admin, policy: reference })
  return runSuite(harness, loaded.suite, { file: loaded.file })
}

const problems = (r: SuiteReport): string[] =>
  r.cases.flatMap((c) => [...c.failures.map((f) => `${c.name}: ${f}`), ...c.violations.map((v) => v.message)])

describeEachDatabase('shipped eval suites', (db) => {
  it('ship a suite for every row-policy pattern in policies/', () => {
    const policies = readdirSync(fileURLToPath(new URL('../../policies/', import.meta.url)))
      .filter((f) => f.endsWith('.yaml') && f !== 'demo.yaml')
      .map((f) => `pattern-${f}`)
    expect(files).toEqual(expect.arrayContaining(policies))
  })

  it('catch each deliberately broken policy in at least one read case, printing the call and the row', async () => {
    const reads = [await load('demo-reads.yaml'), await load('demo-hostile.yaml')]
    for (const broken of [ordersUnscoped(), passwordAllowed(), customersUnscoped(), emailUnmasked()]) {
      const found = (await Promise.all(reads.map((s) => run(db(), s, broken)))).flatMap(problems)
      expect(found.length, JSON.stringify(broken).slice(0, 80)).toBeGreaterThan(0)
    }
    const caught = problems(await run(db(), await load('pattern-not-null-tenant.yaml'), restrictiveDropped()))
    expect(caught.join('\n')).toContain('00000000-0000-4000-8000-0000000000aa')
  }, 240_000)

  // Last: the write suite changes data the read suites count.
  it('pass against their own policies, the write suite last', async () => {
    const ordered = [...files.filter((f) => f !== 'demo-writes.yaml'), 'demo-writes.yaml']
    for (const f of ordered) {
      const report = await run(db(), await load(f))
      expect(problems(report), f).toEqual([])
      expect(report.cases.length).toBeGreaterThan(0)
    }
  }, 120_000)
})
