/**
 * A PostgreSQL pool with production defaults behind the Tessera dialect. pg's own defaults are unsafe for
 * a server: `connectionTimeoutMillis: 0` waits forever when the pool is exhausted (docs/threats.md fact 8), and
 * an idle client that loses its connection emits an 'error' that crashes the process if nobody listens.
 */
import pg from 'pg'
import type { Logger } from 'pino'
import { kyselyOverPool } from './kysely-over-pool.ts'
import { connectionTarget, registerConnectionTarget, type AnyDatabase } from '../schema/index.ts'

export interface PostgresDatabaseOptions {
  /** Session statement_timeout set on every new connection (default 5000, the PROD budget). */
  readonly statementTimeoutMs?: number
  readonly maxPreparedPerConnection?: number
  /** Receives errors of idle pooled connections (which are then discarded by the pool). */
  readonly logger?: Logger
  /**
   * The session's `plan_cache_mode`, sent in the startup packet (default `force_generic_plan`; `server`
   * leaves the server's or role's setting). Tessera's reads are named prepared statements pinned to one
   * tenant: their generic and custom plans were the same on a skewed 10M-row table, custom plans re-plan on
   * every call, and `auto` kept re-planning 20-row lists; the generic plan is also what the cost guard judges
   * (docs/scaling.md, "plan_cache_mode"). An `options` string that already sets it is left alone.
   */
  readonly planCacheMode?: 'force_generic_plan' | 'force_custom_plan' | 'auto' | 'server'
}

export interface PostgresDatabase {
  readonly db: AnyDatabase
  readonly pool: pg.Pool
  /** Destroys the Kysely instance, which ends the pool. */
  close(): Promise<void>
}

/** Defaults: max 10 connections, 5 s to acquire one, idle connections closed after 30 s. */
export function createPostgresDatabase(
  config: string | pg.PoolConfig,
  options: PostgresDatabaseOptions = {},
): PostgresDatabase {
  const given: pg.PoolConfig = typeof config === 'string' ? { connectionString: config } : config
  const pool = new pg.Pool({
    max: 10,
    connectionTimeoutMillis: 5000,
    idleTimeoutMillis: 30_000,
    ...given,
    ...startupOptions(given.options, options.planCacheMode ?? 'force_generic_plan'),
  })
  pool.on('error', (err) => {
    options.logger?.warn(
      { dbError: { message: err.message, code: codeOf(err) } },
      'idle database connection failed',
    )
  })
  // pg-pool listens for a client's 'error' only while the client is idle in the pool. A connection killed
  // while a call holds it (between two statements of its transaction) would emit an unhandled 'error' and
  // crash the process; the call's next statement fails and is mapped (INTERNAL_ERROR), so here it is logged.
  pool.on('connect', (client) => {
    client.on('error', (err) => {
      options.logger?.warn(
        { dbError: { message: err.message, code: codeOf(err) } },
        'database connection failed while in use',
      )
    })
  })
  const db = kyselyOverPool(pool, options)
  // Setup errors name where the pool connects (never the password): a timeout carries no address itself.
  registerConnectionTarget(db, connectionTarget(given))
  let closed: Promise<void> | undefined
  return {
    db,
    pool,
    close() {
      closed ??= db.destroy()
      return closed
    },
  }
}

/** `-c plan_cache_mode=…` appended to the startup options, unless asked not to or already there. */
function startupOptions(
  given: string | undefined,
  mode: NonNullable<PostgresDatabaseOptions['planCacheMode']>,
): { options?: string } {
  if (mode === 'server' || (given !== undefined && given.includes('plan_cache_mode'))) {
    return given === undefined ? {} : { options: given }
  }
  const setting = `-c plan_cache_mode=${mode}`
  return { options: given === undefined || given.trim() === '' ? setting : `${given} ${setting}` }
}

function codeOf(err: Error): string | undefined {
  const code: unknown = (err as { code?: unknown }).code
  return typeof code === 'string' ? code : undefined
}
