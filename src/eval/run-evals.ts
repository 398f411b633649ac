/**
 * One eval run, as `npm run eval` and `tessera eval` perform it: suite files (each judged by its own policy,
 * the toolset optionally under another one), the generated isolation suite of a policy, and a fuzz run, all
 * on one database. The embedded fixture is reset after any suite whose writes succeeded, so every suite sees
 * the seeded data.
 */
import { dirname, resolve } from 'node:path'
import { loadPolicyFile, type Policy } from '../policy/index.ts'
import { harnessFor, openEvalDatabase, type EvalDatabase } from './eval-target.ts'
import { fuzz, type FuzzReport } from './fuzz.ts'
import { generateIsolationSuite } from './generate-suite.ts'
import { runSuite, suitePassed, type CaseReport, type SuiteReport } from './run-suite.ts'
import { loadSuiteFile, type EvalSuite } from './suite-file.ts'
import { WRITE_TOOLS } from './write-invariants.ts'

export interface EvalRunOptions {
  readonly suiteFiles: readonly string[]
  /** Policy for suites that name none, and for the generated suite. */
  readonly defaultPolicyFile: string
  /** Run every toolset under this policy instead (results are still judged by each suite's own policy). */
  readonly policyOverrideFile?: string
  /** Add the generated isolation suite of the default policy. */
  readonly generate?: boolean
  /** A seeded fuzz run under the default policy after the suites. */
  readonly fuzz?: { readonly runs: number; readonly seed: number; readonly timeLimitMs?: number }
  readonly databaseUrl?: string
  readonly role?: string
  readonly onCase?: (report: CaseReport) => void
  readonly onSuite?: (report: SuiteReport) => void
}

export interface EvalRunReport {
  readonly suites: readonly SuiteReport[]
  readonly fuzz: FuzzReport | null
  readonly passed: boolean
  readonly durationMs: number
}

async function runOne(
  database: EvalDatabase,
  suite: EvalSuite,
  reference: Policy,
  override: Policy | undefined,
  options: EvalRunOptions,
  file: string | undefined,
): Promise<SuiteReport> {
  const harness = await harnessFor(database, { policy: override ?? reference, reference })
  let wrote = false
  const report = await runSuite(harness, suite, {
    ...(file === undefined ? {} : { file }),
    onCase: (c) => {
      options.onCase?.(c)
    },
  })
  // Whether any write may have changed data: a successful write call leaves an audit record of success.
  for (const tool of WRITE_TOOLS) {
    if ((await harness.toolset.audit.count({ outcome: 'success', tool })) > 0) wrote = true
  }
  if (wrote) await database.reset()
  options.onSuite?.(report)
  return report
}

export async function runEvals(options: EvalRunOptions): Promise<EvalRunReport> {
  const started = performance.now()
  const suites = await Promise.all(options.suiteFiles.map(loadSuiteFile))
  const defaultPolicy = await loadPolicyFile(options.defaultPolicyFile)
  const override =
    options.policyOverrideFile === undefined ? undefined : await loadPolicyFile(options.policyOverrideFile)
  const policies = new Map<string, Policy>()
  const policyOf = async (file: string, suite: EvalSuite): Promise<Policy> => {
    if (suite.policy === undefined) return defaultPolicy
    const path = resolve(dirname(file), suite.policy)
    let p = policies.get(path)
    if (!p) {
      p = await loadPolicyFile(path)
      policies.set(path, p)
    }
    return p
  }
  const database = await openEvalDatabase({
    ...(options.databaseUrl === undefined ? {} : { databaseUrl: options.databaseUrl }),
    ...(options.role === undefined ? {} : { role: options.role }),
  })
  const reports: SuiteReport[] = []
  let fuzzReport: FuzzReport | null = null
  try {
    for (const { file, suite } of suites) {
      reports.push(await runOne(database, suite, await policyOf(file, suite), override, options, file))
    }
    if (options.generate === true) {
      const judge = await harnessFor(database, { policy: defaultPolicy })
      const generated = await generateIsolationSuite(judge.reference, judge.oracle())
      reports.push(await runOne(database, generated, defaultPolicy, override, options, undefined))
    }
    if (options.fuzz !== undefined) {
      const harness = await harnessFor(database, {
        policy: override ?? defaultPolicy,
        reference: defaultPolicy,
      })
      fuzzReport = await fuzz(harness, options.fuzz)
    }
  } finally {
    await database.close()
  }
  return {
    suites: reports,
    fuzz: fuzzReport,
    passed: reports.every(suitePassed) && fuzzReport?.failure == null,
    durationMs: performance.now() - started,
  }
}
