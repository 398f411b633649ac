import { CompiledQuery, Kysely, sql } from 'kysely'
import type pg from 'pg'
import { readFileSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { createPgliteDatabase } from '../../src/executor/pglite-database.ts'
import { createPostgresDatabase } from '../../src/executor/postgres-database.ts'
import { createTesseraDialect } from '../../src/executor/tessera-dialect.ts'
import {
  availableDatabases,
  describeEachDatabase,
  openTestDatabase,
  type TestDatabase,
} from '../support/databases.ts'
import { sessionPool } from '../support/session-pool.ts'

describeEachDatabase('Tessera dialect', (db) => {
  let pool: pg.Pool
  let owned = false
  let tdb: Kysely<any>

  beforeAll(() => {
    ;({ pool, owned } = sessionPool(db(), 1))
    tdb = new Kysely<any>({ dialect: createTesseraDialect({ pool }) })
  })

  afterAll(async () => {
    // Destroying tdb ends its pool, which belongs to the harness on PGlite.
    if (owned) await tdb.destroy()
  })

  it('prepares a statement once per connection under a ts_ name and reuses it on later executions', async () => {
    const text = 'select $1::int + 41 as n'
    const first = await tdb.executeQuery<{ n: number }>(CompiledQuery.raw(text, [1]))
    const second = await tdb.executeQuery<{ n: number }>(CompiledQuery.raw(text, [2]))
    expect([first.rows[0]?.n, second.rows[0]?.n]).toEqual([42, 43])
    const prepared = await tdb.executeQuery<{ name: string; executions: number }>(
      CompiledQuery.raw(
        'select name, (generic_plans + custom_plans)::int as executions from pg_prepared_statements where statement = $1',
        [text],
      ),
    )
    expect(prepared.rows).toHaveLength(1)
    expect(prepared.rows[0]?.name).toMatch(/^ts_[0-9a-f]{16}$/)
    expect(prepared.rows[0]?.executions).toBe(2)
  })

  it('rejects a parameterless multi-statement string that the plain pg dialect would run', async () => {
    const text = 'select 1 as a; select 2 as b'
    await expect(tdb.executeQuery(CompiledQuery.raw(text))).rejects.toMatchObject({ code: '42601' })
    // The guard is real: kysely's PostgresDialect sends the same string through the simple protocol.
    await expect(db().app.executeQuery(CompiledQuery.raw(text))).resolves.toBeDefined()
  })

  it('rejects it too when the statement runs unnamed (past the prepared-statement budget)', async () => {
    const unnamed = new Kysely<any>({ dialect: createTesseraDialect({ pool, maxPreparedPerConnection: 0 }) })
    const text = 'select 1 as a; select 2 as b'
    await expect(unnamed.executeQuery(CompiledQuery.raw(text))).rejects.toMatchObject({ code: '42601' })
    const { rows } = await unnamed.executeQuery<{ n: number }>(
      CompiledQuery.raw('select $1::int + 1 as n', [41]),
    )
    expect(rows).toEqual([{ n: 42 }])
  })

  it('submits a Query (nothing for pg to copy) to a client whose class comes from another copy of pg', async () => {
    const seen: { text: unknown; how: string }[] = []
    // A pool handing out clients that are not `instanceof` our pg.Client, as an application's own copy of pg does.
    const foreign = {
      async connect(): Promise<pg.PoolClient> {
        const client = await pool.connect()
        return new Proxy(client, {
          getPrototypeOf: () => Object.prototype,
          get(target, key) {
            const value: unknown = Reflect.get(target, key, target)
            if (typeof value !== 'function') return value
            if (key !== 'query') return value.bind(target)
            return (arg: unknown, ...rest: unknown[]) => {
              const a = arg as { submit?: unknown; text?: unknown }
              seen.push({
                text: typeof arg === 'string' ? arg : a.text,
                how: typeof a.submit === 'function' ? 'submitted' : 'config',
              })
              return value.call(target, arg, ...rest)
            }
          },
        })
      },
      async end(): Promise<void> {},
    }
    const k = new Kysely<any>({ dialect: createTesseraDialect({ pool: foreign as unknown as pg.Pool }) })
    const text = 'select $1::int + 2 as n'
    const { rows } = await k.executeQuery<{ n: number }>(CompiledQuery.raw(text, [40]))
    expect(rows).toEqual([{ n: 42 }])
    expect(seen.filter((s) => s.text === text)).toEqual([{ text, how: 'submitted' }])
  })

  it('cannot be talked out of a read-only transaction with a smuggled COMMIT', async () => {
    await expect(
      tdb
        .transaction()
        .setAccessMode('read only')
        .execute(async (trx) => {
          await trx.executeQuery(
            CompiledQuery.raw("commit; insert into countries (code, name) values ('XS', 'Smuggled')"),
          )
        }),
    ).rejects.toMatchObject({ code: '42601' })
    const rows = await db().admin.selectFrom('countries').select('code').where('code', '=', 'XS').execute()
    expect(rows).toEqual([])
  })

  it('returns the same rows and affected-row counts as kysely PostgresDialect', async () => {
    const queries = [
      db()
        .app.selectFrom('customers')
        .select(['id', 'tenant_id', 'name', 'is_public', 'created_at', 'country_code'])
        .where('tenant_id', '=', 'a0000000-0000-4000-8000-000000000000')
        .orderBy('id'),
      db().app.selectFrom('products').select(['id', 'sku', 'price']).where('id', '<=', 3).orderBy('id'),
      db().app.selectFrom('orders').select(['id', 'total', 'deleted_at']).orderBy('id').limit(5),
      db()
        .app.updateTable('countries')
        .set({ name: sql`name` })
        .where('code', 'in', ['US', 'DE']),
    ].map((q) => q.compile())
    queries.push(
      CompiledQuery.raw(
        `select 9007199254740993::int8 as big, '{"a":[1,{"b":null}]}'::jsonb as doc, array['x','y'] as tags,
                '\\x00ff'::bytea as bin, null::text as nothing`,
      ),
    )
    for (const compiled of queries) {
      const viaPg = await db().app.executeQuery(compiled)
      const viaTessera = await tdb.executeQuery(compiled)
      expect(viaTessera).toEqual(viaPg)
    }
  })

  it('gives each new connection the session statement_timeout it was configured with', async () => {
    // A dialect of its own so the setting is made on a connection this dialect sees for the first time.
    const timed = new Kysely<any>({ dialect: createTesseraDialect({ pool, statementTimeoutMs: 1234 }) })
    const rows = await timed.executeQuery<{ t: string }>(
      CompiledQuery.raw("select current_setting('statement_timeout') as t"),
    )
    expect(rows.rows[0]?.t).toBe('1234ms')
    await tdb.executeQuery(CompiledQuery.raw("select set_config('statement_timeout', '0', false)"))
  })
})

describe('createPgliteDatabase', () => {
  it('opens an embedded database behind the Tessera dialect and closes it', async () => {
    const loadDataDir = new Blob([readFileSync(inject('pgliteTemplatePath'))])
    const embedded = await createPgliteDatabase({ loadDataDir })
    try {
      const tenants = await embedded.db.selectFrom('tenants').select('name').orderBy('name').execute()
      expect(tenants.map((t) => t.name)).toEqual(['acme', 'acme-east', 'acme-west', 'globex'])
      await expect(embedded.db.executeQuery(CompiledQuery.raw('select 1; select 2'))).rejects.toMatchObject({
        code: '42601',
      })
      const timeout = await embedded.db.executeQuery<{ t: string }>(
        CompiledQuery.raw("select current_setting('statement_timeout') as t"),
      )
      expect(timeout.rows[0]?.t).toBe('5s')
      expect(embedded.pool.options.max).toBe(1)
    } finally {
      await embedded.close()
    }
    await expect(embedded.pglite.query('select 1')).rejects.toThrow()
    // Starting PGlite from an image is CPU-bound: allow for a busy machine.
  }, 120_000)
})

if (availableDatabases().includes('postgres')) {
  describe('createPostgresDatabase [postgres only]', () => {
    let database: TestDatabase

    beforeAll(async () => {
      database = await openTestDatabase('postgres')
    }, 60_000)

    afterAll(async () => {
      await database.close()
    })

    it('connects behind the Tessera dialect with a 5 s session statement timeout', async () => {
      const server = createPostgresDatabase(database.appPool.options.connectionString!)
      try {
        const row = await server.db.executeQuery<{ t: string; u: string }>(
          CompiledQuery.raw("select current_setting('statement_timeout') as t, current_user as u"),
        )
        expect(row.rows[0]).toEqual({ t: '5s', u: 'tessera_app' })
        await expect(server.db.executeQuery(CompiledQuery.raw('select 1; select 2'))).rejects.toMatchObject({
          code: '42601',
        })
      } finally {
        await server.close()
      }
    })
  })
}
