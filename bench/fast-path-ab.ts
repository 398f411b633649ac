/**
 * Paired A/B of Tessera's own client CPU per read (issue 15, item 3, the read fast path): two builds loaded in
 * one process — this checkout's src/ and another checkout's (`--base`, e.g. a `git archive` of the commit
 * before), each with its own toolset on its own pool over the same bench data set — called in alternating
 * rounds (ABBA…), `--calls` sequential calls of one workload per round. Per round, the process's CPU time
 * (user + system, process.cpuUsage) per call; the result is the median over rounds of the paired difference
 * and ratio, so a noisy neighbour on the shared machine moves both sides of a pair alike. The numbers include
 * the pg driver's and Kysely's work, which both builds share.
 *
 *   git archive <base-commit> src | tar -x -C /tmp/base && ln -s $PWD/node_modules /tmp/base/node_modules
 *   npx tsx bench/fast-path-ab.ts --base /tmp/base [--rounds 16] [--calls 400] [--database tessera_bench]
 *
 * `--b <dir>/src` replaces B (this checkout) with another tree: with a copy of the base, an A/A run — what the
 * method reads as a difference when there is none. `--same` loads this checkout as both (shared modules).
 */
import { parseArgs } from 'node:util'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import pg from 'pg'
import { ensureBenchDatabase, ensureDataSet, loadSample, serverUrl, type SampleRow } from './bench-data.ts'
import { BENCH_FULL_POLICY } from './bench-workloads.ts'

const { values } = parseArgs({
  options: {
    base: { type: 'string' },
    /** B's src/ (default: this checkout's); `--b` a copy of the base's gives an A/A run. */
    b: { type: 'string' },
    same: { type: 'boolean', default: false },
    rounds: { type: 'string', default: '16' },
    calls: { type: 'string', default: '400' },
    rows: { type: 'string', default: '20000' },
    tenants: { type: 'string', default: '100' },
    database: { type: 'string', default: 'tessera_fastpath' },
  },
  strict: true,
})

const SECRET = 'tessera-bench-secret-0123456789abcdef'

interface Build {
  readonly label: string
  readonly toolset: {
    get(ctx: unknown, args: unknown): Promise<unknown>
    query(ctx: unknown, args: unknown): Promise<unknown>
    aggregate(ctx: unknown, args: unknown): Promise<unknown>
  }
  close(): Promise<void>
}

interface Module {
  createToolset(options: Record<string, unknown>): Promise<Build['toolset']>
  definePolicy(input: unknown): unknown
  createTesseraDialect(options: Record<string, unknown>): unknown
}

async function load(srcDir: string, label: string, url: string): Promise<Build> {
  const at = (file: string) => pathToFileURL(path.join(srcDir, file)).href
  const tools = (await import(at('tools/create-toolset.ts'))) as Pick<Module, 'createToolset'>
  const policy = (await import(at('policy/define-policy.ts'))) as Pick<Module, 'definePolicy'>
  const dialect = (await import(at('executor/tessera-dialect.ts'))) as Pick<Module, 'createTesseraDialect'>
  const { Kysely } = await import('kysely')
  const pool = new pg.Pool({ connectionString: url, max: 2 })
  const db = new Kysely<unknown>({
    dialect: dialect.createTesseraDialect({ pool, statementTimeoutMs: 5_000 }) as never,
  })
  const toolset = await tools.createToolset({
    db,
    policy: policy.definePolicy(BENCH_FULL_POLICY),
    secret: SECRET,
    enforcement: 'app',
  })
  return { label, toolset, close: () => db.destroy() }
}

type Workload = (t: Build['toolset'], row: SampleRow) => Promise<unknown>

const WORKLOADS: Record<string, Workload> = {
  get: (t, row) => t.get({ principal: { tenantId: row.tenantId } }, { model: 'Order', id: row.id }),
  listRecent: (t, row) =>
    t.query(
      { principal: { tenantId: row.tenantId } },
      {
        model: 'Order',
        where: { field: 'status', op: 'eq', value: 'paid' },
        orderBy: [{ field: 'created_at', direction: 'desc' }],
        limit: 20,
      },
    ),
  getWithCustomer: (t, row) =>
    t.get(
      { principal: { tenantId: row.tenantId } },
      { model: 'Order', id: row.id, include: { customer: true } },
    ),
  countByStatus: (t, row) =>
    t.aggregate(
      { principal: { tenantId: row.tenantId } },
      { model: 'Order', op: 'count', where: { field: 'status', op: 'eq', value: 'paid' } },
    ),
}

async function cpuPerCall(
  build: Build,
  w: Workload,
  sample: readonly SampleRow[],
  n: number,
  offset: number,
) {
  const before = process.cpuUsage()
  for (let i = 0; i < n; i++) await w(build.toolset, sample[(offset + i * 7919) % sample.length] as SampleRow)
  const used = process.cpuUsage(before)
  return (used.user + used.system) / n
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 === 1 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2
}

async function main(): Promise<void> {
  const here = values.b ?? path.resolve(import.meta.dirname, '../src')
  const baseDir = values.same ? here : values.base
  if (baseDir === undefined) throw new Error('--base <checkout>/src (or its parent) or --same')
  const baseSrc = path.basename(baseDir) === 'src' ? baseDir : path.join(baseDir, 'src')
  const spec = { rows: Number(values.rows), tenants: Number(values.tenants), skew: false }
  const url = await ensureBenchDatabase(serverUrl(), values.database)
  await ensureDataSet(url, spec, (line) => console.log(line))
  const sample = await loadSample(url, spec, 500)
  const a = await load(baseSrc, 'base', url)
  const b = await load(here, 'this', url)
  const rounds = Number(values.rounds)
  const calls = Number(values.calls)
  console.log(`A = ${baseSrc}, B = ${here}; ${rounds} rounds × ${calls} calls per build and workload\n`)
  console.log('workload         A µs/call  B µs/call  median(B−A)  median(B/A)')
  try {
    for (const [name, w] of Object.entries(WORKLOADS)) {
      for (let i = 0; i < 200; i++) {
        await w(a.toolset, sample[i % sample.length] as SampleRow)
        await w(b.toolset, sample[i % sample.length] as SampleRow)
      }
      const as: number[] = []
      const bs: number[] = []
      for (let r = 0; r < rounds; r++) {
        const first = r % 2 === 0 ? a : b
        const second = first === a ? b : a
        const x = await cpuPerCall(first, w, sample, calls, r * calls)
        const y = await cpuPerCall(second, w, sample, calls, r * calls)
        as.push(first === a ? x : y)
        bs.push(first === a ? y : x)
      }
      const diffs = bs.map((v, i) => v - (as[i] as number))
      const ratios = bs.map((v, i) => v / (as[i] as number))
      console.log(
        `${name.padEnd(16)} ${median(as).toFixed(1).padStart(9)}  ${median(bs).toFixed(1).padStart(9)}  ` +
          `${median(diffs).toFixed(1).padStart(11)}  ${median(ratios).toFixed(3).padStart(11)}`,
      )
    }
  } finally {
    await a.close()
    await b.close()
  }
}

await main()
