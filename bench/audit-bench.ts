/**
 * Audit benchmark (`npm run bench:audit`): what each audit store adds to a call, measured in one run.
 *
 * 1. `toolset.get` and `toolset.update` p50 with each store — memory (default), JSONL (fsync always and never),
 *    PostgreSQL in the same database (durability per-call and batched) — as a ratio of the same call with a store that keeps nothing, interleaved
 *    in rounds so drift hits every scenario alike. One call at a time.
 * 2. Records per second for each store: one append at a time (single) and 64 concurrent appends (batched).
 *
 *   npm run bench:audit                         2,000 rows / 20 tenants / 1,000 calls per scenario
 *   npm run bench:audit -- --iterations 3000 --database tessera_bench_audit --flush-ms 10
 *
 * Server: TESSERA_BENCH_DATABASE_URL, else TESSERA_TEST_DATABASE_URL's server, else local; the data lives in a
 * table `bench_audit_orders` of the database `--database` (default `tessera_bench_audit`, created if missing).
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { cpus, loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { Kysely, sql } from 'kysely'
import pg from 'pg'
import {
  type AuditRecordDraft,
  type AuditStore,
  ensureAuditTables,
  JsonlAuditStore,
  MemoryAuditStore,
  PostgresAuditStore,
} from '../src/stores/index.ts'
import { createTesseraDialect } from '../src/executor/tessera-dialect.ts'
import { definePolicy } from '../src/policy/define-policy.ts'
import { createToolset, type Toolset } from '../src/tools/create-toolset.ts'
import { DiscardingAuditStore, serverUrl, withDatabase } from './bench-data.ts'
import { formatTable, summarize, us } from './latency-stats.ts'

const SECRET = 'tessera-bench-secret-0123456789abcdef'
const TABLE = 'bench_audit_orders'

/** Waits until what the store accepted is stored (the stores that accept before storing have flush()). */
async function flushStore(store: AuditStore): Promise<void> {
  if (store instanceof PostgresAuditStore) await store.flush()
  else if (store instanceof MemoryAuditStore) store.entries()
}

function options() {
  const { values } = parseArgs({
    options: {
      iterations: { type: 'string', default: '1000' },
      rounds: { type: 'string', default: '20' },
      rows: { type: 'string', default: '2000' },
      tenants: { type: 'string', default: '20' },
      database: { type: 'string', default: 'tessera_bench_audit' },
      'flush-ms': { type: 'string', default: '10' },
    },
    strict: true,
  })
  const int = (v: string, name: string) => {
    const n = Number(v)
    if (!Number.isSafeInteger(n) || n <= 0) throw new Error(`--${name} must be a positive integer`)
    return n
  }
  if (!/^[a-z_][a-z0-9_]*$/.test(values.database))
    throw new Error('--database must be a plain lower-case name')
  return {
    iterations: int(values.iterations, 'iterations'),
    rounds: int(values.rounds, 'rounds'),
    rows: int(values.rows, 'rows'),
    tenants: int(values.tenants, 'tenants'),
    database: values.database,
    flushMs: Number(values['flush-ms']),
  }
}

async function ensureDatabase(url: string, name: string): Promise<string> {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    const { rowCount } = await client.query('select 1 from pg_database where datname = $1', [name])
    if (!rowCount) await client.query(`create database ${name}`)
  } finally {
    await client.end()
  }
  return withDatabase(url, name)
}

interface Row {
  readonly id: string
  readonly tenantId: string
}

async function ensureData(db: Kysely<any>, rows: number, tenants: number): Promise<Row[]> {
  await sql`drop table if exists ${sql.table(TABLE)}`.execute(db)
  await sql`create table ${sql.table(TABLE)} (
    id uuid primary key default gen_random_uuid(),
    tenant_id uuid not null,
    status text not null,
    total numeric(12,2) not null,
    created_at timestamptz not null default now())`.execute(db)
  await sql`insert into ${sql.table(TABLE)} (tenant_id, status, total)
    select ('00000000-0000-4000-8000-' || lpad((g % ${tenants})::text, 12, '0'))::uuid, 'paid', g
    from generate_series(1, ${rows}) g`.execute(db)
  await sql`create index on ${sql.table(TABLE)} (tenant_id, created_at)`.execute(db)
  await sql`analyze ${sql.table(TABLE)}`.execute(db)
  const result = await sql<{
    id: string
    tenant_id: string
  }>`select id, tenant_id from ${sql.table(TABLE)}`.execute(db)
  return result.rows.map((r) => ({ id: r.id, tenantId: r.tenant_id }))
}

interface Variant {
  readonly name: string
  readonly store: AuditStore
  toolset?: Toolset
}

async function main(): Promise<void> {
  const opts = options()
  const url = await ensureDatabase(serverUrl(), opts.database)
  const pool = new pg.Pool({ connectionString: url, max: 4 })
  const db = new Kysely<any>({ dialect: createTesseraDialect({ pool }) })
  const dir = await mkdtemp(join(tmpdir(), 'tessera-audit-bench-'))
  try {
    const sample = await ensureData(db, opts.rows, opts.tenants)
    await sql`drop table if exists tessera_audit, tessera_audit_cuts`.execute(db)
    await ensureAuditTables(db)
    const variants: Variant[] = [
      { name: 'none (keeps nothing)', store: new DiscardingAuditStore() },
      { name: 'memory', store: new MemoryAuditStore() },
      { name: 'jsonl fsync=always', store: new JsonlAuditStore({ path: join(dir, 'always.jsonl') }) },
      {
        name: 'jsonl fsync=never',
        store: new JsonlAuditStore({ path: join(dir, 'never.jsonl'), fsync: 'never' }),
      },
      {
        name: 'postgres per-call',
        store: new PostgresAuditStore({ db, durability: 'per-call' }),
      },
      {
        name: 'postgres batched',
        store: new PostgresAuditStore({ db, durability: 'batched', flushIntervalMs: opts.flushMs }),
      },
    ]
    const policy = definePolicy({
      models: {
        Order: {
          table: TABLE,
          fields: { id: 'allow', tenant_id: 'allow', status: 'allow', total: 'allow', created_at: 'allow' },
          scoping: { tenant_id: 'principal.tenantId' },
          write: { update: 'allow' },
        },
      },
    })
    for (const v of variants) v.toolset = await createToolset({ db, policy, secret: SECRET, audit: v.store })
    const version =
      (await sql<{ v: string }>`select current_setting('server_version') as v`.execute(db)).rows[0]?.v ?? '?'
    console.log(
      `Tessera audit benchmark — PostgreSQL ${version}, node ${process.version}, ${cpus().length} cores, ` +
        `load ${(loadavg()[0] ?? 0).toFixed(1)}\n${opts.rows} rows / ${opts.tenants} tenants, ` +
        `${opts.iterations} calls per scenario in ${opts.rounds} interleaved rounds, one call at a time\n`,
    )

    const calls = {
      get: (t: Toolset, r: Row) =>
        t.get({ principal: { tenantId: r.tenantId } }, { model: 'Order', id: r.id }),
      update: (t: Toolset, r: Row) =>
        t.update(
          { principal: { tenantId: r.tenantId } },
          { model: 'Order', id: r.id, data: { status: 'paid' } },
        ),
    }
    const samples = new Map<string, number[]>()
    const perRound = Math.ceil(opts.iterations / opts.rounds)
    let cursor = 0
    // Warm-up: every variant, both calls.
    for (const v of variants) {
      for (let i = 0; i < 100; i++) {
        const row = sample[i % sample.length] as Row
        await calls.get(v.toolset as Toolset, row)
        await calls.update(v.toolset as Toolset, row)
      }
    }
    for (let round = 0; round < opts.rounds; round++) {
      for (const [callName, call] of Object.entries(calls)) {
        for (const v of variants) {
          const key = `${callName}|${v.name}`
          const list = samples.get(key) ?? []
          samples.set(key, list)
          for (let i = 0; i < perRound; i++) {
            const row = sample[(cursor + i) % sample.length] as Row
            const started = performance.now()
            await call(v.toolset as Toolset, row)
            list.push(performance.now() - started)
          }
        }
        cursor += perRound
      }
    }
    const rows: string[][] = []
    for (const callName of Object.keys(calls)) {
      const base = summarize(samples.get(`${callName}|${variants[0]?.name}`) ?? []).p50
      for (const v of variants) {
        const s = summarize(samples.get(`${callName}|${v.name}`) ?? [])
        rows.push([
          `toolset.${callName}`,
          v.name,
          us(s.p50 * 1000),
          us(s.p99 * 1000),
          `${(s.p50 / base).toFixed(2)}x`,
        ])
      }
    }
    console.log('Latency per call (µs) and p50 ratio vs the store that keeps nothing:')
    console.log(formatTable(['call', 'audit store', 'p50', 'p99', 'p50 ratio'], rows))

    const draft: AuditRecordDraft = {
      tool: 'db_get',
      model: 'Order',
      action: 'read',
      outcome: 'success',
      errorCode: null,
      tenantId: sample[0]?.tenantId ?? null,
      userId: null,
      roles: [],
      requestId: 'bench',
      traceId: null,
      inputs: { model: 'Order', id: sample[0]?.id },
      scopesInjected: ['Order.tenant_id = $1'],
      rowPolicies: [],
      bypass: null,
      fieldsRedacted: [],
      rowCount: 1,
      affectedRows: null,
      durationMs: 1,
      reason: null,
      before: null,
      after: null,
      policyVersion: 'bench',
    }
    const throughput: string[][] = []
    for (const v of variants.slice(1)) {
      const n = 500
      let started = performance.now()
      for (let i = 0; i < n; i++) await v.store.append(draft)
      const single = n / ((performance.now() - started) / 1000)
      started = performance.now()
      for (let b = 0; b < n / 50; b++)
        await Promise.all(Array.from({ length: 64 }, () => v.store.append(draft)))
      const batched = ((n / 50) * 64) / ((performance.now() - started) / 1000)
      // record(): what the toolset uses for reads (accepted, then stored off the caller's path where the store can).
      const record = v.store.record?.bind(v.store)
      let recorded = '-'
      if (record !== undefined) {
        started = performance.now()
        for (let i = 0; i < n; i++) await record(draft)
        await flushStore(v.store)
        recorded = Math.round(n / ((performance.now() - started) / 1000)).toLocaleString('en-US')
      }
      throughput.push([
        v.name,
        Math.round(single).toLocaleString('en-US'),
        Math.round(batched).toLocaleString('en-US'),
        recorded,
      ])
    }
    console.log('\nRecords per second (append; record() one at a time, until stored):')
    console.log(formatTable(['audit store', 'append single', 'append 64 concurrent', 'record()'], throughput))
    for (const v of variants.slice(1)) {
      const report = await v.store.verify()
      if (!report.ok) throw new Error(`${v.name}: chain broken after the benchmark`)
    }
    console.log('\nEvery store verified clean after the run.')
    for (const v of variants) {
      if (v.store instanceof JsonlAuditStore || v.store instanceof PostgresAuditStore) await v.store.close()
    }
  } finally {
    await db.destroy()
    await rm(dir, { recursive: true, force: true })
  }
}

await main()
