import { CompiledQuery, Kysely, sql, type LogEvent } from 'kysely'
import type pg from 'pg'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { createExecutor, type ExecutionSpec } from '../../src/executor/executor.ts'
import { createTesseraDialect, type TesseraPool } from '../../src/executor/tessera-dialect.ts'
import { markPrinted } from '../../src/sql/printed-statement.ts'
import { describeEachDatabase } from '../support/databases.ts'
import { rejection, sessionPool } from '../support/session-pool.ts'

const ACME = 'a0000000-0000-4000-8000-000000000000'
const SESSION_TIMEOUT_MS = 5000

/** A read that needs no settings: the executor sends the statement alone (executor.ts). */
function plainRead(): ExecutionSpec {
  return {
    access: 'read',
    requestId: 'req-direct',
    principal: { tenantId: ACME },
    claims: false,
    statementTimeoutMs: SESSION_TIMEOUT_MS,
  }
}

/** The pool, counting the connections taken from it and the statement texts sent on them. */
function countedPool(pool: pg.Pool): { pool: TesseraPool; connects: () => number; sent: string[] } {
  let connects = 0
  const sent: string[] = []
  return {
    sent,
    connects: () => connects,
    pool: {
      options: pool.options,
      end: async () => {},
      async connect() {
        connects += 1
        const client = await pool.connect()
        const marked = client as pg.PoolClient & { directCounted?: boolean }
        if (!marked.directCounted) {
          marked.directCounted = true
          const query = client.query.bind(client) as (config: unknown) => unknown
          ;(client as unknown as { query: (config: unknown) => unknown }).query = (config) => {
            const text = (config as { text?: unknown }).text
            sent.push(typeof text === 'string' ? text : 'submitted')
            return query(config)
          }
        }
        return client
      },
    },
  }
}

interface PidRow {
  readonly pid: number
  readonly tag: string
}

const backendPid = () =>
  markPrinted(
    CompiledQuery.raw('select pg_backend_pid() as pid, $1::text as tag', ['direct']) as CompiledQuery<PidRow>,
  )

describeEachDatabase('direct statements', (db) => {
  let pool: pg.Pool
  let owned = false

  beforeAll(() => {
    ;({ pool, owned } = sessionPool(db(), 2))
  })

  afterAll(async () => {
    if (owned) await pool.end()
  })

  function tesseraDb(counted: TesseraPool, log?: (event: LogEvent) => void): Kysely<any> {
    return new Kysely<any>({
      dialect: createTesseraDialect({ pool: counted, statementTimeoutMs: SESSION_TIMEOUT_MS }),
      ...(log === undefined ? {} : { log }),
    })
  }

  it("sends reads past Kysely's connection provider once a read through it showed the same connections, with the same rows", async () => {
    const counted = countedPool(pool)
    const kdb = tesseraDb(counted.pool)
    const kyselyExecutor = kdb.getExecutor()
    let provided = 0
    const provideConnection = kyselyExecutor.provideConnection.bind(kyselyExecutor)
    kyselyExecutor.provideConnection = (consumer) => {
      provided += 1
      return provideConnection(consumer)
    }
    const executor = createExecutor({ db: kdb })
    const expected = (await kdb.executeQuery(backendPid())).rows
    provided = 0
    const reads = []
    for (let k = 0; k < 4; k++) reads.push(await executor.read(plainRead(), backendPid()))
    // The first read went through Kysely (the proof), the three after it straight to the driver.
    expect(provided).toBe(1)
    for (const rows of reads) expect(rows.map((r) => r.tag)).toEqual(expected.map((r) => r.tag))
    // Each read took a connection from the pool and gave it back: nothing is held between calls.
    expect(counted.connects()).toBe(5)
    expect(pool.totalCount - pool.idleCount).toBe(0)
  })

  it('refuses a statement src/sql did not print before sending it, on the direct path as before it', async () => {
    const counted = countedPool(pool)
    const executor = createExecutor({ db: tesseraDb(counted.pool) })
    await executor.read(plainRead(), backendPid())
    await executor.read(plainRead(), backendPid())
    counted.sent.length = 0
    const error = await rejection(executor.read(plainRead(), CompiledQuery.raw('select 42 as unprinted')))
    expect(error.details).toEqual({ reason: 'statement_not_printed' })
    expect(counted.sent).toEqual([])
  })

  it('keeps every read of an executor on db.connection() on that connection: the direct path never takes another', async () => {
    const counted = countedPool(pool)
    const kdb = tesseraDb(counted.pool)
    await kdb.connection().execute(async (conn) => {
      const held = (await conn.executeQuery<{ pid: number }>(backendPid())).rows[0]?.pid
      const executor = createExecutor({ db: conn })
      const connectsBefore = counted.connects()
      for (let k = 0; k < 3; k++) {
        const rows = await executor.read(plainRead(), backendPid())
        expect(rows[0]?.pid).toBe(held)
      }
      // A direct read would have taken a second connection (on PGlite it would wait for the one held here).
      expect(counted.connects()).toBe(connectsBefore)
    })
  })

  it('keeps every read of an executor on a transaction inside it', async () => {
    const counted = countedPool(pool)
    const kdb = tesseraDb(counted.pool)
    await kdb.transaction().execute(async (trx) => {
      await sql`select set_config('tessera.direct_probe', 'inside', true)`.execute(trx)
      const executor = createExecutor({ db: trx })
      const seen = markPrinted(
        CompiledQuery.raw("select current_setting('tessera.direct_probe', true) as seen, $1::text as tag", [
          'trx',
        ]),
      )
      for (let k = 0; k < 3; k++) {
        const rows = await executor.read(plainRead(), seen)
        expect(rows).toEqual([{ seen: 'inside', tag: 'trx' }])
      }
    })
  })

  it('logs every read of an executor on a Kysely instance that logs queries (the direct path is not taken)', async () => {
    const logged: string[] = []
    const counted = countedPool(pool)
    const executor = createExecutor({
      db: tesseraDb(counted.pool, (event) => logged.push(event.query.sql)),
    })
    for (let k = 0; k < 3; k++) await executor.read(plainRead(), backendPid())
    expect(logged).toEqual([
      'select pg_backend_pid() as pid, $1::text as tag',
      'select pg_backend_pid() as pid, $1::text as tag',
      'select pg_backend_pid() as pid, $1::text as tag',
    ])
  })
})
