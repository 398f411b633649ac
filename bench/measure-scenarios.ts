/**
 * Times a list of scenarios the way every latency table of the benches is taken: a sanity call each, a warm-up,
 * then short interleaved rounds (rotating the order each round) so drift and bursts of load from other
 * processes hit every scenario alike; one call at a time. Prints p50/p90/p99, the p50 ratio to each
 * scenario's baseline and this process's CPU per call.
 */
import { cpus, loadavg } from 'node:os'
import { seededRandom, type SampleRow } from './bench-data.ts'
import type { Scenario } from './include-write-scenarios.ts'
import { formatTable, summarize, us, type LatencySummary } from './latency-stats.ts'

export interface MeasureOptions {
  readonly iterations: number
  readonly warmup: number
  readonly rounds: number
}

/** Each scenario draws rows from the sample in its own seeded order. */
function picker(sample: readonly SampleRow[], seed: number): () => SampleRow {
  const random = seededRandom(seed)
  return () => sample[Math.floor(random() * sample.length)] as SampleRow
}

export interface Measured {
  /** Latency of each timed call, µs. */
  readonly latencies: Map<string, number[]>
  /** This process's CPU time (user + system) over each scenario's timed calls, µs per call. */
  readonly cpuPerCall: Map<string, number>
}

export async function measureScenarios(
  list: readonly Scenario[],
  sample: readonly SampleRow[],
  options: MeasureOptions,
): Promise<Measured> {
  const pickers = list.map((_, i) => picker(sample, 1_000 + i))
  const samples = new Map(list.map((s) => [s.name, [] as number[]]))
  const cpu = new Map(list.map((s) => [s.name, 0]))
  // Sanity: every scenario finds its rows before anything is timed.
  for (const [i, s] of list.entries()) {
    const got = await s.run(sample[i] as SampleRow)
    if (got === 0) throw new Error(`scenario '${s.name}' found no row for a sampled id`)
  }
  for (const [i, s] of list.entries()) {
    const next = pickers[i] as () => SampleRow
    for (let k = 0; k < options.warmup; k++) await s.run(next())
  }
  const perRound = Math.ceil(options.iterations / options.rounds)
  for (let round = 0; round < options.rounds; round++) {
    // Rotate the order each round so no scenario always runs right after the same neighbour.
    for (let j = 0; j < list.length; j++) {
      const index = (j + round) % list.length
      const s = list[index] as Scenario
      const next = pickers[index] as () => SampleRow
      const out = samples.get(s.name) as number[]
      const todo = Math.min(perRound, options.iterations - round * perRound)
      const cpuBefore = process.cpuUsage()
      for (let k = 0; k < todo; k++) {
        const row = next()
        const started = performance.now()
        await s.run(row)
        out.push((performance.now() - started) * 1000)
      }
      const used = process.cpuUsage(cpuBefore)
      cpu.set(s.name, (cpu.get(s.name) ?? 0) + used.user + used.system)
    }
  }
  const cpuPerCall = new Map(
    [...cpu].map(([name, total]) => [name, total / Math.max(1, samples.get(name)?.length ?? 0)]),
  )
  return { latencies: samples, cpuPerCall }
}

export function printLatency(list: readonly Scenario[], measured: Measured): Map<string, LatencySummary> {
  const summaries = new Map([...measured.latencies].map(([name, s]) => [name, summarize(s)]))
  const rows = list.map((s) => {
    const sum = summaries.get(s.name) as LatencySummary
    const base = summaries.get(s.baseline) as LatencySummary
    const cpu = measured.cpuPerCall.get(s.name) ?? Number.NaN
    const baseCpu = measured.cpuPerCall.get(s.baseline) ?? Number.NaN
    return [
      s.name,
      us(sum.p50),
      us(sum.p90),
      us(sum.p99),
      (sum.p50 / base.p50).toFixed(2),
      us(cpu),
      (cpu / baseCpu).toFixed(2),
    ]
  })
  console.log(
    formatTable(
      ['scenario', 'p50 µs', 'p90 µs', 'p99 µs', 'p50 ratio', 'client CPU µs/call', 'CPU ratio'],
      rows,
    ),
  )
  console.log(
    'ratios are against the raw unprepared query of the same shape; client CPU is this process only (user + system)',
  )
  return summaries
}

/** Latency on a machine whose run queue exceeds its cores measures the scheduler as much as the code. */
export function warnIfBusy(when: string): void {
  const load = loadavg()[0] ?? 0
  const cores = cpus().length
  const note =
    load > cores ? ' — busier than its cores: latencies are inflated, trust the ratios and CPU columns' : ''
  console.log(`load average ${when} the timed phase: ${load.toFixed(2)} on ${cores} cores${note}`)
}
