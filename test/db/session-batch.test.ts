/**
 * The executor's one-round-trip read with session settings (src/executor/session-batch.ts): the `set_config`
 * statement and the read go out as one batch with one Sync, so they share one implicit, read-only transaction
 * whose settings end with it. Over a one-connection pool, so later statements see the same session.
 */
import { CompiledQuery, Kysely } from 'kysely'
import pg from 'pg'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { TesseraError } from '../../src/errors/index.ts'
import { createExecutor, type ExecutionSpec } from '../../src/executor/executor.ts'
import { createTesseraDialect, type TesseraPool } from '../../src/executor/tessera-dialect.ts'
import { markPrinted } from '../../src/sql/printed-statement.ts'
import { printSessionSettings } from '../../src/sql/print-session.ts'
import { APP_ROLE, describeEachDatabase, type TestDatabase } from '../support/databases.ts'
import { sessionPool } from '../support/session-pool.ts'
import { countDescribes, countingPool } from '../support/counting-pool.ts'

const ACME = 'a0000000-0000-4000-8000-000000000000'
const SESSION_TIMEOUT_MS = 5000

function spec(overrides: Partial<ExecutionSpec> = {}): ExecutionSpec {
  return {
    access: 'read',
    requestId: 'req-batch',
    principal: { tenantId: ACME, userId: "o'brien; drop table countries --", roles: ['admin'] },
    claims: true,
    statementTimeoutMs: SESSION_TIMEOUT_MS,
    ...overrides,
  }
}

const printed = <R>(text: string, values: readonly unknown[] = []): CompiledQuery<R> =>
  markPrinted(CompiledQuery.raw(text, [...values]) as CompiledQuery<R>)

const SESSION_SQL = `select nullif(current_setting('tessera.tenant_id', true), '') as tenant,
  current_setting('tessera.user_id', true) as "user", current_setting('transaction_read_only') as read_only,
  current_setting('statement_timeout') as timeout, current_user as role, $1::text as echo`

interface SessionRow {
  tenant: string | null
  user: string
  read_only: string
  timeout: string
  role: string
  echo: string
}

/** The same pool's clients without access to their protocol connection (like pg-native). */
function opaquePool(pool: pg.Pool): TesseraPool {
  return {
    options: pool.options,
    end: () => pool.end(),
    async connect() {
      const client = await pool.connect()
      return {
        query: (config) => client.query(config),
        release: (err) => client.release(err),
      }
    },
  }
}

describeEachDatabase('session batch: one round trip for a read with claims', (db) => {
  let pool: pg.Pool
  let owned = false
  let tdb: Kysely<any>
  const sent: string[] = []

  beforeAll(async () => {
    const database: TestDatabase = db()
    ;({ pool, owned } = sessionPool(database, 1))
    tdb = new Kysely<any>({
      dialect: createTesseraDialect({
        pool: countingPool(pool, sent),
        statementTimeoutMs: SESSION_TIMEOUT_MS,
      }),
    })
    // The connection's first use sets its session statement_timeout: done here, so tests count only their own.
    await tdb.executeQuery(CompiledQuery.raw('select 1'))
  })

  afterAll(async () => {
    if (owned) await tdb.destroy()
  })

  const executor = () => createExecutor({ db: tdb, role: APP_ROLE })

  /** A connection's settings once nothing of a call is left: the claims empty, read-write, its own timeout and role. */
  const cleanSession = (): Partial<SessionRow> => ({
    tenant: null,
    user: '',
    read_only: 'off',
    timeout: '5s',
    role: db().kind === 'pglite' ? 'postgres' : APP_ROLE,
  })

  async function session(): Promise<SessionRow | undefined> {
    const after = await tdb.executeQuery<SessionRow>(CompiledQuery.raw(SESSION_SQL, ['after']))
    return after.rows[0]
  }

  it('sends the settings and the statement as one message, and the statement sees every setting', async () => {
    sent.length = 0
    const rows = await executor().read(
      spec({ statementTimeoutMs: 1500 }),
      printed<SessionRow>(SESSION_SQL, ['x']),
    )
    expect(sent).toEqual(['batch'])
    expect(rows).toEqual([
      {
        tenant: ACME,
        user: "o'brien; drop table countries --",
        read_only: 'on',
        timeout: '1500ms',
        role: APP_ROLE,
        echo: 'x',
      },
    ])
  })

  it('leaves nothing behind on the connection: claims empty, read-write, session timeout and role', async () => {
    await executor().read(spec(), printed(SESSION_SQL, ['x']))
    expect(await session()).toMatchObject(cleanSession())
  })

  it('runs the statement read-only: an insert fails with a mapped error and writes nothing', async () => {
    const insert = printed(`insert into countries (code, name) values ('QB', 'Batch') returning code`)
    const err = await executor()
      .read(spec(), insert)
      .then(
        () => undefined,
        (e: unknown) => e,
      )
    expect(err).toBeInstanceOf(TesseraError)
    expect((err as TesseraError).code).toBe('INTERNAL_ERROR')
    const rows = await db().admin.selectFrom('countries').select('code').where('code', '=', 'QB').execute()
    expect(rows).toEqual([])
  })

  it('rolls back on a failed statement, and the same named statement fails and recovers the same way again', async () => {
    const failing = printed<{ n: number }>('select 1 / ($1::int - 1) as n', [1])
    for (let attempt = 0; attempt < 2; attempt++) {
      await expect(executor().read(spec(), failing)).rejects.toMatchObject({ code: 'VALIDATION_ERROR' })
      expect(await session()).toMatchObject({ tenant: null, read_only: 'off' })
    }
    // Parsed by the failed batches: reused now, with another value.
    const ok = await executor().read(spec(), printed<{ n: number }>('select 1 / ($1::int - 1) as n', [2]))
    expect(ok).toEqual([{ n: 1 }])
  })

  it('recovers from a statement that fails to parse (its name is not kept as prepared)', async () => {
    const missing = printed('select * from no_such_table_for_batch where id = $1', [1])
    for (let attempt = 0; attempt < 2; attempt++) {
      await expect(executor().read(spec(), missing)).rejects.toMatchObject({ code: 'INTERNAL_ERROR' })
    }
    expect(await session()).toMatchObject({ tenant: null })
  })

  it('describes a session statement once per connection: later batches skip Describe and read the same rows', async () => {
    const text = `${SESSION_SQL}, $2::int + 1 as n, $3::jsonb as doc, null::int as nothing`
    const describes = await countDescribes(pool)
    const first = await executor().read(spec(), printed<SessionRow>(text, ['a', 1, '{"k":[1]}']))
    expect(describes()).toBe(1)
    const later = []
    for (const [echo, n] of [
      ['b', 2],
      ['c', 3],
    ] as const) {
      later.push(
        ...(await executor().read(spec({ statementTimeoutMs: 1500 }), printed(text, [echo, n, '[]']))),
      )
    }
    expect(describes()).toBe(1)
    const expected = {
      tenant: ACME,
      user: "o'brien; drop table countries --",
      read_only: 'on',
      role: APP_ROLE,
    }
    expect(first).toEqual([{ ...expected, timeout: '5s', echo: 'a', n: 2, doc: { k: [1] }, nothing: null }])
    expect(later).toEqual([
      { ...expected, timeout: '1500ms', echo: 'b', n: 3, doc: [], nothing: null },
      { ...expected, timeout: '1500ms', echo: 'c', n: 4, doc: [], nothing: null },
    ])
  })

  it('leaves the connection clean when a statement whose columns are remembered fails, then reads it again', async () => {
    const text =
      "select nullif(current_setting('tessera.tenant_id', true), '') as tenant, 1 / ($1::int - 1) as n"
    expect(await executor().read(spec(), printed(text, [2]))).toEqual([{ tenant: ACME, n: 1 }])
    const describes = await countDescribes(pool)
    for (let attempt = 0; attempt < 2; attempt++) {
      await expect(executor().read(spec(), printed(text, [1]))).rejects.toMatchObject({
        code: 'VALIDATION_ERROR',
      })
      expect(await session()).toMatchObject(cleanSession())
    }
    expect(await executor().read(spec(), printed(text, [3]))).toEqual([{ tenant: ACME, n: 0 }])
    expect(describes()).toBe(0)
  })

  it('fails the read when its settings statement fails (an unknown role) and leaves nothing behind', async () => {
    const unknownRole = createExecutor({ db: tdb, role: 'no_such_role_for_batch' })
    for (let attempt = 0; attempt < 2; attempt++) {
      await expect(unknownRole.read(spec(), printed(SESSION_SQL, ['r']))).rejects.toBeInstanceOf(TesseraError)
      expect(await session()).toMatchObject(cleanSession())
    }
    expect(await executor().read(spec(), printed<SessionRow>(SESSION_SQL, ['s']))).toMatchObject([
      { tenant: ACME, echo: 's' },
    ])
  })

  const raw = <R>(text: string, values: readonly unknown[] = []): CompiledQuery<R> =>
    CompiledQuery.raw(text, [...values]) as CompiledQuery<R>
  const CLAIMED = "select nullif(current_setting('tessera.tenant_id', true), '') as tenant"

  it("sends a transaction's BEGIN in one message with its first statement; the next statements run inside it", async () => {
    sent.length = 0
    const rows = await tdb.transaction().execute(async (trx) => {
      await trx.executeQuery(raw("select set_config('tessera.tenant_id', $1, true)", [ACME]))
      return (await trx.executeQuery<{ tenant: string | null }>(raw(CLAIMED))).rows
    })
    // The transaction-local setting of the first statement is still there for the second: one transaction.
    expect(rows).toEqual([{ tenant: ACME }])
    expect(sent).toEqual(['batch', CLAIMED, 'commit'])
    expect(await session()).toMatchObject({ tenant: null, read_only: 'off' })
  })

  it("sends a transaction's settings statement in the batch of BEGIN and its first statement", async () => {
    sent.length = 0
    const rows = await tdb.transaction().execute(async (trx) => {
      await trx.executeQuery(printSessionSettings([{ name: 'tessera.tenant_id', value: ACME }]))
      return (await trx.executeQuery<{ tenant: string | null }>(raw(CLAIMED))).rows
    })
    expect(rows).toEqual([{ tenant: ACME }])
    expect(sent).toEqual(['batch', 'commit'])
    expect(await session()).toMatchObject({ tenant: null, read_only: 'off' })
  })

  it('runs a write with claims as two messages: BEGIN, settings and the statement in one; COMMIT', async () => {
    sent.length = 0
    const rows = await executor().run(
      spec({ access: 'write', statementTimeoutMs: 1500 }),
      async (q) => (await q.executeQuery<SessionRow>(printed<SessionRow>(SESSION_SQL, ['w']))).rows,
    )
    expect(rows).toEqual([
      {
        tenant: ACME,
        user: "o'brien; drop table countries --",
        read_only: 'off',
        timeout: '1500ms',
        role: APP_ROLE,
        echo: 'w',
      },
    ])
    expect(sent).toEqual(['batch', 'commit'])
    expect(await session()).toMatchObject({ tenant: null, timeout: '5s' })
  })

  it('fails the first statement when the settings held back with it fail, and rolls back', async () => {
    sent.length = 0
    await expect(
      tdb.transaction().execute(async (trx) => {
        await trx.executeQuery(printSessionSettings([{ name: 'role', value: 'no_such_role_for_batch' }]))
        await trx.executeQuery(raw("select set_config('tessera.tenant_id', $1, false)", [ACME]))
      }),
    ).rejects.toThrow()
    expect(sent).toEqual(['batch', 'rollback'])
    expect(await session()).toMatchObject({ tenant: null, read_only: 'off' })
  })

  it('sends nothing for a transaction that only sets its settings', async () => {
    sent.length = 0
    await tdb.transaction().execute(async (trx) => {
      await trx.executeQuery(printSessionSettings([{ name: 'tessera.tenant_id', value: ACME }]))
    })
    expect(sent).toEqual([])
    expect(await session()).toMatchObject({ tenant: null })
  })

  it('opens a read-only transaction from the same batch', async () => {
    const rows = await tdb
      .transaction()
      .setAccessMode('read only')
      .execute(async (trx) => (await trx.executeQuery(raw(SESSION_SQL, ['ro']))).rows)
    expect(rows).toMatchObject([{ read_only: 'on', echo: 'ro' }])
    expect(await session()).toMatchObject({ read_only: 'off' })
  })

  it('sends nothing at all for a transaction that runs no statement', async () => {
    sent.length = 0
    expect(await tdb.transaction().execute(async () => 'done')).toBe('done')
    await expect(
      tdb.transaction().execute(async () => {
        throw new Error('body failed')
      }),
    ).rejects.toThrow('body failed')
    expect(sent).toEqual([])
  })

  it('rolls back a transaction whose first statement fails and leaves the connection usable', async () => {
    sent.length = 0
    await expect(
      tdb.transaction().execute(async (trx) => {
        await trx.executeQuery(
          raw("select set_config('tessera.tenant_id', $1, true), 1 / ($2::int - 1)", [ACME, 1]),
        )
      }),
    ).rejects.toThrow()
    expect(sent).toEqual(['batch', 'rollback'])
    expect(await session()).toMatchObject({ tenant: null, read_only: 'off' })
  })

  it('rolls back everything a transaction did when a later statement fails', async () => {
    await expect(
      tdb.transaction().execute(async (trx) => {
        await trx.executeQuery(raw("select set_config('tessera.tenant_id', $1, false)", [ACME]))
        await trx.executeQuery(raw('select 1 / ($1::int - 1)', [1]))
      }),
    ).rejects.toThrow()
    // A session-level setting made inside a transaction that rolled back is undone with it.
    expect(await session()).toMatchObject({ tenant: null })
  })

  it('gives the same rows through a client without protocol access, in an explicit transaction', async () => {
    const opaque = new Kysely<any>({
      dialect: createTesseraDialect({ pool: opaquePool(pool), statementTimeoutMs: SESSION_TIMEOUT_MS }),
    })
    const rows = await createExecutor({ db: opaque, role: APP_ROLE }).read(
      spec(),
      printed(SESSION_SQL, ['y']),
    )
    expect(rows).toMatchObject([{ tenant: ACME, read_only: 'on', role: APP_ROLE, echo: 'y' }])
    expect(await session()).toMatchObject({ tenant: null, read_only: 'off' })
  })
})

describeEachDatabase(
  'session batch: statement timeout',
  (db) => {
    it('applies the call’s statement timeout to the statement (PostgreSQL server only)', async () => {
      const tdb = new Kysely<any>({
        dialect: createTesseraDialect({
          pool: new pg.Pool({ ...db().appPool.options, max: 1 }),
          statementTimeoutMs: SESSION_TIMEOUT_MS,
        }),
      })
      try {
        const slow = printed('select pg_sleep($1::float8) as slept', [2])
        await expect(
          createExecutor({ db: tdb }).read(spec({ statementTimeoutMs: 50 }), slow),
        ).rejects.toMatchObject({ code: 'TIMEOUT' })
      } finally {
        await tdb.destroy()
      }
    })
  },
  { only: ['postgres'] },
)
