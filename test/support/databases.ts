/**
 * One call site runs the same `describe` on every available database: PGlite always, PostgreSQL when
 * TESSERA_TEST_DATABASE_URL is set. Each test file gets its own isolated copy of the SaaS fixture.
 *
 * `admin` is an unscoped superuser connection (the test oracle); `app` is what the toolset uses. On
 * PostgreSQL `app` connects as the non-superuser role `tessera_app`. PGlite has a single session, so there
 * `app` shares the backend and callers pass `appRole` to the executor, which switches to that role inside
 * each transaction (`set_config('role', …, true)`).
 */
import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { PGlite } from '@electric-sql/pglite'
import { createPgConfig } from '@electric-sql/pglite/node-postgres'
import { Kysely, PostgresDialect } from 'kysely'
import pg from 'pg'
import { afterAll, beforeAll, describe, inject } from 'vitest'
import { withDatabase } from './global-setup.ts'

export type DatabaseKind = 'pglite' | 'postgres'

export interface TestDatabase {
  readonly kind: DatabaseKind
  /** Superuser connection: the oracle for assertions and fault injection. Never hand it to a toolset. */
  readonly admin: Kysely<any>
  /** The connection a toolset under test uses. */
  readonly app: Kysely<any>
  /** Role to assume inside each transaction (PGlite), or undefined when `app` already connects as it. */
  readonly appRole: string | undefined
  readonly adminPool: pg.Pool
  readonly appPool: pg.Pool
  close(): Promise<void>
}

export const APP_ROLE = 'tessera_app'

export function availableDatabases(): DatabaseKind[] {
  return inject('postgresTemplate') ? ['pglite', 'postgres'] : ['pglite']
}

export async function openTestDatabase(kind: DatabaseKind): Promise<TestDatabase> {
  return kind === 'pglite' ? openPglite() : openPostgres()
}

async function openPglite(): Promise<TestDatabase> {
  const buf = readFileSync(inject('pgliteTemplatePath'))
  const lite = new PGlite({ loadDataDir: new Blob([buf]) })
  await lite.waitReady
  const adminPool = new pg.Pool(createPgConfig(lite))
  const appPool = new pg.Pool(createPgConfig(lite))
  const admin = new Kysely<any>({ dialect: new PostgresDialect({ pool: adminPool }) })
  const app = new Kysely<any>({ dialect: new PostgresDialect({ pool: appPool }) })
  return {
    kind: 'pglite',
    admin,
    app,
    appRole: APP_ROLE,
    adminPool,
    appPool,
    async close() {
      await app.destroy()
      await admin.destroy()
      await lite.close()
    },
  }
}

async function openPostgres(): Promise<TestDatabase> {
  const tpl = inject('postgresTemplate')
  if (!tpl) throw new Error('PostgreSQL is not configured (TESSERA_TEST_DATABASE_URL)')
  const name = `tessera_t_${randomBytes(6).toString('hex')}`
  const setup = new pg.Client({ connectionString: tpl.url })
  await setup.connect()
  await setup.query(`create database ${name} template ${tpl.template}`)
  await setup.end()
  const adminPool = new pg.Pool({ connectionString: withDatabase(tpl.url, name), max: 4 })
  const appPool = new pg.Pool({ connectionString: withDatabase(tpl.url, name, APP_ROLE), max: 4 })
  // Fault tests terminate backends; an idle client's 'error' must not become an unhandled error.
  adminPool.on('error', () => {})
  appPool.on('error', () => {})
  const admin = new Kysely<any>({ dialect: new PostgresDialect({ pool: adminPool }) })
  const app = new Kysely<any>({ dialect: new PostgresDialect({ pool: appPool }) })
  return {
    kind: 'postgres',
    admin,
    app,
    appRole: undefined,
    adminPool,
    appPool,
    async close() {
      await app.destroy()
      await admin.destroy()
      const drop = new pg.Client({ connectionString: tpl.url })
      await drop.connect()
      await drop.query(`drop database if exists ${name} with (force)`)
      await drop.end()
    },
  }
}

/**
 * Runs `body` once per available database, as `describe('<title> [pglite]')` and
 * `describe('<title> [postgres]')`. `body` receives a getter valid inside tests and hooks. `only` restricts the
 * suite to some databases, for behaviour one engine lacks (PGlite ignores statement_timeout).
 */
export function describeEachDatabase(
  title: string,
  body: (db: () => TestDatabase) => void,
  options: { only?: readonly DatabaseKind[] } = {},
): void {
  for (const kind of availableDatabases()) {
    if (options.only && !options.only.includes(kind)) continue
    describe(`${title} [${kind}]`, () => {
      let current: TestDatabase | undefined
      beforeAll(async () => {
        current = await openTestDatabase(kind)
      }, 180_000) // opening a PGlite copy is CPU-bound: allow for a busy machine
      afterAll(async () => {
        await current?.close()
      })
      body(() => {
        if (!current) throw new Error('test database is not open yet')
        return current
      })
    })
  }
}
