/**
 * Where an eval runs: the shared SaaS fixture loaded into an embedded database (the default), or a live
 * PostgreSQL database given by URL. `harnessFor` puts a toolset under one policy on it and a harness that
 * judges by a reference policy (default: the same one) through an unscoped connection to the same database.
 */
import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { MemoryAuditStore } from '../stores/index.ts'
import { createPgliteDatabase, createPostgresDatabase, type PgliteDatabase } from '../executor/index.ts'
import type { Policy } from '../policy/index.ts'
import type { AnyDatabase } from '../schema/index.ts'
import { createToolset } from '../tools/index.ts'
import { EvalHarness } from './eval-harness.ts'

/** The non-superuser role the fixture grants to; the toolset assumes it inside each transaction. */
export const FIXTURE_APP_ROLE = 'tessera_app'

const FIXTURE_DIR = fileURLToPath(new URL('../../fixtures/saas/', import.meta.url))

function fixtureFile(name: string): string {
  return readFileSync(FIXTURE_DIR + name, 'utf8')
}

/** Schema, seed and role of the SaaS fixture (fixtures/saas), as one script. */
export function fixtureSql(): string {
  return ['schema.sql', 'seed.sql', 'roles.sql'].map(fixtureFile).join('\n')
}

// Empties every table of the fixture's schema (identities restarted) so the seed can run again.
const TRUNCATE_PUBLIC = `do $$ begin
  execute (select 'truncate ' || string_agg(format('%I.%I', schemaname, tablename), ', ') || ' restart identity cascade'
           from pg_tables where schemaname = 'public');
end $$;`

export interface EvalDatabase {
  readonly kind: 'pglite' | 'postgres'
  /** Unscoped: the oracle's connection, and the toolset's (which assumes `role` per transaction). */
  readonly db: AnyDatabase
  readonly role: string | undefined
  /** Back to the seeded fixture (embedded only; a live database is never reset: returns false). */
  reset(): Promise<boolean>
  close(): Promise<void>
}

export async function openEvalDatabase(
  options: { databaseUrl?: string; role?: string } = {},
): Promise<EvalDatabase> {
  if (options.databaseUrl !== undefined) {
    const database = createPostgresDatabase(options.databaseUrl)
    return {
      kind: 'postgres',
      db: database.db,
      role: options.role,
      reset: async () => false,
      close: () => database.close(),
    }
  }
  const database: PgliteDatabase = await createPgliteDatabase()
  try {
    await database.pglite.exec(fixtureSql())
  } catch (error) {
    await database.close()
    throw error
  }
  return {
    kind: 'pglite',
    db: database.db,
    role: options.role ?? FIXTURE_APP_ROLE,
    async reset() {
      await database.pglite.exec(`${TRUNCATE_PUBLIC}\n${fixtureFile('seed.sql')}`)
      return true
    },
    close: () => database.close(),
  }
}

export interface HarnessOptions {
  /** The policy the toolset enforces. */
  readonly policy: Policy
  /** The policy results are judged by (default: `policy`). */
  readonly reference?: Policy
  readonly secret?: string | Uint8Array
}

/** A toolset under `policy` on the database (audit in memory) and a harness judging it by `reference`. */
export async function harnessFor(database: EvalDatabase, options: HarnessOptions): Promise<EvalHarness> {
  const toolset = await createToolset({
    db: database.db,
    policy: options.policy,
    audit: new MemoryAuditStore({ capacity: 1_000_000 }),
    secret: options.secret ?? randomBytes(32),
    ...(database.role === undefined ? {} : { role: database.role }),
  })
  return new EvalHarness({ toolset, db: database.db, policy: options.reference ?? options.policy })
}
