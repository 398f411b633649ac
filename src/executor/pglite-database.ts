/**
 * The embedded default: PGlite reached through node-postgres and the Tessera dialect, so the embedded
 * engine runs exactly the code path PostgreSQL does (same driver, same protocol, same type parsing).
 */
import { PGlite, type PGliteOptions } from '@electric-sql/pglite'
import { createPgConfig } from '@electric-sql/pglite/node-postgres'
import pg from 'pg'
import { kyselyOverPool } from './kysely-over-pool.ts'
import type { AnyDatabase } from '../schema/index.ts'

export interface PgliteDatabaseOptions {
  /** Where PGlite keeps its files (`memory://` or a directory); in memory when omitted. */
  readonly dataDir?: string
  /** A tarball from `pglite.dumpDataDir()` to start from. */
  readonly loadDataDir?: Blob
  /**
   * Session statement_timeout set on the connection (default 5000, the PROD budget). PGlite does not
   * enforce it (THREATS fact 12: use the cost guard); it is set so the executor's single-statement read
   * path applies exactly as on PostgreSQL.
   */
  readonly statementTimeoutMs?: number
  readonly maxPreparedPerConnection?: number
}

export interface PgliteDatabase {
  readonly db: AnyDatabase
  readonly pool: pg.Pool
  readonly pglite: PGlite
  /** Destroys the Kysely instance (ending the pool), then closes PGlite. */
  close(): Promise<void>
}

export { DEFAULT_SESSION_STATEMENT_TIMEOUT_MS } from './kysely-over-pool.ts'

export async function createPgliteDatabase(options: PgliteDatabaseOptions = {}): Promise<PgliteDatabase> {
  const pgliteOptions: PGliteOptions = {
    ...(options.dataDir === undefined ? {} : { dataDir: options.dataDir }),
    ...(options.loadDataDir === undefined ? {} : { loadDataDir: options.loadDataDir }),
  }
  const pglite = new PGlite(pgliteOptions)
  await pglite.waitReady
  // PGlite has one session: one client (max 1), kept open (idleTimeoutMillis 0) so the session state the
  // pg client caches — prepared statement names — never goes out of step with the engine.
  const pool = new pg.Pool({ ...createPgConfig(pglite), max: 1, idleTimeoutMillis: 0 })
  const db = kyselyOverPool(pool, options)
  let closed: Promise<void> | undefined
  return {
    db,
    pool,
    pglite,
    close() {
      closed ??= (async () => {
        await db.destroy()
        await pglite.close()
      })()
      return closed
    },
  }
}
