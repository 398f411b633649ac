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
import { cpus } from 'node:os'
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
  serverUrl,
  type DataSetSpec,
  type SampleRow,
} from './bench-data.ts'
import { BENCH_FULL_POLICY, BENCH_POLICY } from './bench-workloads.ts'
import { measureCpu, type StageCost } from './cpu-breakdown.ts'
import { includeWriteScenarios } from './include-write-scenarios.ts'
import { measureScenarios, printLatency, warnIfBusy } from './measure-scenarios.ts'
import { readScenarios } from './read-scenarios.ts'
import { measureInSitu } from './in-situ-breakdown.ts'
import { runMemory } from './memory-run.ts'
import { formatTable, us, type LatencySummary } from './latency-stats.ts'
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
      `Tessera benchmark — PostgreSQL ${version}, node ${process.version}, ${cpus().length} CPU cores\n` +
        `${options.spec.rows.toLocaleString('en-US')} rows / ${options.spec.tenants.toLocaleString('en-US')} tenants, ` +
        `${options.iterations} timed calls per scenario in ${options.rounds} interleaved rounds ` +
        `(after ${options.warmup} warm-up calls), pool size ${options.poolSize}, one call at a time\n`,
    )

    const rls = await prepareRlsScenarios(poolConfig, policy, SECRET, SESSION_STATEMENT_TIMEOUT_MS)
    closers.push(() => rls.close())
    warnIfBusy('before')
    const list = [
      ...readScenarios(raw, toolset, unaudited),
      ...includeWriteScenarios(raw, full, created),
      ...rls.scenarios,
    ]
    const started = performance.now()
    const measured = await measureScenarios(list, sample, options)
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
    const oneMessage = summaries.get(rls.oneMessageGet) as LatencySummary
    for (const mode of ['rls', 'both'] as const) {
      const p50 = (summaries.get(`tessera get (${mode} mode)`) as LatencySummary).p50
      console.log(
        `Target (tessera get, ${mode} mode, p50 ≤ 1.25× raw unprepared): ${p50 / base.p50 <= 1.25 ? 'MET' : 'NOT MET'} — ` +
          `ratio ${(p50 / base.p50).toFixed(2)} to raw pg, ${(p50 / hand.p50).toFixed(2)} to the hand-written 4-round-trip RLS transaction, ` +
          `${(p50 / oneMessage.p50).toFixed(2)} to the same in one message`,
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
