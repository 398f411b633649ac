/**
 * The embedded default: PGlite reached through node-postgres and the Tessera dialect, so the embedded
 * engine runs exactly the code path PostgreSQL does (same driver, same protocol, same type parsing).
 *
 * PGlite is an optional peer dependency: PostgreSQL-only applications never download it. It is imported
 * here on first use, never at module load, so importing `tessera-db` works without it installed.
 */
import type { PGlite, PGliteOptions } from '@electric-sql/pglite'
import type { createPgConfig } from '@electric-sql/pglite/node-postgres'
import pg from 'pg'
import { kyselyOverPool } from './kysely-over-pool.ts'
import type { AnyDatabase } from '../schema/index.ts'

export interface PgliteDatabaseOptions {
  /** Where PGlite keeps its files (`memory://` or a directory); in memory when omitted. */
  readonly dataDir?: string
  /** A tarball from `pglite.dumpDataDir()` to start from. */
  readonly loadDataDir?: Blob
  /** Extra `initdb` arguments for a new data directory (e.g. `--wal-segsize=1`); ignored when loading one. */
  readonly initdbArgs?: readonly string[]
  /** `postgresql.conf` lines (`name=value`) written into the data directory, so a dump carries them. */
  readonly settings?: readonly string[]
  /**
   * Session statement_timeout set on the connection (default 5000, the PROD budget). PGlite does not
   * enforce it (docs/threats.md fact 12: use the cost guard); it is set so the executor's single-statement read
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
    ...(options.initdbArgs === undefined ? {} : { initDbStartParams: [...options.initdbArgs] }),
    ...(options.settings === undefined ? {} : { postgresqlconf: [...options.settings] }),
  }
  const { PGlite, createPgConfig: pgConfigFor } = await loadPglite()
  const pglite = new PGlite(pgliteOptions)
  await pglite.waitReady
  // PGlite has one session: one client (max 1), kept open (idleTimeoutMillis 0) so the session state the
  // pg client caches — prepared statement names — never goes out of step with the engine.
  const pool = new pg.Pool({ ...pgConfigFor(pglite), max: 1, idleTimeoutMillis: 0 })
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

export const PGLITE_PACKAGE = '@electric-sql/pglite'

interface PgliteModules {
  readonly PGlite: typeof PGlite
  readonly createPgConfig: typeof createPgConfig
}

let pgliteModules: Promise<PgliteModules> | undefined

/** Loads PGlite once; a missing install is a setup mistake, so the message says which command fixes it. */
function loadPglite(): Promise<PgliteModules> {
  pgliteModules ??= Promise.all([
    import('@electric-sql/pglite'),
    import('@electric-sql/pglite/node-postgres'),
  ])
    .then(([core, adapter]) => ({ PGlite: core.PGlite, createPgConfig: adapter.createPgConfig }))
    .catch((error: unknown) => {
      pgliteModules = undefined
      if (isModuleNotFound(error)) {
        throw new Error(
          `The embedded engine needs the optional peer dependency ${PGLITE_PACKAGE}, which is not installed. ` +
            `Install it with: npm install ${PGLITE_PACKAGE} (or connect to PostgreSQL with createPostgresDatabase).`,
          { cause: error },
        )
      }
      throw error
    })
  return pgliteModules
}

function isModuleNotFound(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code
  return code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND'
}
