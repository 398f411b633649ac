/**
 * Benchmark (`npm run bench`): Tessera's `get`, `query`, `aggregate`, a `get` with an include, a `create` and an
 * `update` against raw node-postgres doing the same work on the same server, in the same process, interleaved in rounds so drift (other processes, autovacuum, CPU frequency)
 * hits every scenario alike. One client at a time (sequential awaits), so a latency is round trips plus CPU.
 *
 *   npm run bench                      1,000,000 rows / 1,000 tenants / 3,000 calls per scenario
 *   npm run bench -- --quick           20,000 rows / 100 tenants / 300 calls (a smoke run)
 *   npm run bench -- --rows 200000 --tenants 500 --iterations 5000 --pool 4 --rounds 10
 *   npm run bench -- --rows 10000000 --tenants 10000 --skew   a few tenants hold most rows (bench/README.md)
 *   npm run bench -- --database tessera_bench_mine            data set in another database (parallel runs)
 *   npm run bench -- --memory [--memory-calls N] [--memory-seconds S] [--memory-new-tenants 0.2]
 *                                      RSS and heap over a long mixed run (bench/memory-run.ts)
 *
 * Server: TESSERA_BENCH_DATABASE_URL, else TESSERA_TEST_DATABASE_URL's server, else
 * postgres://postgres@127.0.0.1:5432/postgres; the data lives in a database `tessera_bench` created on it.
 */
import { cpus, loadavg } from 'node:os'
import { parseArgs } from 'node:util'
import { Kysely } from 'kysely'
import pg from 'pg'
import { createTesseraDialect } from '../src/executor/tessera-dialect.ts'
import { definePolicy } from '../src/policy/define-policy.ts'
import { createToolset, type Toolset } from '../src/tools/create-toolset.ts'
import {
  BENCH_DATABASE,
  CreatedNotes,
  DiscardingAuditStore,
  ensureBenchDatabase,
  ensureDataSet,
  loadSample,
  seededRandom,
  serverUrl,
  type DataSetSpec,
  type SampleRow,
} from './bench-data.ts'
import { BENCH_FULL_POLICY, BENCH_POLICY, BENCH_SQL } from './bench-workloads.ts'
import { measureCpu, type StageCost } from './cpu-breakdown.ts'
import { includeWriteScenarios, type Scenario } from './include-write-scenarios.ts'
import { measureInSitu } from './in-situ-breakdown.ts'
import { runMemory } from './memory-run.ts'
import { formatTable, summarize, us, type LatencySummary } from './latency-stats.ts'
import { prepareRlsScenarios } from './rls-scenarios.ts'

const SECRET = 'tessera-bench-secret-0123456789abcdef'
const SAMPLE_SIZE = 2_000
/** Equal to the PROD budget's statementTimeoutMs, so app-mode reads take the executor's one-statement path. */
const SESSION_STATEMENT_TIMEOUT_MS = 5_000

interface Options {
  readonly spec: DataSetSpec
  readonly iterations: number
  readonly warmup: number
  readonly rounds: number
  readonly poolSize: number
  readonly cpuLoops: number
  /** Database holding the data set (default tessera_bench): a separate one keeps parallel runs apart. */
  readonly database: string
  /** Run only the long mixed run that reports memory (bench/memory-run.ts). */
  readonly memory: boolean
  readonly memoryCalls: number
  /** The memory run stops at its first checkpoint past this many seconds. */
  readonly memorySeconds: number
  /** Share of the memory run's calls made for tenants never seen before (0–1, default 0). */
  readonly memoryNewTenants: number
}

function share(text: string | undefined): number {
  if (text === undefined) return 0
  const n = Number(text)
  if (!(n >= 0 && n <= 1)) throw new Error('--memory-new-tenants must be a number from 0 to 1')
  return n
}

function parseOptions(): Options {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      rows: { type: 'string' },
      tenants: { type: 'string' },
      iterations: { type: 'string' },
      rounds: { type: 'string' },
      pool: { type: 'string' },
      skew: { type: 'boolean', default: false },
      database: { type: 'string', default: BENCH_DATABASE },
      memory: { type: 'boolean', default: false },
      'memory-calls': { type: 'string' },
      'memory-seconds': { type: 'string' },
      'memory-new-tenants': { type: 'string' },
    },
    strict: true,
  })
  const int = (text: string | undefined, fallback: number, name: string): number => {
    if (text === undefined) return fallback
    const n = Number(text.replaceAll('_', ''))
    if (!Number.isSafeInteger(n) || n <= 0) throw new Error(`--${name} must be a positive integer`)
    return n
  }
  const quick = values.quick === true
  const rows = int(values.rows, quick ? 20_000 : 1_000_000, 'rows')
  const tenants = int(values.tenants, quick ? 100 : 1_000, 'tenants')
  if (tenants > rows) throw new Error('--tenants must not exceed --rows')
  const iterations = int(values.iterations, quick ? 300 : 3_000, 'iterations')
  // Short rounds interleave finely, so a burst of load from another process hits every scenario alike.
  const rounds = Math.min(
    iterations,
    int(values.rounds, Math.min(60, Math.max(10, Math.round(iterations / 100))), 'rounds'),
  )
  return {
    spec: { rows, tenants, skew: values.skew === true },
    iterations,
    warmup: Math.max(100, Math.floor(iterations / 5)),
    rounds,
    poolSize: int(values.pool, 4, 'pool'),
    cpuLoops: quick ? 2_000 : 10_000,
    database: values.database,
    memory: values.memory === true,
    memoryCalls: int(values['memory-calls'], quick ? 20_000 : 1_000_000, 'memory-calls'),
    memorySeconds: int(values['memory-seconds'], 120, 'memory-seconds'),
    memoryNewTenants: share(values['memory-new-tenants']),
  }
}

const { get: GET_SQL, list: LIST_SQL, newest: NEWEST_SQL, count: COUNT_SQL } = BENCH_SQL

function scenarios(raw: pg.Pool, toolset: Toolset, unaudited: Toolset): Scenario[] {
  const ctx = (row: SampleRow) => ({ principal: { tenantId: row.tenantId } })
  return [
    {
      name: 'raw pg get, unprepared',
      baseline: 'raw pg get, unprepared',
      run: async (row) => (await raw.query(GET_SQL, [row.id, row.tenantId])).rows.length,
    },
    {
      name: 'raw pg get, named prepared',
      baseline: 'raw pg get, unprepared',
      run: async (row) =>
        (await raw.query({ name: 'bench_get', text: GET_SQL, values: [row.id, row.tenantId] })).rows.length,
    },
    {
      name: 'tessera get (app mode)',
      baseline: 'raw pg get, unprepared',
      run: async (row) => {
        const { row: got } = await toolset.get(ctx(row), { model: 'Order', id: row.id })
        return got['id'] === row.id ? 1 : 0
      },
    },
    {
      name: 'tessera get, audit discarded (ablation)',
      baseline: 'raw pg get, unprepared',
      run: async (row) => {
        const { row: got } = await unaudited.get(ctx(row), { model: 'Order', id: row.id })
        return got['id'] === row.id ? 1 : 0
      },
    },
    {
      name: 'raw pg 20 rows, unprepared',
      baseline: 'raw pg 20 rows, unprepared',
      run: async (row) => (await raw.query(LIST_SQL, [row.tenantId])).rows.length,
    },
    {
      name: 'raw pg 20 rows, named prepared',
      baseline: 'raw pg 20 rows, unprepared',
      run: async (row) =>
        (await raw.query({ name: 'bench_list', text: LIST_SQL, values: [row.tenantId] })).rows.length,
    },
    {
      name: 'tessera query 20 rows (app mode)',
      baseline: 'raw pg 20 rows, unprepared',
      run: async (row) => {
        const result = await toolset.query(ctx(row), {
          model: 'Order',
          orderBy: [{ field: 'created_at' }],
          limit: 20,
        })
        return result.rows.length
      },
    },
    {
      name: 'raw pg 20 newest, unprepared',
      baseline: 'raw pg 20 newest, unprepared',
      run: async (row) => (await raw.query(NEWEST_SQL, [row.tenantId])).rows.length,
    },
    {
      name: 'tessera query 20 newest (app mode)',
      baseline: 'raw pg 20 newest, unprepared',
      run: async (row) => {
        const result = await toolset.query(ctx(row), {
          model: 'Order',
          orderBy: [{ field: 'created_at', direction: 'desc' }],
          limit: 20,
        })
        return result.rows.length
      },
    },
    {
      name: 'raw pg count by status, unprepared',
      baseline: 'raw pg count by status, unprepared',
      run: async (row) => (await raw.query(COUNT_SQL, [row.tenantId, 'paid'])).rows.length,
    },
    {
      name: 'tessera count by status (app mode)',
      baseline: 'raw pg count by status, unprepared',
      run: async (row) => {
        const result = await toolset.aggregate(ctx(row), {
          model: 'Order',
          op: 'count',
          where: { field: 'status', op: 'eq', value: 'paid' },
        })
        return 'value' in result ? 1 : 0
      },
    },
  ]
}

/** Each scenario draws rows from the sample in its own seeded order. */
function picker(sample: readonly SampleRow[], seed: number): () => SampleRow {
  const random = seededRandom(seed)
  return () => sample[Math.floor(random() * sample.length)] as SampleRow
}

interface Measured {
  /** Latency of each timed call, µs. */
  readonly latencies: Map<string, number[]>
  /** This process's CPU time (user + system) over each scenario's timed calls, µs per call. */
  readonly cpuPerCall: Map<string, number>
}

async function measure(
  list: readonly Scenario[],
  sample: readonly SampleRow[],
  options: Options,
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

function printLatency(list: readonly Scenario[], measured: Measured): Map<string, LatencySummary> {
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

function printCpu(title: string, stages: readonly StageCost[]): void {
  console.log(`\n${title}`)
  const before = stages.filter((s) => s.phase === 'before').reduce((a, s) => a + s.micros, 0)
  const after = stages.filter((s) => s.phase === 'after').reduce((a, s) => a + s.micros, 0)
  const rows = stages.map((s) => [s.stage, s.phase, us(s.micros, 1)])
  rows.push(
    ['sum of stages before send', 'before', us(before, 1)],
    ['sum of stages after receive', 'after', us(after, 1)],
  )
  console.log(formatTable(['stage', 'phase', 'µs/call'], rows))
}

/** Latency on a machine whose run queue exceeds its cores measures the scheduler as much as the code. */
function warnIfBusy(when: string): void {
  const load = loadavg()[0] ?? 0
  const cores = cpus().length
  const note =
    load > cores ? ' — busier than its cores: latencies are inflated, trust the ratios and CPU columns' : ''
  console.log(`load average ${when} the timed phase: ${load.toFixed(2)} on ${cores} cores${note}`)
}

/** `--memory`: the long mixed run only, RSS and heap at checkpoints (bench/memory-run.ts). */
async function memoryPhase(
  toolset: Toolset,
  created: CreatedNotes,
  sample: readonly SampleRow[],
  options: Options,
  version: string,
): Promise<void> {
  console.log(
    `Tessera memory run — PostgreSQL ${version}, node ${process.version}, ${cpus().length} CPU cores\n` +
      `${options.spec.rows.toLocaleString('en-US')} rows / ${options.spec.tenants.toLocaleString('en-US')} tenants; ` +
      `up to ${options.memoryCalls.toLocaleString('en-US')} mixed calls or ${options.memorySeconds} s, ` +
      `${MEMORY_CONCURRENCY} in flight, ${Math.round(options.memoryNewTenants * 100)}% of calls from new tenants; ` +
      'default (in-memory) audit store; heap after a full GC',
  )
  warnIfBusy('before')
  const rows: string[][] = []
  const checkpoints = await runMemory(
    toolset,
    created,
    sample,
    {
      calls: options.memoryCalls,
      maxSeconds: options.memorySeconds,
      concurrency: MEMORY_CONCURRENCY,
      newTenantShare: options.memoryNewTenants,
    },
    (c) =>
      console.log(
        `  ${c.calls.toLocaleString('en-US')} calls, ${c.seconds.toFixed(0)} s: rss ${c.rssMb.toFixed(1)} MB, heap ${c.heapUsedMb.toFixed(1)} MB`,
      ),
  )
  for (const c of checkpoints) {
    rows.push([
      c.calls.toLocaleString('en-US'),
      c.tenants.toLocaleString('en-US'),
      c.cursors.toLocaleString('en-US'),
      c.seconds.toFixed(0),
      c.rssMb.toFixed(1),
      c.heapUsedMb.toFixed(1),
    ])
  }
  console.log(formatTable(['calls', 'tenants seen', 'cursors issued', 's', 'RSS MB', 'heap used MB'], rows))
  warnIfBusy('after')
}

/** Calls in flight during the memory run (the pool has 4 connections; more keeps them busy). */
const MEMORY_CONCURRENCY = 8

async function main(): Promise<void> {
  const options = parseOptions()
  const benchUrl = await ensureBenchDatabase(serverUrl(), options.database)
  await ensureDataSet(benchUrl, options.spec, (line) => console.log(line))
  const sample = await loadSample(benchUrl, options.spec, SAMPLE_SIZE)

  // Both pools get createPostgresDatabase's production settings, so neither side pays for a missing timeout.
  const poolConfig: pg.PoolConfig = {
    connectionString: benchUrl,
    max: options.poolSize,
    connectionTimeoutMillis: 5_000,
    idleTimeoutMillis: 30_000,
  }
  const raw = new pg.Pool(poolConfig)
  const tesseraPool = new pg.Pool(poolConfig)

  const db = new Kysely<any>({
    dialect: createTesseraDialect({ pool: tesseraPool, statementTimeoutMs: SESSION_STATEMENT_TIMEOUT_MS }),
  })
  const closers: (() => Promise<void>)[] = []
  const created = new CreatedNotes(raw)
  try {
    const policy = definePolicy(BENCH_POLICY)
    const toolset = await createToolset({ db, policy, secret: SECRET, enforcement: 'app' })
    // Its own toolset: its Order also shows customer_id (a relation's join columns must be readable), which
    // would change what the read scenarios return.
    const full = await createToolset({
      db,
      policy: definePolicy(BENCH_FULL_POLICY),
      secret: SECRET,
      enforcement: 'app',
    })
    const unaudited = await createToolset({
      db,
      policy,
      secret: SECRET,
      enforcement: 'app',
      audit: new DiscardingAuditStore(),
    })
    const version =
      (await raw.query<{ server_version: string }>('show server_version')).rows[0]?.server_version ?? '?'
    if (options.memory) {
      await memoryPhase(full, created, sample, options, version)
      return
    }
    console.log(
      `Tessera read benchmark — PostgreSQL ${version}, node ${process.version}, ${cpus().length} CPU cores\n` +
        `${options.spec.rows.toLocaleString('en-US')} rows / ${options.spec.tenants.toLocaleString('en-US')} tenants, ` +
        `${options.iterations} timed calls per scenario in ${options.rounds} interleaved rounds ` +
        `(after ${options.warmup} warm-up calls), pool size ${options.poolSize}, one call at a time\n`,
    )

    const rls = await prepareRlsScenarios(poolConfig, policy, SECRET, SESSION_STATEMENT_TIMEOUT_MS)
    closers.push(() => rls.close())
    warnIfBusy('before')
    const list = [
      ...scenarios(raw, toolset, unaudited),
      ...includeWriteScenarios(raw, full, created),
      ...rls.scenarios,
    ]
    const started = performance.now()
    const measured = await measure(list, sample, options)
    await created.flush()
    const summaries = printLatency(list, measured)
    console.log(`(latency phase took ${((performance.now() - started) / 1000).toFixed(1)} s)`)
    warnIfBusy('after')

    const cpu = measureCpu(db, toolset.bound, SECRET, sample, options.cpuLoops)
    printCpu('CPU per tessera get, no database (mean µs over the loop):', cpu.get)
    printCpu('CPU per tessera query (20 rows), no database (mean µs over the loop):', cpu.query)

    const segments = await measureInSitu(benchUrl, poolConfig, policy, SECRET, sample, options.iterations)
    console.log(
      '\nWhere a call spends its time, timed inside real calls (µs per call, wall clock, mean of the fastest 90%):',
    )
    console.log(
      formatTable(
        ['segment', 'get', 'query 20 rows', 'count by status'],
        segments.map((s) => [s.name, us(s.get, 1), us(s.query, 1), us(s.aggregate, 1)]),
      ),
    )

    const get = summaries.get('tessera get (app mode)') as LatencySummary
    const base = summaries.get('raw pg get, unprepared') as LatencySummary
    const ratio = get.p50 / base.p50
    console.log(
      `\nTarget (tessera get p50 ≤ raw unprepared p50): ${ratio <= 1 ? 'MET' : 'NOT MET'} — ratio ${ratio.toFixed(2)}`,
    )
    const hand = summaries.get(rls.handWrittenGet) as LatencySummary
    for (const mode of ['rls', 'both'] as const) {
      const p50 = (summaries.get(`tessera get (${mode} mode)`) as LatencySummary).p50
      console.log(
        `Target (tessera get, ${mode} mode, p50 ≤ 1.25× raw unprepared): ${p50 / base.p50 <= 1.25 ? 'MET' : 'NOT MET'} — ` +
          `ratio ${(p50 / base.p50).toFixed(2)} to raw pg, ${(p50 / hand.p50).toFixed(2)} to the hand-written 4-round-trip RLS transaction`,
      )
    }
  } finally {
    await created.flush()
    for (const close of closers) await close()
    await db.destroy()
    await raw.end()
  }
}

main().catch((error: unknown) => {
  console.error(error)
  process.exitCode = 1
})
