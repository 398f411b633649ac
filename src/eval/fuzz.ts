/**
 * The adversarial fuzzer: seeded fast-check runs of hostile tool calls (fuzz-arbitraries.ts) from principals
 * derived from the policy and data, each checked by every invariant through the harness. A failure is shrunk
 * to a minimal call and printed as a one-case YAML suite that `tessera eval` replays. The same seed on the same
 * fixture gives the same calls.
 */
import fc from 'fast-check'
import type { Principal } from '../context/index.ts'
import { toJsonSafe } from '../executor/index.ts'
import type { EvalHarness } from './eval-harness.ts'
import type { Violation } from './invariant.ts'
import { fuzzCallArb, type FuzzCall, type FuzzSamples } from './fuzz-arbitraries.ts'
import { generatePrincipals } from './generate-principals.ts'
import type { EvalSuite } from './suite-file.ts'
import { suiteToYaml } from './suite-file.ts'

export interface FuzzOptions {
  readonly runs: number
  readonly seed: number
  /** Stop generating new calls after this long (the run is then reported with the calls it made). */
  readonly timeLimitMs?: number
  /** Called after every call (progress). */
  readonly onCall?: (done: number) => void
}

export interface FuzzReport {
  readonly runs: number
  readonly seed: number
  readonly calls: number
  /** Generated calls that ran before the time limit (equal to `runs` unless interrupted). */
  readonly completedRuns: number
  readonly interrupted: boolean
  readonly durationMs: number
  /** The shrunk failing call, if any, with its violations and a replayable YAML suite. */
  readonly failure: {
    readonly call: FuzzCall
    readonly violations: readonly Violation[]
    readonly yaml: string
  } | null
}

/** Values sampled per column from every tenant's rows (at most a few per column), for keys and plants. */
const VALUES_PER_COLUMN = 6

/** Values and cursors the fuzzer draws from (also the differential corpus's, test/db/enforcement-corpus). */
export async function sampleFuzzData(
  harness: EvalHarness,
  principals: readonly { name: string; principal: Principal }[],
): Promise<FuzzSamples> {
  const oracle = harness.oracle()
  const values: Record<string, Record<string, unknown[]>> = {}
  for (const model of Object.values(harness.reference.models)) {
    // A table too large to read whole contributes no sampled values (the calls still name its fields).
    const rows = await oracle.tableRows(model).catch(() => [])
    const perColumn: Record<string, unknown[]> = {}
    for (const field of Object.keys(model.fields)) {
      const seen = new Set<string>()
      const out: unknown[] = []
      // Spread over the table so every tenant's values appear, in a stable order.
      const step = Math.max(1, Math.floor(rows.length / VALUES_PER_COLUMN))
      for (let i = 0; i < rows.length && out.length < VALUES_PER_COLUMN; i += step) {
        const v = toJsonSafe(rows[i]?.raw[field] ?? null)
        const k = JSON.stringify(v)
        if (!seen.has(k) && (typeof v !== 'object' || v === null)) {
          seen.add(k)
          out.push(v)
        }
      }
      perColumn[field] = out
    }
    values[model.name] = perColumn
  }
  // Cursors issued to each principal for each model: replayed by others (and on other models).
  const cursors: string[] = []
  for (const p of principals) {
    for (const model of Object.keys(harness.reference.models)) {
      const r = await harness.toolset.call({ principal: p.principal }, 'db_query', { model, limit: 1 })
      if (r.ok) {
        const next = (r.data as { nextCursor?: unknown }).nextCursor
        if (typeof next === 'string') cursors.push(next)
      }
    }
  }
  return { principals: principals.map((p) => p.name), values, cursors: cursors.slice(0, 12) }
}

export async function fuzz(harness: EvalHarness, options: FuzzOptions): Promise<FuzzReport> {
  const started = performance.now()
  const principals = await generatePrincipals(harness.reference, harness.oracle())
  if (principals.length === 0)
    throw new Error('fuzz: no principal could be derived from the policy and the data')
  const byName = new Map(principals.map((p) => [p.name, p.principal]))
  const samples = await sampleFuzzData(harness, principals)
  let calls = 0
  const runCall = async (call: FuzzCall): Promise<readonly Violation[]> => {
    calls++
    options.onCall?.(calls)
    const principal = byName.get(call.principal)
    if (!principal) throw new Error(`fuzz: unknown principal ${call.principal}`)
    const r = await harness.run(
      { principal },
      { tool: call.tool, args: call.args, label: `fuzz seed ${options.seed}` },
    )
    return r.violations
  }
  const details = await fc.check(
    fc.asyncProperty(
      fuzzCallArb(harness.reference, samples),
      async (call) => (await runCall(call)).length === 0,
    ),
    {
      seed: options.seed,
      numRuns: options.runs,
      ...(options.timeLimitMs === undefined
        ? {}
        : { interruptAfterTimeLimit: options.timeLimitMs, markInterruptAsFailure: false }),
    },
  )
  let failure: FuzzReport['failure'] = null
  const counterexample = details.counterexample?.[0]
  if (details.failed && counterexample) {
    const violations = await runCall(counterexample)
    failure = {
      call: counterexample,
      violations,
      yaml: suiteToYaml(replayableSuite(counterexample, byName, options.seed)),
    }
  } else if (details.failed) {
    throw details.errorInstance instanceof Error
      ? details.errorInstance
      : new Error('fuzz: property failed without a counterexample')
  }
  return {
    runs: options.runs,
    seed: options.seed,
    calls,
    completedRuns: details.numRuns,
    interrupted: details.interrupted,
    durationMs: performance.now() - started,
    failure,
  }
}

function replayableSuite(
  call: FuzzCall,
  principals: ReadonlyMap<string, Principal>,
  seed: number,
): EvalSuite {
  const principal = principals.get(call.principal) as Principal
  return {
    name: `fuzz counterexample (seed ${seed})`,
    fixture: 'saas',
    principals: {
      [call.principal]: { ...principal, ...(principal.roles ? { roles: [...principal.roles] } : {}) },
    },
    cases: [{ name: 'shrunk fuzz call', principal: call.principal, tool: call.tool, args: call.args }],
  } as EvalSuite
}
