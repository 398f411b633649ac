/**
 * What the database at the other end of a Kysely instance is: `version()` once, e.g. to turn the cost guard on
 * for PGlite (which ignores statement_timeout) or to prove a connection works before anything else runs.
 */
import { CompiledQuery } from 'kysely'
import type { AnyDatabase } from '../schema/index.ts'

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
