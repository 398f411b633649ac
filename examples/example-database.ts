/**
 * Where the examples run: the PostgreSQL server named by `DATABASE_URL` (which must already hold the SaaS
 * fixture: `fixtures/saas/*.sql`), or else an embedded PGlite database loaded with that fixture. Uses only the
 * package's public entry points, as an application would.
 */
import { readFileSync } from 'node:fs'
import { createPostgresDatabase } from 'tessera-db'
import type { AnyDatabase } from 'tessera-db/schema'

export interface ExampleDatabase {
  readonly db: AnyDatabase
  readonly engine: 'postgres' | 'pglite'
  /** Ends the pool (and stops PGlite); without it an open pool keeps the process alive. */
  close(): Promise<void>
}

export async function openExampleDatabase(): Promise<ExampleDatabase> {
  const url = process.env['DATABASE_URL']
  if (url !== undefined && url !== '') {
    const database = createPostgresDatabase(url)
    return { db: database.db, engine: 'postgres', close: () => database.close() }
  }
  const { createPgliteDatabase } = await import('tessera-db/embedded')
  const database = await createPgliteDatabase()
  const fixture = ['schema.sql', 'seed.sql', 'roles.sql']
    .map((file) => readFileSync(new URL(`../fixtures/saas/${file}`, import.meta.url), 'utf8'))
    .join('\n')
  await database.pglite.exec(fixture)
  return { db: database.db, engine: 'pglite', close: () => database.close() }
}
