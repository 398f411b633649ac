/**
 * Issue 15 item 5: p50 of every workload on a small and a large data set, measured in ONE process with the two
 * data sets' scenarios interleaved call round by call round, so the load of a shared machine hits both alike
 * (two runs back to back measured the other processes as much as the data: the run queue moved from 13 to 21
 * between them). Each data set gets its own pools and toolsets and its own sample; raw node-postgres does the
 * same work on each, so "raw pg small → large" says how much the data itself costs.
 *
 *   npm run bench:scale -- --small tessera_scale_small:100000:100 --large tessera_scale:10000000:10000 --skew
 *        [--iterations 2000] [--rounds 20] [--pool 4]
 *
 * Both data sets must exist with those shapes or are generated (bench-data.ts; 10M rows take ~8 minutes).
 * Scenarios: the read, include and write scenarios of `npm run bench`, without its prepared and ablation
 * variants and its RLS modes.
 */
import { cpus } from 'node:os'
import { parseArgs } from 'node:util'
import { Kysely } from 'kysely'
import pg from 'pg'
import { createTesseraDialect } from '../src/executor/tessera-dialect.ts'
import { definePolicy } from '../src/policy/define-policy.ts'
import { createToolset } from '../src/tools/create-toolset.ts'
import {
  CreatedNotes,
  DiscardingAuditStore,
  ensureBenchDatabase,
  ensureDataSet,
  loadSample,
  serverUrl,
  type DataSetSpec,
  type SampleRow,
} from './bench-data.ts'
import { BENCH_FULL_POLICY, BENCH_POLICY } from './bench-workloads.ts'
import { includeWriteScenarios, type Scenario } from './include-write-scenarios.ts'
import { formatTable, us, type LatencySummary } from './latency-stats.ts'
import { measureScenarios, printLatency, warnIfBusy } from './measure-scenarios.ts'
import { readScenarios } from './read-scenarios.ts'

const SECRET = 'tessera-bench-secret-0123456789abcdef'
const SAMPLE_SIZE = 2_000
const SESSION_STATEMENT_TIMEOUT_MS = 5_000

interface DataSetArg {
  readonly database: string
  readonly spec: DataSetSpec
  readonly label: string
}

function shortCount(n: number): string {
  if (n >= 1_000_000 && n % 1_000_000 === 0) return `${n / 1_000_000}M`
  if (n >= 1_000 && n % 1_000 === 0) return `${n / 1_000}k`
  return String(n)
}

function parseDataSet(text: string | undefined, flag: string, skew: boolean): DataSetArg {
  const [database, rows, tenants] = (text ?? '').split(':')
  const r = Number(rows)
  const t = Number(tenants)
  if (!database || !Number.isSafeInteger(r) || r <= 0 || !Number.isSafeInteger(t) || t <= 0 || t > r) {
    throw new Error(`--${flag} must be database:rows:tenants, for example tessera_scale_small:100000:100`)
  }
  return { database, spec: { rows: r, tenants: t, skew }, label: shortCount(r) }
}

function positive(text: string | undefined, fallback: number, flag: string): number {
  if (text === undefined) return fallback
  const n = Number(text)
  if (!Number.isSafeInteger(n) || n <= 0) throw new Error(`--${flag} must be a positive integer`)
  return n
}

/** Pools, toolsets and scenarios over one data set; names prefixed with its label. */
async function dataSetScenarios(
  set: DataSetArg,
  poolSize: number,
  closers: (() => Promise<void>)[],
): Promise<{ scenarios: Scenario[]; sample: SampleRow[] }> {
  const url = await ensureBenchDatabase(serverUrl(), set.database)
  await ensureDataSet(url, set.spec, (line) => console.log(`${set.label}: ${line}`))
  const sample = await loadSample(url, set.spec, SAMPLE_SIZE)
  const poolConfig: pg.PoolConfig = {
    connectionString: url,
    max: poolSize,
    connectionTimeoutMillis: 5_000,
    idleTimeoutMillis: 30_000,
  }
  const raw = new pg.Pool(poolConfig)
  const db = new Kysely<any>({
    dialect: createTesseraDialect({
      pool: new pg.Pool(poolConfig),
      statementTimeoutMs: SESSION_STATEMENT_TIMEOUT_MS,
    }),
  })
  const created = new CreatedNotes(raw)
  closers.push(async () => {
    await created.flush()
    await db.destroy()
    await raw.end()
  })
  const reads = await createToolset({
    db,
    policy: definePolicy(BENCH_POLICY),
    secret: SECRET,
    enforcement: 'app',
  })
  const full = await createToolset({
    db,
    policy: definePolicy(BENCH_FULL_POLICY),
    secret: SECRET,
    enforcement: 'app',
  })
  const unaudited = await createToolset({
    db,
    policy: definePolicy(BENCH_POLICY),
    secret: SECRET,
    enforcement: 'app',
    audit: new DiscardingAuditStore(),
  })
  const all = [...readScenarios(raw, reads, unaudited), ...includeWriteScenarios(raw, full, created)]
  const scenarios = all
    .filter((s) => !s.name.includes('named prepared') && !s.name.includes('ablation'))
    .map((s) => ({ ...s, name: `${set.label} | ${s.name}`, baseline: `${set.label} | ${s.baseline}` }))
  return { scenarios, sample }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      small: { type: 'string' },
      large: { type: 'string' },
      skew: { type: 'boolean', default: false },
      iterations: { type: 'string' },
      rounds: { type: 'string' },
      pool: { type: 'string' },
    },
    strict: true,
  })
  const skew = values.skew === true
  const small = parseDataSet(values.small, 'small', skew)
  const large = parseDataSet(values.large, 'large', skew)
  const iterations = positive(values.iterations, 2_000, 'iterations')
  const options = {
    iterations,
    warmup: Math.max(100, Math.floor(iterations / 5)),
    rounds: Math.min(
      iterations,
      positive(values.rounds, Math.max(10, Math.round(iterations / 100)), 'rounds'),
    ),
  }
  const closers: (() => Promise<void>)[] = []
  try {
    const a = await dataSetScenarios(small, positive(values.pool, 4, 'pool'), closers)
    const b = await dataSetScenarios(large, positive(values.pool, 4, 'pool'), closers)
    // measureScenarios hands every scenario a row of one sample; the large set's scenarios take the row at
    // the same position of their own sample.
    const toLarge = new Map(a.sample.map((row, i) => [row, b.sample[i] as SampleRow]))
    const list: Scenario[] = [
      ...a.scenarios,
      ...b.scenarios.map((s) => ({ ...s, run: (row: SampleRow) => s.run(toLarge.get(row) ?? row) })),
    ]
    console.log(
      `Tessera scale comparison — node ${process.version}, ${cpus().length} CPU cores; ` +
        `${small.label} rows / ${shortCount(small.spec.tenants)} tenants vs ${large.label} rows / ` +
        `${shortCount(large.spec.tenants)} tenants${skew ? ', skewed' : ''}; ${options.iterations} timed calls per ` +
        `scenario in ${options.rounds} interleaved rounds (after ${options.warmup} warm-up calls), one call at a time\n`,
    )
    warnIfBusy('before')
    const started = performance.now()
    const measured = await measureScenarios(list, a.sample, options)
    const summaries = printLatency(list, measured)
    console.log(`(latency phase took ${((performance.now() - started) / 1000).toFixed(1)} s)`)
    warnIfBusy('after')
    printScale(a.scenarios, small.label, large.label, summaries)
  } finally {
    for (const close of closers) await close()
  }
}

function printScale(
  smallScenarios: readonly Scenario[],
  smallLabel: string,
  largeLabel: string,
  summaries: ReadonlyMap<string, LatencySummary>,
): void {
  const p50 = (label: string, name: string): number => {
    const s = summaries.get(`${label} | ${name}`)
    if (!s) throw new Error(`no summary for ${label} | ${name}`)
    return s.p50
  }
  const rows: string[][] = []
  for (const s of smallScenarios) {
    const name = s.name.slice(`${smallLabel} | `.length)
    const baseline = s.baseline.slice(`${smallLabel} | `.length)
    if (name === baseline) continue
    const [ts, tl, rs, rl] = [
      p50(smallLabel, name),
      p50(largeLabel, name),
      p50(smallLabel, baseline),
      p50(largeLabel, baseline),
    ]
    rows.push([
      name,
      us(ts),
      us(tl),
      `${(tl / ts).toFixed(2)}×`,
      `${us(rs)} → ${us(rl)}, ${(rl / rs).toFixed(2)}×`,
      `${(tl / ts / (rl / rs)).toFixed(2)}`,
    ])
  }
  console.log(`\np50 µs, ${smallLabel} vs ${largeLabel} rows (goal: ${largeLabel} ÷ ${smallLabel} ≤ 1.5×):`)
  console.log(
    formatTable(
      [
        'workload',
        smallLabel,
        largeLabel,
        `${largeLabel} ÷ ${smallLabel}`,
        `raw pg ${smallLabel} → ${largeLabel}`,
        'tessera growth ÷ raw growth',
      ],
      rows,
    ),
  )
}

main().catch((error: unknown) => {
  console.error(error)
  process.exitCode = 1
})
