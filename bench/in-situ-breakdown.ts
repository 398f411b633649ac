/**
 * Where a Tessera call's time goes, measured inside real calls rather than in isolated loops (which run hot,
 * monomorphic code and understate the cost of a path that runs once between two network waits). A separate
 * toolset is built over wrapped parts, so the latency scenarios are not perturbed:
 *
 * - the pg.Pool's `connect` is timed, and each client's `query` (protocol encoding, the round trip, the
 *   server's work, row parsing);
 * - the Kysely instance's `executeQuery` (Kysely's executor + the Tessera dialect + the above);
 * - the audit store's `record` (what reads call; the default in-memory store accepts the record at once and
 *   seals it — hash chain — in batches later, so sealing mostly lands outside the timed calls or in the
 *   occasional call that completes a batch).
 *
 * Means are over the fastest 90% of calls (by whole-call time). What remains of the call is Tessera's own
 * pipeline: context and request validation, planning, statement compilation, shaping, cursor, audit draft,
 * and the async glue between them.
 */
import { Kysely, type CompiledQuery, type QueryResult } from 'kysely'
import pg from 'pg'
import {
  MemoryAuditStore,
  type AuditRecord,
  type AuditRecordDraft,
  type AuditStore,
} from '../src/stores/index.ts'
import { createTesseraDialect, type TesseraPostgresAdapter } from '../src/executor/tessera-dialect.ts'
import type { Policy } from '../src/policy/types.ts'
import { createToolset } from '../src/tools/create-toolset.ts'
import type { SampleRow } from './bench-data.ts'

/** Share of calls kept, fastest first, for the means. */
const TRIM = 0.9

export interface Segment {
  readonly name: string
  /** Mean µs per call, for get, the 20-row query and a count with a filter. */
  readonly get: number
  readonly query: number
  readonly aggregate: number
}

type Timings = Map<string, number>

function add(t: Timings, key: string, ms: number): void {
  t.set(key, (t.get(key) ?? 0) + ms)
}

/** Times `connect()` and every client's `query()`; pg-pool's own callback-style connect passes through. */
function timedPool(config: pg.PoolConfig, t: () => Timings): pg.Pool {
  const pool = new pg.Pool(config)
  const connect = pool.connect.bind(pool) as (...args: unknown[]) => unknown
  const wrapped = new WeakSet<object>()
  const timedConnect = (...args: unknown[]): unknown => {
    if (typeof args[0] === 'function') return connect(...args)
    return (async () => {
      const started = performance.now()
      const client = (await connect()) as pg.PoolClient
      add(t(), 'pool.connect', performance.now() - started)
      if (!wrapped.has(client)) {
        wrapped.add(client)
        const query = client.query.bind(client) as (...a: unknown[]) => Promise<unknown>
        Object.assign(client, {
          query: (...a: unknown[]) => {
            const begun = performance.now()
            const first = a[0] as { submit?: unknown; callback?: (err: unknown, res: unknown) => void }
            if (typeof first?.submit === 'function' && typeof first.callback === 'function') {
              // A pg.Query (how the Tessera dialect sends): it completes through its callback.
              const done = first.callback
              first.callback = (err, res) => {
                add(t(), 'client.query', performance.now() - begun)
                done(err, res)
              }
              return query(...a)
            }
            return (async () => {
              try {
                return await query(...a)
              } finally {
                add(t(), 'client.query', performance.now() - begun)
              }
            })()
          },
        })
      }
      return client
    })()
  }
  Object.assign(pool, { connect: timedConnect })
  return pool
}

export async function measureInSitu(
  benchUrl: string,
  poolConfig: pg.PoolConfig,
  policy: Policy,
  secret: string,
  sample: readonly SampleRow[],
  calls: number,
): Promise<Segment[]> {
  let timings: Timings = new Map()
  const pool = timedPool({ ...poolConfig, connectionString: benchUrl }, () => timings)

  const db = new Kysely<any>({ dialect: createTesseraDialect({ pool, statementTimeoutMs: 5_000 }) })

  // The toolset sends on `db.withPlugin(statement guard)` (src/executor/statement-guard.ts): that instance is
  // timed too, so the proxy wraps what withPlugin returns.
  const timed = (inner: Kysely<any>): Kysely<any> =>
    new Proxy(inner, {
      get(target, prop, receiver) {
        const value: unknown = Reflect.get(target, prop, receiver)
        if (prop === 'executeQuery') {
          return async (query: Parameters<typeof db.executeQuery>[0]) => {
            const started = performance.now()
            try {
              return await target.executeQuery(query)
            } finally {
              add(timings, 'db.executeQuery', performance.now() - started)
            }
          }
        }
        // A read with no host plugin goes from the executor's provideConnection straight to the connection
        // (src/executor/executor.ts): time that as the same segment.
        if (prop === 'getExecutor') {
          return () => timedExecutor(target.getExecutor())
        }
        if (prop === 'withPlugin') {
          return (plugin: Parameters<typeof db.withPlugin>[0]) => timed(target.withPlugin(plugin))
        }
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value
      },
    })
  const timedExecutor = (executor: ReturnType<typeof db.getExecutor>): ReturnType<typeof db.getExecutor> =>
    new Proxy(executor, {
      get(target, prop) {
        // The executor's getters read private fields: read them on the executor itself, not on the proxy.
        const value: unknown = Reflect.get(target, prop, target)
        if (prop === 'provideConnection') {
          return async (consumer: Parameters<typeof target.provideConnection>[0]) => {
            const started = performance.now()
            try {
              return await target.provideConnection(consumer)
            } finally {
              add(timings, 'db.executeQuery', performance.now() - started)
            }
          }
        }
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value
      },
    })
  const timedDb = timed(db)
  // Once a read through provideConnection has shown it sends the same, the executor sends reads past Kysely's
  // connection provider (src/executor/direct-statements.ts): time that path as the same segment.
  const direct = (db.getExecutor().adapter as TesseraPostgresAdapter).directStatements
  if (direct !== undefined) {
    const run = direct.run.bind(direct)
    direct.run = async <R>(statement: CompiledQuery): Promise<QueryResult<R>> => {
      const started = performance.now()
      try {
        return await run<R>(statement)
      } finally {
        add(timings, 'db.executeQuery', performance.now() - started)
      }
    }
  }
  // The default store, timed: a subclass, so the toolset treats it as the package's own store (it seals the
  // argsDigest off the call path, src/stores/deferred-args-digest.ts) exactly as it treats the default.
  class TimedMemoryAuditStore extends MemoryAuditStore {
    override async append(draft: AuditRecordDraft): Promise<AuditRecord> {
      const started = performance.now()
      try {
        return await super.append(draft)
      } finally {
        add(timings, 'audit.append', performance.now() - started)
      }
    }
    // What the toolset calls for reads: accept now, seal off the call path.
    override async record(draft: AuditRecordDraft): Promise<void> {
      const started = performance.now()
      try {
        await super.record(draft)
      } finally {
        add(timings, 'audit.append', performance.now() - started)
      }
    }
  }
  const audit: AuditStore = new TimedMemoryAuditStore()
  try {
    const toolset = await createToolset({ db: timedDb, policy, secret, audit, enforcement: 'app' })
    /** One Timings per call. */
    const run = async (kind: 'get' | 'query' | 'aggregate', n: number): Promise<Timings[]> => {
      const perCall: Timings[] = []
      for (let i = 0; i < n; i++) {
        const row = sample[(i * 7919) % sample.length] as SampleRow
        const ctx = { principal: { tenantId: row.tenantId } }
        timings = new Map()
        const started = performance.now()
        if (kind === 'get') await toolset.get(ctx, { model: 'Order', id: row.id })
        else if (kind === 'query')
          await toolset.query(ctx, { model: 'Order', orderBy: [{ field: 'created_at' }], limit: 20 })
        else
          await toolset.aggregate(ctx, {
            model: 'Order',
            op: 'count',
            where: { field: 'status', op: 'eq', value: 'paid' },
          })
        add(timings, 'total', performance.now() - started)
        perCall.push(timings)
      }
      return perCall
    }
    const warm = Math.max(200, Math.floor(calls / 2))
    await run('get', warm)
    const get = await run('get', calls)
    await run('query', warm)
    const query = await run('query', calls)
    await run('aggregate', warm)
    const aggregate = await run('aggregate', calls)
    // Means over the fastest 90% of calls: a call the scheduler preempted says nothing about the code, and
    // unlike per-segment medians, means of one set of calls still add up to the whole.
    const segments = (all: readonly Timings[]) => {
      const kept = [...all]
        .sort((a, b) => (a.get('total') ?? 0) - (b.get('total') ?? 0))
        .slice(0, Math.max(1, Math.floor(all.length * TRIM)))
      const v = (k: string): number =>
        (kept.reduce((sum, t) => sum + (t.get(k) ?? 0), 0) * 1000) / kept.length
      return {
        total: v('total'),
        pg: v('client.query'),
        connect: v('pool.connect'),
        kysely: v('db.executeQuery') - v('client.query') - v('pool.connect'),
        audit: v('audit.append'),
        pipeline: v('total') - v('db.executeQuery') - v('audit.append'),
      }
    }
    const g = segments(get)
    const q = segments(query)
    const a = segments(aggregate)
    return [
      { name: 'whole call', get: g.total, query: q.total, aggregate: a.total },
      {
        name: 'pg client.query (encode, round trip, server, parse rows)',
        get: g.pg,
        query: q.pg,
        aggregate: a.pg,
      },
      { name: 'pool.connect', get: g.connect, query: q.connect, aggregate: a.connect },
      {
        name: 'Kysely executor + Tessera dialect around the query',
        get: g.kysely,
        query: q.kysely,
        aggregate: a.kysely,
      },
      {
        name: 'audit record (in-memory store: accept now, seal in batches later)',
        get: g.audit,
        query: q.audit,
        aggregate: a.audit,
      },
      {
        name: 'Tessera pipeline (context, request, plan, compile, shape, cursor, draft, glue)',
        get: g.pipeline,
        query: q.pipeline,
        aggregate: a.pipeline,
      },
    ]
  } finally {
    await db.destroy()
  }
}
