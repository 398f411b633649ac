/**
 * The harness inside a user's test runner (vitest, jest, node:test): one awaited call runs a YAML suite or the
 * isolation suite generated from the policy and the live data, and throws an EvalAssertionError — which any
 * runner reports as a failed test — whose message lists every failed case with its call, row and field.
 * No runner is imported: a thrown error is the one assertion every runner understands.
 */
import type { Policy } from '../policy/index.ts'
import type { AnyDatabase } from '../schema/index.ts'
import type { Toolset } from '../tools/index.ts'
import { EvalHarness } from './eval-harness.ts'
import type { Violation } from './invariant.ts'
import { generateIsolationSuite, type GenerateOptions } from './generate-suite.ts'
import { runSuite, suitePassed, type SuiteReport } from './run-suite.ts'
import { loadSuiteFile, type EvalSuite } from './suite-file.ts'

export interface EvalTarget {
  /** Unscoped connection to the toolset's database (the oracle). Never hand it to an agent. */
  readonly db: AnyDatabase
  /** The policy results are judged by (default: the toolset's own). */
  readonly policy?: Policy
}

/** Thrown when a suite has a failed expectation or a violated invariant. */
export class EvalAssertionError extends Error {
  readonly report: SuiteReport
  readonly violations: readonly Violation[]

  constructor(report: SuiteReport) {
    const failed = report.cases.filter((c) => c.failures.length > 0 || c.violations.length > 0)
    const lines = [`${failed.length} of ${report.cases.length} eval cases failed in ${report.name}:`]
    for (const c of failed) {
      lines.push(`✗ ${c.name} (${c.tool} as ${c.principal})`)
      for (const f of c.failures) lines.push(`    expectation: ${f}`)
      for (const v of c.violations) lines.push(`    ${v.invariant}: ${v.message}`)
    }
    super(lines.join('\n'))
    this.name = 'EvalAssertionError'
    this.report = report
    this.violations = failed.flatMap((c) => c.violations)
  }
}

function harnessOf(target: EvalHarness | Toolset, options: EvalTarget | undefined): EvalHarness {
  if (target instanceof EvalHarness) return target
  if (options === undefined) throw new TypeError('Pass { db } (an unscoped connection) with a toolset')
  return new EvalHarness({
    toolset: target,
    db: options.db,
    ...(options.policy === undefined ? {} : { policy: options.policy }),
  })
}

/**
 * Runs a suite (a YAML file or a parsed suite) and throws an EvalAssertionError unless every case passes.
 * Resolves to the report otherwise.
 */
export async function expectSuitePasses(
  target: EvalHarness | Toolset,
  suite: string | EvalSuite,
  options?: EvalTarget,
): Promise<SuiteReport> {
  const harness = harnessOf(target, options)
  const loaded = typeof suite === 'string' ? await loadSuiteFile(suite) : { file: undefined, suite }
  const report = await runSuite(harness, loaded.suite, loaded.file === undefined ? {} : { file: loaded.file })
  if (!suitePassed(report)) throw new EvalAssertionError(report)
  return report
}

/**
 * Generates the isolation suite of the policy from the live data (cross-tenant gets, filters, widening,
 * pages without key columns, includes, aggregates, cursor reuse and, where writes are allowed, cross-tenant
 * writes and foreign-key plants), runs it with every invariant and throws an EvalAssertionError on any
 * violation. Cross-tenant write attempts run for real: use a test database.
 */
export async function expectNoCrossTenantLeaks(
  target: EvalHarness | Toolset,
  options?: EvalTarget & GenerateOptions,
): Promise<SuiteReport> {
  const harness = harnessOf(target, options)
  const generated = await generateIsolationSuite(harness.reference, harness.oracle(), {
    ...(options?.maxPairs === undefined ? {} : { maxPairs: options.maxPairs }),
    ...(options?.name === undefined ? {} : { name: options.name }),
  })
  return expectSuitePasses(harness, generated)
}
