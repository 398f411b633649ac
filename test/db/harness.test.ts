import { sql } from 'kysely'
import { describe, expect, it } from 'vitest'
import { availableDatabases, describeEachDatabase } from '../support/databases.ts'

describe('test database harness', () => {
  it('runs PostgreSQL too when TESSERA_TEST_DATABASE_URL is set', () => {
    expect(availableDatabases()).toEqual(
      process.env['TESSERA_TEST_DATABASE_URL'] ? ['pglite', 'postgres'] : ['pglite'],
    )
  })
})

describeEachDatabase('fixture database', (db) => {
  it('loads the SaaS fixture with four tenants', async () => {
    const rows = await db().admin.selectFrom('tenants').select(['name']).orderBy('name').execute()
    expect(rows.map((r) => r.name)).toEqual(['acme', 'acme-east', 'acme-west', 'globex'])
  })

  it('gives the app connection a role that is not a superuser and cannot bypass RLS', async () => {
    const { app, appRole } = db()
    const result = await app.transaction().execute(async (trx) => {
      if (appRole) await sql`select set_config('role', ${appRole}, true)`.execute(trx)
      return sql<{ user: string; rolsuper: boolean; rolbypassrls: boolean }>`
        select current_user as "user", rolsuper, rolbypassrls from pg_roles where rolname = current_user`.execute(
        trx,
      )
    })
    expect(result.rows[0]).toEqual({ user: 'tessera_app', rolsuper: false, rolbypassrls: false })
  })

  it('isolates each test file: a write here is invisible to other files', async () => {
    await db().admin.insertInto('countries').values({ code: 'ZZ', name: 'Harness Land' }).execute()
    const n = await db()
      .admin.selectFrom('countries')
      .select(sql<number>`count(*)::int`.as('n'))
      .executeTakeFirstOrThrow()
    expect(n.n).toBe(6)
  })
})
