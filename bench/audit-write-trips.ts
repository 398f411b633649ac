/**
 * A write's cost with the PostgreSQL audit store, paired in one process: the audit INSERT riding with the
 * COMMIT (the store as it is) against the INSERT sent on its own (the same store behind a transaction handle
 * that strips the marker, which is what every write did before). Interleaved A/B creates on one connection, so
 * load drifts hit both alike; prints round trips per write and the median and p90 of each, and their ratio.
 *
 *   TESSERA_BENCH_DATABASE_URL=postgres://… npx tsx bench/audit-write-trips.ts [--n 2000] [--async-commit]
 *
 * `--async-commit` sets synchronous_commit off for the bench's session, so the WAL flush of each COMMIT (which
 * dominates on a slow disk) does not drown the round trip being measured.
 */
import { CompiledQuery, Kysely } from 'kysely'
import pg from 'pg'
import {
  createTesseraDialect,
  createToolset,
  definePolicy,
  ensureAuditTables,
  PostgresAuditStore,
  type AuditStore,
} from '../src/index.ts'

const url = process.env['TESSERA_BENCH_DATABASE_URL']
if (url === undefined) throw new Error('set TESSERA_BENCH_DATABASE_URL')
const n = Number(process.argv[process.argv.indexOf('--n') + 1] || 2000)
const TENANT = 'a0000000-0000-4000-8000-000000000000'

const asyncCommit = process.argv.includes('--async-commit')
const pool = new pg.Pool({
  connectionString: url,
  max: 1,
  ...(asyncCommit ? { options: '-c synchronous_commit=off' } : {}),
})
let trips = 0
const counted = {
  options: pool.options,
  end: () => pool.end(),
  async connect() {
    const client = await pool.connect()
    const c = client as pg.PoolClient & { counted?: boolean }
    if (!c.counted) {
      c.counted = true
      const query = client.query.bind(client) as (config: unknown) => unknown
      ;(client as unknown as { query: (config: unknown) => unknown }).query = (config) => {
        trips++
        return query(config)
      }
    }
    return client
  },
}
const db = new Kysely<any>({ dialect: createTesseraDialect({ pool: counted }) })
await db.executeQuery(
  CompiledQuery.raw(`create table if not exists bench_audit_items (
    id uuid primary key default gen_random_uuid(), tenant_id uuid not null, qty integer not null)`),
)
await ensureAuditTables(db)
const policy = definePolicy({
  models: {
    Item: {
      table: 'bench_audit_items',
      fields: { id: 'allow', tenant_id: 'allow', qty: 'allow' },
      scoping: { tenant_id: 'principal.tenantId' },
      write: { create: 'allow', autoSet: { tenant_id: 'principal.tenantId' } },
    },
  },
})
const silent = { error: () => {}, warn: () => {} }
const riding = new PostgresAuditStore({ db, logger: silent })
const inner = new PostgresAuditStore({ db, logger: silent })
// The same store, but its INSERT loses the marker on the way: sent on its own, as before.
const apart: AuditStore = Object.assign(Object.create(inner) as AuditStore, {
  stage: (draft: Parameters<AuditStore['stage']>[0], trx?: Parameters<AuditStore['stage']>[1]) =>
    inner.stage(
      draft,
      trx === undefined
        ? undefined
        : {
            executeQuery: (q: CompiledQuery) => trx.executeQuery(CompiledQuery.raw(q.sql, [...q.parameters])),
          },
    ),
  record: (draft: Parameters<AuditStore['stage']>[0]) => inner.record(draft),
  append: (draft: Parameters<AuditStore['stage']>[0]) => inner.append(draft),
})
const secret = 'bench-secret-bench-secret-bench-secret!!'
const toolsets = {
  riding: await createToolset({ db, policy, audit: riding, secret, enforcement: 'app' }),
  apart: await createToolset({ db, policy, audit: apart, secret, enforcement: 'app' }),
}
const ctx = { principal: { tenantId: TENANT, userId: 'bench', roles: ['agent'] } }
const samples: Record<'riding' | 'apart', number[]> = { riding: [], apart: [] }
const tripCount: Record<'riding' | 'apart', number> = { riding: 0, apart: 0 }
for (let i = 0; i < n + 200; i++) {
  for (const kind of i % 2 === 0 ? (['riding', 'apart'] as const) : (['apart', 'riding'] as const)) {
    const before = trips
    const t0 = process.hrtime.bigint()
    await toolsets[kind].create(ctx, { model: 'Item', data: { qty: i } })
    const us = Number(process.hrtime.bigint() - t0) / 1000
    if (i >= 200) {
      samples[kind].push(us)
      tripCount[kind] += trips - before
    }
  }
}
const q = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.floor(p * (xs.length - 1))] ?? 0
for (const kind of ['apart', 'riding'] as const) {
  const s = samples[kind]
  console.log(
    `${kind.padEnd(7)} round trips/write ${(tripCount[kind] / s.length).toFixed(2)}  p50 ${q(s, 0.5).toFixed(0)} µs  p90 ${q(s, 0.9).toFixed(0)} µs`,
  )
}
console.log(`riding/apart p50 ${(q(samples.riding, 0.5) / q(samples.apart, 0.5)).toFixed(3)}`)
await riding.close()
await inner.close()
await db.executeQuery(CompiledQuery.raw('drop table bench_audit_items'))
await db.destroy()
