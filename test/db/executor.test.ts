import { CamelCasePlugin, Kysely, sql, type LogEvent } from 'kysely'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { notFound } from '../../src/errors/index.ts'
import { createExecutor, type ExecutionSpec } from '../../src/executor/executor.ts'
import { estimateCost } from '../../src/executor/explain-cost.ts'
import { markPrinted } from '../../src/sql/printed-statement.ts'
import { toJsonSafe } from '../../src/executor/json-safe.ts'
import { createTesseraDialect } from '../../src/executor/tessera-dialect.ts'
import {
  APP_ROLE,
  availableDatabases,
  describeEachDatabase,
  openTestDatabase,
  type TestDatabase,
} from '../support/databases.ts'
import { rejection, sessionPool } from '../support/session-pool.ts'

const ACME = 'a0000000-0000-4000-8000-000000000000'
const ALICE = 'a0000000-0000-4000-8000-0000000000a1'
const SESSION_TIMEOUT_MS = 5000

function spec(overrides: Partial<ExecutionSpec> = {}): ExecutionSpec {
  return {
    access: 'read',
    requestId: 'req-exec',
    principal: { tenantId: ACME, userId: ALICE, roles: ['admin', 'support'] },
    claims: true,
    statementTimeoutMs: SESSION_TIMEOUT_MS,
    ...overrides,
  }
}

describeEachDatabase('executor', (db) => {
  let pool: pg.Pool
  let owned = false
  let tdb: Kysely<any>
  const statements: string[] = []

  beforeAll(() => {
    ;({ pool, owned } = sessionPool(db(), 1))
    tdb = new Kysely<any>({
      dialect: createTesseraDialect({ pool, statementTimeoutMs: SESSION_TIMEOUT_MS }),
      log: (event: LogEvent) => {
        statements.push(event.query.sql)
      },
    })
  })

  afterAll(async () => {
    if (owned) await tdb.destroy()
  })

  /** The executor under test: the app role switched to inside every transaction. */
  const executor = () => createExecutor({ db: tdb, role: APP_ROLE })

  async function recorded<T>(fn: () => Promise<T>): Promise<{ result: T; sql: string[] }> {
    statements.length = 0
    const result = await fn()
    return { result, sql: [...statements] }
  }

  it('runs a read with claims as START TRANSACTION READ ONLY with one set_config statement (one batch), the query, COMMIT', async () => {
    const { result, sql: sent } = await recorded(() =>
      executor().run(spec(), async (q) => {
        expect(q.isTransaction).toBe(true)
        return (await sql<{ one: number }>`select 1 as one`.execute(q)).rows
      }),
    )
    expect(result).toEqual([{ one: 1 }])
    // The dialect sends START TRANSACTION READ ONLY in one batch with the transaction's first statement (the
    // set_config one), below the log; the read-only mode itself is proven by the insert test further down.
    expect(sent).toEqual([
      "select set_config('tessera.tenant_id', $1, true), set_config('tessera.user_id', $2, true), " +
        "set_config('tessera.roles', $3, true), set_config('tessera.metadata', $4, true), " +
        "set_config('role', $5, true)",
      'select 1 as one',
      'commit',
    ])
  })

  it('runs a read that needs no claims, no role and the session timeout as one statement outside any transaction', async () => {
    const plain = createExecutor({ db: tdb })
    const { result, sql: sent } = await recorded(() =>
      plain.run(spec({ claims: false }), async (q) => {
        expect(q.isTransaction).toBe(false)
        return (await sql<{ one: number }>`select 1 as one`.execute(q)).rows
      }),
    )
    expect(result).toEqual([{ one: 1 }])
    expect(sent).toEqual(['select 1 as one'])
  })

  it('reads through a host plugin when the instance has one, and straight from the connection otherwise', async () => {
    const statement = () =>
      markPrinted(sql<{ snake_case: number }>`select 1 as snake_case`.compile(tdb)) as never
    const { result: bare, sql: sent } = await recorded(() =>
      createExecutor({ db: tdb }).read(spec({ claims: false }), statement()),
    )
    // The direct path still goes through the driver's connection: Kysely's query log sees the statement.
    expect(bare).toEqual([{ snake_case: 1 }])
    expect(sent).toEqual(['select 1 as snake_case'])
    const camel = tdb.withPlugin(new CamelCasePlugin())
    const transformed = await createExecutor({ db: camel }).read(spec({ claims: false }), statement())
    expect(transformed).toEqual([{ snakeCase: 1 }])
  })

  it('opens a transaction just for a statement timeout that differs from the session default', async () => {
    const plain = createExecutor({ db: tdb })
    const { result, sql: sent } = await recorded(() =>
      plain.run(
        spec({ claims: false, statementTimeoutMs: 1500 }),
        async (q) =>
          (await sql<{ t: string }>`select current_setting('statement_timeout') as t`.execute(q)).rows,
      ),
    )
    expect(result).toEqual([{ t: '1500ms' }])
    // The first statement of the transaction (its START TRANSACTION goes out in the same batch).
    expect(sent[0]).toBe("select set_config('statement_timeout', $1, true)")
  })

  it('runs a read in read-only mode: an insert through the body fails with a mapped error and writes nothing', async () => {
    const err = await rejection(
      executor().run(spec(), (q) => q.insertInto('countries').values({ code: 'QQ', name: 'Nope' }).execute()),
    )
    expect(err.code).toBe('INTERNAL_ERROR')
    expect(err.message).not.toMatch(/read-only|INSERT/i)
    const rows = await db().admin.selectFrom('countries').select('code').where('code', '=', 'QQ').execute()
    expect(rows).toEqual([])
  })

  it('makes the claims visible inside the transaction and gone (empty, so null through nullif) afterwards on the same connection', async () => {
    const inside = await executor().run(spec({ statementTimeoutMs: 1500 }), async (q) => {
      const result = await sql<Record<string, string | null>>`
        select nullif(current_setting('tessera.tenant_id', true), '') as tenant,
               nullif(current_setting('tessera.user_id', true), '') as "user",
               current_setting('tessera.roles', true) as roles,
               current_setting('statement_timeout') as timeout`.execute(q)
      return result.rows[0]
    })
    expect(inside).toEqual({ tenant: ACME, user: ALICE, roles: '["admin","support"]', timeout: '1500ms' })

    const after = await sql<Record<string, string | null>>`
      select nullif(current_setting('tessera.tenant_id', true), '') as tenant,
             current_setting('tessera.tenant_id', true) as raw,
             current_setting('statement_timeout') as timeout,
             current_user as "user"`.execute(tdb)
    expect(after.rows[0]).toMatchObject({ tenant: null, raw: '', timeout: '5s' })
    expect(after.rows[0]?.['user']).toBe(db().kind === 'pglite' ? 'postgres' : APP_ROLE)
  })

  it('sets empty user id, roles and metadata claims (NULL through nullif) when the principal has none of them', async () => {
    const row = await executor().run(spec({ principal: { tenantId: ACME } }), async (q) => {
      const result = await sql<Record<string, string>>`
        select current_setting('tessera.user_id', true) as "user",
               current_setting('tessera.roles', true) as roles,
               current_setting('tessera.metadata', true) as metadata`.execute(q)
      return result.rows[0]
    })
    expect(row).toEqual({ user: '', roles: '', metadata: '' })
  })

  it('sets an empty roles list as [] and metadata as its JSON text', async () => {
    const principal = { tenantId: ACME, roles: [], metadata: { orgId: 'o1', level: 3 } }
    const row = await executor().run(spec({ principal }), async (q) => {
      const result = await sql<Record<string, string>>`
        select current_setting('tessera.roles', true) as roles,
               current_setting('tessera.metadata', true) as metadata`.execute(q)
      return result.rows[0]
    })
    expect(row).toEqual({ roles: '[]', metadata: '{"orgId":"o1","level":3}' })
  })

  it('binds claim values as parameters, so quotes and SQL in them are plain data', async () => {
    const hostile = "x'); select set_config('role', 'postgres', false); --"
    const row = await executor().run(
      spec({ principal: { tenantId: hostile, roles: ["a'b"] } }),
      async (q) => {
        const result = await sql<Record<string, string>>`
        select current_setting('tessera.tenant_id', true) as tenant,
               current_setting('tessera.roles', true) as roles,
               current_user as "user"`.execute(q)
        return result.rows[0]
      },
    )
    expect(row).toEqual({ tenant: hostile, roles: `["a'b"]`, user: APP_ROLE })
  })

  it('switches to the configured role inside the transaction, even from a superuser connection', async () => {
    const admin = new Kysely<any>({ dialect: createTesseraDialect({ pool: db().adminPool }) })
    const asApp = createExecutor({ db: admin, role: APP_ROLE })
    const user = await asApp.run(spec(), async (q) => {
      const result = await sql<{ user: string }>`select current_user as "user"`.execute(q)
      return result.rows[0]?.user
    })
    expect(user).toBe(APP_ROLE)
    const outside = await sql<{ user: string }>`select current_user as "user"`.execute(db().admin)
    expect(outside.rows[0]?.user).toBe('postgres')
  })

  it("runs as tessera_app through the harness's app connection and app role", async () => {
    const { app, appRole } = db()
    const viaHarness = createExecutor({ db: app, ...(appRole === undefined ? {} : { role: appRole }) })
    const user = await viaHarness.run(spec(), async (q) => {
      const result = await sql<{ user: string }>`select current_user as "user"`.execute(q)
      return result.rows[0]?.user
    })
    expect(user).toBe(APP_ROLE)
  })

  it('rolls back a write whose body throws after writing', async () => {
    const err = await rejection(
      executor().run(spec({ access: 'write' }), async (q) => {
        await q.insertInto('countries').values({ code: 'RB', name: 'Rolled Back' }).execute()
        throw new Error('boom after the insert')
      }),
    )
    expect(err.code).toBe('INTERNAL_ERROR')
    expect(err.message).not.toContain('boom')
    const rows = await db().admin.selectFrom('countries').select('code').where('code', '=', 'RB').execute()
    expect(rows).toEqual([])
  })

  it('passes a TesseraError from the body through unchanged, and still rolls back', async () => {
    const thrown = notFound('Country')
    const err = await rejection(
      executor().run(spec({ access: 'write' }), async (q) => {
        await q.insertInto('countries').values({ code: 'TB', name: 'Thrown' }).execute()
        throw thrown
      }),
    )
    expect(err).toBe(thrown)
    const rows = await db().admin.selectFrom('countries').select('code').where('code', '=', 'TB').execute()
    expect(rows).toEqual([])
  })

  it('commits a write that succeeds', async () => {
    const inserted = await executor().run(spec({ access: 'write' }), (q) =>
      q.insertInto('countries').values({ code: 'CW', name: 'Committed' }).returning('code').execute(),
    )
    expect(inserted).toEqual([{ code: 'CW' }])
    const rows = await db().admin.selectFrom('countries').select('name').where('code', '=', 'CW').execute()
    expect(rows).toEqual([{ name: 'Committed' }])
  })

  it('maps a unique violation to a uniform error that names no constraint, column or value', async () => {
    const err = await rejection(
      executor().run(spec({ access: 'write' }), (q) =>
        q
          .insertInto('users')
          .values({ tenant_id: ACME, name: 'Dup', email: 'alice@acme.test', password_hash: 'x' })
          .execute(),
      ),
    )
    expect(err.code).toBe('VALIDATION_ERROR')
    expect(err.message).toBe('The write conflicts with an existing record')
    const text = JSON.stringify(err.toJSON())
    for (const leak of ['users_tenant_id_email_key', 'email', 'alice@acme.test', 'duplicate', ACME]) {
      expect(text).not.toContain(leak)
    }
  })

  it('maps a foreign-key violation to NOT_FOUND without naming the referenced table', async () => {
    const err = await rejection(
      executor().run(spec({ access: 'write' }), (q) =>
        q
          .insertInto('customers')
          .values({ tenant_id: 'b0000000-0000-4000-8000-0000000000ff', name: 'Orphan' })
          .execute(),
      ),
    )
    expect(err.code).toBe('NOT_FOUND')
    expect(JSON.stringify(err.toJSON())).not.toMatch(/tenants|customers_tenant_id_fkey|b0000000/)
  })

  it('maps a malformed value to VALIDATION_ERROR without echoing it', async () => {
    const err = await rejection(
      executor().run(spec(), (q) =>
        q.selectFrom('customers').select('id').where('id', '=', 'not-a-uuid-SECRET').execute(),
      ),
    )
    expect(err.code).toBe('VALIDATION_ERROR')
    expect(err.message).toBe('A value has the wrong format')
    expect(JSON.stringify(err.toJSON())).not.toContain('SECRET')
  })

  it('returns JSON-safe values of the same types on every database', async () => {
    const row = await executor().run(spec(), async (q) => {
      const result = await sql`
        select 9007199254740993::int8 as big, 42::int4 as small, 12.50::numeric(10, 2) as amount,
               'NaN'::numeric as nan, 1.5::float8 as ratio,
               '2026-01-02T03:04:05.678Z'::timestamptz as at, true as flag,
               ${ACME}::uuid as id, '{"a": [1, {"b": null}], "c": "d"}'::jsonb as doc,
               array['x', 'y'] as tags, '\\x00ff10'::bytea as bin, null::text as nothing`.execute(q)
      return result.rows[0]
    })
    expect(toJsonSafe(row)).toEqual({
      big: '9007199254740993',
      small: 42,
      amount: '12.50',
      nan: 'NaN',
      ratio: 1.5,
      at: '2026-01-02T03:04:05.678Z',
      flag: true,
      id: ACME,
      doc: { a: [1, { b: null }], c: 'd' },
      tags: ['x', 'y'],
      bin: 'AP8Q',
      nothing: null,
    })
  })

  it('refuses a statement timeout that is not a positive integer before any SQL runs', async () => {
    for (const statementTimeoutMs of [0, -1, 1.5, Number.NaN]) {
      const { result, sql: sent } = await recorded(() =>
        rejection(executor().run(spec({ statementTimeoutMs }), async () => 'ran')),
      )
      expect(result.code).toBe('INTERNAL_ERROR')
      expect(sent).toEqual([])
    }
  })

  it('fails closed with TENANT_SCOPE_REQUIRED when claims are needed and the tenant is blank', async () => {
    const err = await rejection(executor().run(spec({ principal: { tenantId: '  ' } }), async () => 'ran'))
    expect(err.code).toBe('TENANT_SCOPE_REQUIRED')
  })

  it('maps a pool that hands out no connection in time to INTERNAL_ERROR, and recovers', async () => {
    const impatient = createExecutor({
      db: new Kysely<any>({ dialect: createTesseraDialect({ pool, acquireTimeoutMillis: 150 }) }),
      role: APP_ROLE,
    })
    let release!: () => void
    let holding!: () => void
    const held = new Promise<void>((resolve) => (holding = resolve))
    const holder = executor().run(spec({ access: 'write' }), async (q) => {
      await sql`select 1`.execute(q)
      holding()
      await new Promise<void>((resolve) => (release = resolve))
    })
    await held
    const err = await rejection(impatient.run(spec(), async (q) => sql`select 1`.execute(q)))
    expect(err.code).toBe('INTERNAL_ERROR')
    release()
    await holder
    const after = await impatient.run(
      spec(),
      async (q) => (await sql<{ n: number }>`select 2 as n`.execute(q)).rows,
    )
    expect(after).toEqual([{ n: 2 }])
  })
  it("estimates a query's cost with its bound parameters, higher for a scan than for a key lookup", async () => {
    // estimateCost explains only statements src/sql printed: these stand in for printed ones.
    const lookup = markPrinted(
      tdb.selectFrom('products').select(['id', 'name']).where('sku', '=', 'SKU-000042').compile(),
    )
    const scan = markPrinted(
      tdb.selectFrom('products').select(['id', 'name']).where('name', 'like', '%7%').compile(),
    )
    const costs = await executor().run(spec(), async (q) => [
      await estimateCost(q, lookup),
      await estimateCost(q, scan),
    ])
    const [lookupCost, scanCost] = costs as [number, number]
    expect(lookupCost).toBeGreaterThan(0)
    expect(scanCost).toBeGreaterThan(lookupCost * 10)
  })

  it('estimates without running the statement, even a write', async () => {
    const write = markPrinted(tdb.insertInto('countries').values({ code: 'EX', name: 'Explained' }).compile())
    const cost = await executor().run(spec({ access: 'write' }), (q) => estimateCost(q, write))
    expect(cost).toBeGreaterThanOrEqual(0)
    const rows = await db().admin.selectFrom('countries').select('code').where('code', '=', 'EX').execute()
    expect(rows).toEqual([])
  })
})

// Faults PGlite cannot produce: it ignores statement_timeout and has no backend to terminate (docs/threats.md facts 8 and 12).
if (availableDatabases().includes('postgres')) {
  describe('executor faults [postgres only]', () => {
    let database: TestDatabase
    let pool: pg.Pool
    let tdb: Kysely<any>

    beforeAll(async () => {
      database = await openTestDatabase('postgres')
      pool = new pg.Pool({ ...database.appPool.options, max: 1 })
      // The kill test's FATAL can reach the client after it went back to the pool idle; pg-pool re-emits an idle
      // client's error on the pool, which without a listener is an uncaught exception (createPostgresDatabase adds one).
      pool.on('error', () => {})
      tdb = new Kysely<any>({
        dialect: createTesseraDialect({ pool, statementTimeoutMs: SESSION_TIMEOUT_MS }),
      })
    }, 60_000)

    afterAll(async () => {
      await tdb.destroy()
      await database.close()
    })

    const backendPid = async (q: Kysely<any>): Promise<number> =>
      (await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(q)).rows[0]!.pid

    it('cancels a statement past its timeout with TIMEOUT and leaves the connection clean for the next call', async () => {
      const executor = createExecutor({ db: tdb })
      const pidBefore = await backendPid(tdb)
      const started = Date.now()
      const err = await rejection(
        executor.run(spec({ statementTimeoutMs: 100 }), async (q) => sql`select pg_sleep(2)`.execute(q)),
      )
      expect(err.code).toBe('TIMEOUT')
      expect(Date.now() - started).toBeLessThan(1500)

      const next = await sql<Record<string, unknown>>`
        select nullif(current_setting('tessera.tenant_id', true), '') as tenant,
               current_setting('statement_timeout') as timeout,
               pg_backend_pid() as pid`.execute(tdb)
      expect(next.rows[0]).toEqual({ tenant: null, timeout: '5s', pid: pidBefore })
    })

    it('turns a connection killed between two statements of a write into INTERNAL_ERROR, writes nothing, and replaces the connection', async () => {
      const executor = createExecutor({ db: tdb })
      let killedPid = 0
      const err = await rejection(
        executor.run(spec({ access: 'write' }), async (q) => {
          await q.insertInto('countries').values({ code: 'K1', name: 'Killed one' }).execute()
          killedPid = await backendPid(q)
          await sql`select pg_terminate_backend(${killedPid})`.execute(database.admin)
          for (let i = 0; i < 50; i++) {
            const alive = await sql`select 1 from pg_stat_activity where pid = ${killedPid}`.execute(
              database.admin,
            )
            if (alive.rows.length === 0) break
            await new Promise((r) => setTimeout(r, 20))
          }
          await q.insertInto('countries').values({ code: 'K2', name: 'Killed two' }).execute()
        }),
      )
      expect(err.code).toBe('INTERNAL_ERROR')
      expect(err.details).toEqual({ requestId: 'req-exec' })

      const written = await database.admin
        .selectFrom('countries')
        .select('code')
        .where('code', 'in', ['K1', 'K2'])
        .execute()
      expect(written).toEqual([])

      const after = await executor.run(spec(), async (q) => backendPid(q))
      expect(after).not.toBe(killedPid)
      expect(pool.totalCount).toBe(1)
    })
  })
}
