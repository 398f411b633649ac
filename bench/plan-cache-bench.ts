/**
 * plan_cache_mode on skewed data (issue 15, item 5; docs/scaling.md "plan_cache_mode"). Tessera sends every
 * read as a named prepared statement (src/executor/tessera-dialect.ts), so PostgreSQL decides per statement
 * between a custom plan (made for the bound tenant and values) and the cached generic plan (made for unknown
 * values, from table-wide averages). On a skewed table those differ most for the largest tenant.
 *
 * For the largest and a small tenant of the data set, each read workload of `npm run bench` runs through a
 * toolset whose connection has `plan_cache_mode` = auto, force_custom_plan or force_generic_plan (one
 * connection per mode, one call at a time, interleaved in rounds). Prints p50 per mode, how often `auto`
 * chose the generic plan (pg_prepared_statements), and the plan PostgreSQL makes for the same statement
 * shape under each forced mode (EXPLAIN of a PREPAREd equivalent). It never fails on its numbers.
 *
 *   npx tsx bench/plan-cache-bench.ts --rows 10000000 --tenants 10000 --database tessera_scale
 */
import { cpus, loadavg } from 'node:os'
import { parseArgs } from 'node:util'
import { Kysely } from 'kysely'
import pg from 'pg'
import { createTesseraDialect } from '../src/executor/tessera-dialect.ts'
import { definePolicy } from '../src/policy/define-policy.ts'
import { createToolset, type Toolset } from '../src/tools/create-toolset.ts'
import { BENCH_DATABASE, BENCH_TABLE, ensureBenchDatabase, ensureDataSet, serverUrl } from './bench-data.ts'
import { BENCH_POLICY, BENCH_SQL } from './bench-workloads.ts'
import { formatTable, summarize, us } from './latency-stats.ts'

const SECRET = 'tessera-bench-secret-0123456789abcdef'
const MODES = ['auto', 'force_custom_plan', 'force_generic_plan'] as const
type Mode = (typeof MODES)[number]

const { values } = parseArgs({
  options: {
    rows: { type: 'string', default: '10000000' },
    tenants: { type: 'string', default: '10000' },
    rounds: { type: 'string', default: '10' },
    calls: { type: 'string', default: '15' },
    database: { type: 'string', default: BENCH_DATABASE },
  },
  strict: true,
})
const spec = { rows: Number(values.rows), tenants: Number(values.tenants), skew: true }

interface Workload {
  readonly name: string
  /** The equivalent raw statement and its arguments, for EXPLAIN under each forced mode. */
  readonly sql: string
  readonly args: (tenant: TenantCase) => unknown[]
  readonly run: (toolset: Toolset, tenant: TenantCase, i: number) => Promise<unknown>
}

interface TenantCase {
  readonly label: string
  readonly id: string
  readonly rows: number
  readonly orderIds: readonly string[]
}

const ctx = (t: TenantCase) => ({ principal: { tenantId: t.id } })
const WORKLOADS: Workload[] = [
  {
    name: 'get by id',
    sql: BENCH_SQL.get,
    args: (t) => [t.orderIds[0], t.id],
    run: (ts, t, i) => ts.get(ctx(t), { model: 'Order', id: t.orderIds[i % t.orderIds.length] ?? '' }),
  },
  {
    name: '20 rows, oldest first',
    sql: BENCH_SQL.list,
    args: (t) => [t.id],
    run: (ts, t) => ts.query(ctx(t), { model: 'Order', orderBy: [{ field: 'created_at' }], limit: 20 }),
  },
  {
    name: '20 newest',
    sql: BENCH_SQL.newest,
    args: (t) => [t.id],
    run: (ts, t) =>
      ts.query(ctx(t), { model: 'Order', orderBy: [{ field: 'created_at', direction: 'desc' }], limit: 20 }),
  },
  {
    name: 'count by status',
    sql: BENCH_SQL.count,
    args: (t) => [t.id, 'paid'],
    run: (ts, t) =>
      ts.aggregate(ctx(t), {
        model: 'Order',
        op: 'count',
        where: { field: 'status', op: 'eq', value: 'paid' },
      }),
  },
]

async function tenantCase(client: pg.Client, label: string, k: number): Promise<TenantCase> {
  const id = (await client.query<{ id: string }>(`select md5('tenant-' || $1::int)::uuid::text as id`, [k]))
    .rows[0]?.id
  if (id === undefined) throw new Error('no tenant id')
  const rows = await client.query<{ id: string }>(
    `select id::text from ${BENCH_TABLE} where tenant_id = $1 order by id limit 200`,
    [id],
  )
  const count = await client.query<{ n: string }>(
    `select count(*)::text as n from ${BENCH_TABLE} where tenant_id = $1`,
    [id],
  )
  return { label, id, rows: Number(count.rows[0]?.n), orderIds: rows.rows.map((r) => r.id) }
}

/** Node types of a plan, outermost first: "Limit ← Index Scan using …". */
function planShape(plan: unknown): string {
  const parts: string[] = []
  let node = (plan as { Plan?: Record<string, unknown> }[])[0]?.Plan
  while (node !== undefined) {
    const index = typeof node['Index Name'] === 'string' ? ` (${node['Index Name']})` : ''
    parts.push(`${String(node['Node Type'])}${index}`)
    node = (node['Plans'] as Record<string, unknown>[] | undefined)?.[0]
  }
  return parts.join(' ← ')
}

async function explainShapes(client: pg.Client, tenants: readonly TenantCase[]): Promise<string[][]> {
  const out: string[][] = []
  for (const [w, workload] of WORKLOADS.entries()) {
    await client.query(`prepare plan_probe_${w} as ${workload.sql}`)
    for (const t of tenants) {
      const literal = workload
        .args(t)
        .map((a) => `'${String(a).replaceAll("'", "''")}'`)
        .join(', ')
      const row = [workload.name, t.label]
      for (const mode of ['force_custom_plan', 'force_generic_plan']) {
        await client.query(`set plan_cache_mode = ${mode}`)
        const { rows } = await client.query<{ 'QUERY PLAN': unknown }>(
          `explain (format json) execute plan_probe_${w}(${literal})`,
        )
        row.push(planShape(rows[0]?.['QUERY PLAN']))
      }
      out.push(row)
    }
    await client.query(`deallocate plan_probe_${w}`)
  }
  await client.query('reset plan_cache_mode')
  return out
}

async function main(): Promise<void> {
  const benchUrl = await ensureBenchDatabase(serverUrl(), values.database)
  await ensureDataSet(benchUrl, spec, (line) => console.log(line))
  const admin = new pg.Client({ connectionString: benchUrl })
  await admin.connect()
  // Row g's tenant is ⌊T·u³⌋ (bench-data.ts): tenant 0 holds the most rows, tenant T-1 about the fewest.
  const tenants = [await tenantCase(admin, 'largest', 0), await tenantCase(admin, 'small', spec.tenants - 1)]
  const policy = definePolicy(BENCH_POLICY)
  const setups = new Map<Mode, { pool: pg.Pool; db: Kysely<any>; toolset: Toolset }>()
  for (const mode of MODES) {
    // One connection per mode, so pg_prepared_statements below is the session every call of that mode used.
    const pool = new pg.Pool({ connectionString: benchUrl, max: 1, options: `-c plan_cache_mode=${mode}` })
    const db = new Kysely<any>({ dialect: createTesseraDialect({ pool, statementTimeoutMs: 30_000 }) })
    setups.set(mode, {
      pool,
      db,
      toolset: await createToolset({ db, policy, secret: SECRET, enforcement: 'app' }),
    })
  }

  const samples = new Map<string, number[]>()
  const key = (w: Workload, t: TenantCase, mode: Mode): string => `${w.name}|${t.label}|${mode}`
  const rounds = Number(values.rounds)
  const calls = Number(values.calls)
  const loadBefore = loadavg()[0] ?? 0
  for (let round = -1; round < rounds; round++) {
    for (const w of WORKLOADS) {
      for (const t of tenants) {
        for (let i = 0; i < calls; i++) {
          // Modes take turns call by call (rotated), so a burst of load from other processes hits them alike.
          for (let m = 0; m < MODES.length; m++) {
            const mode = MODES[(m + i + Math.max(0, round)) % MODES.length] as Mode
            const toolset = setups.get(mode)?.toolset
            if (toolset === undefined) throw new Error(`no toolset for ${mode}`)
            const list = samples.get(key(w, t, mode)) ?? []
            samples.set(key(w, t, mode), list)
            const started = performance.now()
            await w.run(toolset, t, i + (round + 1) * calls)
            // Round -1 warms up: the first five executions of a statement are always custom plans.
            if (round >= 0) list.push((performance.now() - started) * 1000)
          }
        }
      }
    }
  }

  const autoCounts = (
    await setups
      .get('auto')
      ?.pool.query<{ statement: string; generic_plans: string; custom_plans: string }>(
        'select statement, generic_plans::text, custom_plans::text from pg_prepared_statements',
      )
  )?.rows
  const countsFor = (w: Workload): string => {
    // Tessera's statement for each workload, told apart by its text.
    const hit = autoCounts?.find((r) => {
      const text = r.statement.toLowerCase()
      if (w.name.startsWith('count')) return text.includes('count(')
      if (w.name === 'get by id') return !text.includes('count(') && text.includes('limit 1')
      if (w.name === '20 newest') return text.includes(' desc') && text.includes('limit 21')
      return !text.includes(' desc') && text.includes('limit 21')
    })
    return hit === undefined ? '?' : `${hit.generic_plans} generic / ${hit.custom_plans} custom`
  }

  console.log(
    `plan_cache_mode — ${spec.rows.toLocaleString('en-US')} rows / ${spec.tenants.toLocaleString('en-US')} tenants (skewed), ` +
      `${rounds} rounds × ${calls} calls per cell, one connection per mode, ${cpus().length} cores, ` +
      `load ${loadBefore.toFixed(1)} → ${(loadavg()[0] ?? 0).toFixed(1)}`,
  )
  console.log(tenants.map((t) => `${t.label} tenant: ${t.rows.toLocaleString('en-US')} rows`).join('; '))
  console.log('')
  console.log(
    formatTable(
      [
        'workload',
        'tenant',
        'auto p50 µs',
        'custom p50 µs',
        'generic p50 µs',
        'generic/custom',
        'auto chose',
      ],
      WORKLOADS.flatMap((w) =>
        tenants.map((t) => {
          const p50 = (mode: Mode): number => summarize(samples.get(key(w, t, mode)) ?? []).p50
          return [
            w.name,
            t.label,
            us(p50('auto')),
            us(p50('force_custom_plan')),
            us(p50('force_generic_plan')),
            (p50('force_generic_plan') / p50('force_custom_plan')).toFixed(2),
            countsFor(w),
          ]
        }),
      ),
    ),
  )
  console.log('\nPlans for the equivalent statement (EXPLAIN EXECUTE of a PREPAREd statement):\n')
  console.log(
    formatTable(['workload', 'tenant', 'custom plan', 'generic plan'], await explainShapes(admin, tenants)),
  )
  await admin.end()
  for (const { db } of setups.values()) await db.destroy()
}

await main()
