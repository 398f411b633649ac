/**
 * One eval run, as `npm run eval` and `tessera eval` perform it: suite files (each judged by its own policy,
 * the toolset optionally under another one), the generated isolation suite of a policy, and a fuzz run, all
 * on one database. The embedded fixture is reset after any suite whose writes succeeded, so every suite sees
 * the seeded data.
 */
import { dirname, resolve } from 'node:path'
import { TesseraError } from '../errors/index.ts'
import { loadPolicyFile, type Policy } from '../policy/index.ts'
import { harnessFor, openEvalDatabase, type EvalDatabase } from './eval-target.ts'
import { fuzz, type FuzzOptions, type FuzzReport } from './fuzz.ts'
import { generateIsolationSuite } from './generate-suite.ts'
import { runSuite, suitePassed, type CaseReport, type SuiteReport } from './run-suite.ts'
import { loadSuiteFile, type EvalSuite } from './suite-file.ts'
import { WRITE_TOOLS } from './write-invariants.ts'

export interface EvalRunOptions {
  readonly suiteFiles: readonly string[]
  /** Policy for suites that name none, for the generated suite and the fuzzer (needed only for those). */
  readonly defaultPolicyFile?: string
  /** Run every toolset under this policy instead (results are still judged by each suite's own policy). */
  readonly policyOverrideFile?: string
  /** Add the generated isolation suite of the default policy. */
  readonly generate?: boolean
  /** A seeded fuzz run under the default policy after the suites. */
  readonly fuzz?: FuzzOptions
  readonly databaseUrl?: string
  readonly role?: string
  readonly onCase?: (report: CaseReport) => void
  readonly onSuite?: (report: SuiteReport) => void
  /** Receives the generated isolation suite before it runs (to write it out as YAML). */
  readonly onGenerated?: (suite: EvalSuite) => void
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
  const defaultPolicy =
    options.defaultPolicyFile === undefined ? undefined : await loadPolicyFile(options.defaultPolicyFile)
  const needDefault = (why: string): Policy => {
    if (defaultPolicy !== undefined) return defaultPolicy
    throw new TesseraError('VALIDATION_ERROR', `${why} needs a policy`, {
      hints: ['Name one with --policy FILE (or `policy:` in the suite file)'],
    })
  }
  const override =
    options.policyOverrideFile === undefined ? undefined : await loadPolicyFile(options.policyOverrideFile)
  const policies = new Map<string, Policy>()
  const policyOf = async (file: string, suite: EvalSuite): Promise<Policy> => {
    if (suite.policy === undefined) return needDefault(`Suite ${file}`)
    const path = resolve(dirname(file), suite.policy)
    let p = policies.get(path)
    if (!p) {
      p = await loadPolicyFile(path)
      policies.set(path, p)
    }
    return p
  }
  // Every suite's policy is loaded before the database opens: a missing policy is a usage error, found early.
  for (const { file, suite } of suites) await policyOf(file, suite)
  if (options.generate === true) needDefault('--generate')
  if (options.fuzz !== undefined) needDefault('--fuzz')
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
      const policy = needDefault('--generate')
      const judge = await harnessFor(database, { policy })
      const generated = await generateIsolationSuite(judge.reference, judge.oracle())
      options.onGenerated?.(generated)
      reports.push(await runOne(database, generated, policy, override, options, undefined))
    }
    if (options.fuzz !== undefined) {
      const policy = needDefault('--fuzz')
      const harness = await harnessFor(database, { policy: override ?? policy, reference: policy })
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
