/**
 * Eval run output: a summary table for people, JUnit XML for CI systems, JSON for tools. Every violation is
 * printed with its call, row and field (the invariant's message).
 */
import type { Violation } from './invariant.ts'
import type { CaseReport, SuiteReport } from './run-suite.ts'
import type { EvalRunReport } from './run-evals.ts'

export interface ReportInput {
  readonly suites: readonly SuiteReport[]
  /** Violations found outside suites (the fuzzer), with the replayable YAML case of each. */
  readonly extra?: readonly {
    readonly name: string
    readonly violations: readonly Violation[]
    readonly failures?: readonly string[]
    readonly detail?: string
  }[]
}

function failed(c: CaseReport): boolean {
  return c.failures.length > 0 || c.violations.length > 0
}

export function summaryLines(input: ReportInput): string[] {
  const lines: string[] = []
  const rows = input.suites.map((s) => {
    const bad = s.cases.filter(failed).length
    const violations = s.cases.reduce((n, c) => n + c.violations.length, 0)
    const ms = s.cases.reduce((n, c) => n + c.durationMs, 0)
    return [s.name, String(s.cases.length), String(bad), String(violations), `${(ms / 1000).toFixed(1)}s`]
  })
  for (const e of input.extra ?? [])
    rows.push([
      e.name,
      '-',
      String(e.violations.length + (e.failures?.length ?? 0) > 0 ? 1 : 0),
      String(e.violations.length),
      '-',
    ])
  const header = ['suite', 'cases', 'failed', 'violations', 'time']
  const width = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)))
  const fmt = (r: readonly string[]): string =>
    r.map((c, i) => (i === 0 ? c.padEnd(width[i] ?? 0) : c.padStart(width[i] ?? 0))).join('  ')
  lines.push(fmt(header), width.map((w) => '-'.repeat(w)).join('  '), ...rows.map(fmt))
  for (const s of input.suites) {
    for (const c of s.cases.filter(failed)) {
      lines.push('', `✗ ${s.name} › ${c.name}`)
      for (const f of c.failures) lines.push(`    expectation: ${f}`)
      for (const v of c.violations) lines.push(`    ${v.invariant}: ${v.message}`)
    }
  }
  for (const e of input.extra ?? []) {
    if (e.violations.length === 0 && (e.failures?.length ?? 0) === 0) continue
    lines.push('', `✗ ${e.name}`)
    for (const f of e.failures ?? []) lines.push(`    ${f}`)
    for (const v of e.violations) lines.push(`    ${v.invariant}: ${v.message}`)
    if (e.detail !== undefined) lines.push(...e.detail.split('\n').map((l) => `    ${l}`))
  }
  return lines
}

function xml(text: string): string {
  return text
    .replace(/[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD]/g, '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
}

export function junitXml(input: ReportInput): string {
  const out = ['<?xml version="1.0" encoding="UTF-8"?>', '<testsuites name="tessera eval">']
  for (const s of input.suites) {
    const failures = s.cases.filter(failed).length
    out.push(`  <testsuite name="${xml(s.name)}" tests="${s.cases.length}" failures="${failures}">`)
    for (const c of s.cases) {
      out.push(
        `    <testcase classname="${xml(s.name)}" name="${xml(c.name)}" time="${(c.durationMs / 1000).toFixed(3)}">`,
      )
      if (failed(c)) {
        const text = [
          ...c.failures.map((f) => `expectation: ${f}`),
          ...c.violations.map((v) => `${v.invariant}: ${v.message}`),
        ].join('\n')
        out.push(`      <failure message="${xml(text.split('\n')[0] ?? '')}">${xml(text)}</failure>`)
      }
      out.push('    </testcase>')
    }
    out.push('  </testsuite>')
  }
  for (const e of input.extra ?? []) {
    const bad = e.violations.length + (e.failures?.length ?? 0) > 0
    out.push(
      `  <testsuite name="${xml(e.name)}" tests="1" failures="${bad ? 1 : 0}">`,
      `    <testcase classname="${xml(e.name)}" name="${xml(e.name)}">`,
    )
    if (bad) {
      const text = [
        ...(e.failures ?? []),
        ...e.violations.map((v) => `${v.invariant}: ${v.message}`),
        e.detail ?? '',
      ].join('\n')
      out.push(`      <failure message="${xml(text.split('\n')[0] ?? '')}">${xml(text)}</failure>`)
    }
    out.push('    </testcase>', '  </testsuite>')
  }
  out.push('</testsuites>')
  return out.join('\n')
}

export function jsonReport(input: ReportInput & { readonly passed: boolean }): string {
  return JSON.stringify(input, null, 2)
}

/** A run's suites plus its fuzz run (as one extra entry carrying the shrunk case as replayable YAML). */
export function runReportInput(report: EvalRunReport): ReportInput & { readonly passed: boolean } {
  const f = report.fuzz
  const extra = f
    ? [
        {
          name: `fuzz (seed ${f.seed}, ${f.completedRuns}/${f.runs} runs${f.interrupted ? ', time limit reached' : ''})`,
          violations: f.failure?.violations ?? [],
          ...(f.failure ? { detail: `replay with tessera eval:\n${f.failure.yaml}` } : {}),
        },
      ]
    : []
  return { suites: report.suites, extra, passed: report.passed }
}
