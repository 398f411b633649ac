/**
 * What the database at the other end of a Kysely instance is: `version()` once, e.g. to turn the cost guard on
 * for PGlite (which ignores statement_timeout) or to prove a connection works before anything else runs.
 */
import { CompiledQuery } from 'kysely'
import { connectionTargetOf, setupFailure, type AnyDatabase } from '../schema/index.ts'

const VERSION_QUERY = CompiledQuery.raw('select version() as v', [])

/** The server's `version()` text; fails like any statement when the database cannot be reached. */
export async function serverVersion(db: AnyDatabase): Promise<string> {
  const result = await db.executeQuery<{ v: string }>(VERSION_QUERY)
  return result.rows[0]?.v ?? ''
}

/** True for the embedded engine (PGlite reports itself in `version()`). */
export async function isPglite(db: AnyDatabase): Promise<boolean> {
  return /pglite/i.test(await serverVersion(db))
}

/**
 * The first contact with a database at setup: `version()`, with a failure turned into DATABASE_UNAVAILABLE or
 * SETUP_INVALID naming what to fix (src/schema/setup-failure.ts) instead of a driver error.
 */
export async function probeDatabase(db: AnyDatabase): Promise<string> {
  try {
    return await serverVersion(db)
  } catch (error) {
    throw setupFailure(error, connectionTargetOf(db)) ?? error
  }
}
