/**
 * Runs a suite's cases in order through a harness: each case's expectation (ok or error code, row count,
 * rows it must include) and its invariants. A failed expectation is a failure of the case; a violated
 * invariant is a violation. Both fail the run.
 */
import type { Principal } from '../context/index.ts'
import type { Row } from '../executor/index.ts'
import type { ToolResult } from '../tools/index.ts'
import type { EvalHarness } from './eval-harness.ts'
import { invariantByName } from './eval-harness.ts'
import type { Violation } from './invariant.ts'
import type { EvalExpect, EvalSuite } from './suite-file.ts'

export interface CaseReport {
  readonly suite: string
  readonly name: string
  readonly tool: string
  readonly principal: string
  /** Unmet expectations, in words. */
  readonly failures: readonly string[]
  readonly violations: readonly Violation[]
  readonly durationMs: number
}

export interface SuiteReport {
  readonly name: string
  readonly file?: string
  readonly cases: readonly CaseReport[]
}

export function suitePassed(report: SuiteReport): boolean {
  return report.cases.every((c) => c.failures.length === 0 && c.violations.length === 0)
}

export async function runSuite(
  harness: EvalHarness,
  suite: EvalSuite,
  options: { file?: string; onCase?: (report: CaseReport) => void } = {},
): Promise<SuiteReport> {
  const cases: CaseReport[] = []
  for (const c of suite.cases) {
    const principal = suite.principals[c.principal] as Principal | undefined
    if (!principal) throw new Error(`suite ${suite.name}: unknown principal ${c.principal}`)
    const started = performance.now()
    let args: unknown = c.args
    if (c.cursorFrom !== undefined) {
      const cursor = await cursorOf(harness, suite, c.cursorFrom)
      if (typeof cursor !== 'string') {
        const report: CaseReport = {
          suite: suite.name,
          name: c.name,
          tool: c.tool,
          principal: c.principal,
          failures: [`cursorFrom: ${cursor.problem}`],
          violations: [],
          durationMs: performance.now() - started,
        }
        cases.push(report)
        options.onCase?.(report)
        continue
      }
      args = { ...c.args, cursor }
    }
    const run = await harness.run(
      { principal },
      {
        tool: c.tool,
        args,
        label: `${suite.name} › ${c.name}`,
        ...(c.invariants === undefined ? {} : { invariants: c.invariants.map(invariantByName) }),
      },
    )
    const report: CaseReport = {
      suite: suite.name,
      name: c.name,
      tool: c.tool,
      principal: c.principal,
      failures: c.expect ? unmet(c.expect, run.result) : [],
      violations: run.violations,
      durationMs: performance.now() - started,
    }
    cases.push(report)
    options.onCase?.(report)
  }
  return { name: suite.name, ...(options.file === undefined ? {} : { file: options.file }), cases }
}

/** The `nextCursor` of a first page read by another principal, or why there is none. */
async function cursorOf(
  harness: EvalHarness,
  suite: EvalSuite,
  from: NonNullable<EvalSuite['cases'][number]['cursorFrom']>,
): Promise<string | { problem: string }> {
  const principal = suite.principals[from.principal] as Principal | undefined
  if (!principal) return { problem: `unknown principal ${from.principal}` }
  const page = await harness.toolset.call({ principal }, 'db_query', from.args)
  if (!page.ok) return { problem: `the first page failed: ${page.error.code}: ${page.error.message}` }
  const next = (page.data as { nextCursor?: unknown }).nextCursor
  return typeof next === 'string' ? next : { problem: 'the first page has no nextCursor (too few rows)' }
}

function unmet(expect: EvalExpect, result: ToolResult): string[] {
  if (expect.errorCode !== undefined) {
    if (result.ok) return [`expected ${expect.errorCode}, but the call succeeded`]
    return result.error.code === expect.errorCode
      ? []
      : [`expected ${expect.errorCode}, got ${result.error.code}: ${result.error.message}`]
  }
  if (!result.ok) return [`expected success, got ${result.error.code}: ${result.error.message}`]
  const failures: string[] = []
  const rows = resultRows(result.data)
  if (expect.rowCount !== undefined && rows.length !== expect.rowCount) {
    failures.push(`expected ${expect.rowCount} rows, got ${rows.length}`)
  }
  for (const wanted of expect.rowsInclude ?? []) {
    const keys = Object.keys(wanted)
    if (!rows.some((r) => keys.every((k) => JSON.stringify(r[k]) === JSON.stringify(wanted[k])))) {
      failures.push(`expected a row like ${JSON.stringify(wanted)}`)
    }
  }
  return failures
}

/** The rows a result holds, for rowCount/rowsInclude: page rows, the one row, or aggregate groups. */
export function resultRows(data: unknown): Row[] {
  if (typeof data !== 'object' || data === null) return []
  const d = data as Record<string, unknown>
  if (Array.isArray(d.rows)) return d.rows as Row[]
  if (Array.isArray(d.groups)) return d.groups as Row[]
  if (typeof d.row === 'object' && d.row !== null) return [d.row as Row]
  if ('value' in d) return [{ value: d.value }]
  return []
}
