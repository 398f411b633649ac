import { EventEmitter } from 'node:events'
import { CompiledQuery, Kysely, sql } from 'kysely'
import { describe, expect, it } from 'vitest'
import { PoolExhaustedError } from '../../src/executor/pool-exhausted-error.ts'
import {
  createTesseraDialect,
  type TesseraPool,
  type TesseraPoolClient,
  type TesseraQueryConfig,
  type TesseraQueryResult,
} from '../../src/executor/tessera-dialect.ts'

/** A pg client stand-in: records every query config and answers through `respond`. */
class FakeClient extends EventEmitter implements TesseraPoolClient {
  readonly queries: TesseraQueryConfig[] = []
  readonly releases: (Error | boolean | undefined)[] = []
  respond: (config: TesseraQueryConfig) => Promise<TesseraQueryResult> = async (config) => ({
    command: config.text.split(' ')[0]!.toUpperCase(),
    rowCount: 0,
    rows: [],
  })

  query(config: TesseraQueryConfig): Promise<TesseraQueryResult> {
    this.queries.push(config)
    return this.respond(config)
  }

  release(err?: Error | boolean): void {
    this.releases.push(err)
  }
}

class FakePool implements TesseraPool {
  readonly client = new FakeClient()
  connectImpl: () => Promise<TesseraPoolClient> = async () => this.client
  ended = false
  options: { connectionTimeoutMillis?: number } = {}

  connect(): Promise<TesseraPoolClient> {
    return this.connectImpl()
  }

  async end(): Promise<void> {
    this.ended = true
  }
}

function sqlError(code: string, severity = 'ERROR'): Error {
  return Object.assign(new Error(`boom ${code}`), { code, severity })
}

describe('Tessera dialect driver', () => {
  it('sends every query, even a parameterless one, as an extended-protocol config with a ts_ name', async () => {
    const pool = new FakePool()
    const db = new Kysely<any>({ dialect: createTesseraDialect({ pool }) })
    await db.executeQuery(CompiledQuery.raw('begin'))
    await db.executeQuery(CompiledQuery.raw('select $1::int as a', [1]))
    expect(pool.client.queries).toHaveLength(2)
    for (const q of pool.client.queries) {
      expect(q.queryMode).toBe('extended')
      expect(q.name).toMatch(/^ts_[0-9a-f]{16}$/)
    }
    expect(pool.client.queries[1]!.values).toEqual([1])
  })

  it('reuses the same name for the same SQL text and a different one for a different text', async () => {
    const pool = new FakePool()
    const db = new Kysely<any>({ dialect: createTesseraDialect({ pool }) })
    await db.executeQuery(CompiledQuery.raw('select 1'))
    await db.executeQuery(CompiledQuery.raw('select 1'))
    await db.executeQuery(CompiledQuery.raw('select 2'))
    const [a, b, c] = pool.client.queries.map((q) => q.name)
    expect(a).toBe(b)
    expect(c).not.toBe(a)
  })

  it('runs statements unnamed, still in extended mode, once the per-connection budget is used up', async () => {
    const pool = new FakePool()
    const db = new Kysely<any>({ dialect: createTesseraDialect({ pool, maxPreparedPerConnection: 2 }) })
    for (const text of ['select 1', 'select 2', 'select 3', 'select 1']) {
      await db.executeQuery(CompiledQuery.raw(text))
    }
    const names = pool.client.queries.map((q) => q.name)
    expect(names[0]).toBeDefined()
    expect(names[1]).toBeDefined()
    expect(names[2]).toBeUndefined()
    expect(names[3]).toBe(names[0])
    expect(pool.client.queries.every((q) => q.queryMode === 'extended')).toBe(true)
  })

  it('returns a connection to the pool normally after an ordinary SQL error', async () => {
    const pool = new FakePool()
    pool.client.respond = async () => {
      throw sqlError('23505')
    }
    const db = new Kysely<any>({ dialect: createTesseraDialect({ pool }) })
    await expect(db.executeQuery(CompiledQuery.raw('insert into t values (1)'))).rejects.toMatchObject({
      code: '23505',
    })
    expect(pool.client.releases).toEqual([undefined])
  })

  it.each([
    ['57P01 admin shutdown', sqlError('57P01', 'FATAL')],
    ['08006 connection failure', sqlError('08006')],
    ['a socket error', Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' })],
    ['EPIPE (five capitals but not a SQLSTATE)', Object.assign(new Error('write EPIPE'), { code: 'EPIPE' })],
    ['a client-side error without a code', new Error('Connection terminated unexpectedly')],
  ])('destroys the connection (release with the error) after %s', async (_label, error) => {
    const pool = new FakePool()
    pool.client.respond = async () => {
      throw error
    }
    const db = new Kysely<any>({ dialect: createTesseraDialect({ pool }) })
    await expect(db.executeQuery(CompiledQuery.raw('select 1'))).rejects.toBe(error)
    expect(pool.client.releases).toEqual([error])
  })

  it('keeps the original error and destroys the connection when ROLLBACK itself fails', async () => {
    const pool = new FakePool()
    const cause = sqlError('57P01', 'FATAL')
    pool.client.respond = async (config) => {
      if (config.text === 'select 1') throw cause
      if (config.text === 'rollback') throw new Error('Client has encountered a connection error')
      return { command: 'BEGIN', rowCount: null, rows: [] }
    }
    const db = new Kysely<any>({ dialect: createTesseraDialect({ pool }) })
    await expect(
      db.transaction().execute(async (trx) => {
        await sql`select 1`.execute(trx)
      }),
    ).rejects.toBe(cause)
    expect(pool.client.releases).toHaveLength(1)
    expect(pool.client.releases[0]).toBeInstanceOf(Error)
  })

  it('destroys a checked-out connection whose client reports an error between statements, without crashing', async () => {
    const pool = new FakePool()
    const db = new Kysely<any>({ dialect: createTesseraDialect({ pool }) })
    const lost = new Error('Connection terminated unexpectedly')
    await db.connection().execute(async (conn) => {
      await sql`select 1`.execute(conn)
      pool.client.emit('error', lost)
    })
    expect(pool.client.releases).toEqual([lost])
    expect(pool.client.listenerCount('error')).toBe(0)
  })

  it('fails with PoolExhaustedError when the pool has no acquire timeout and no client comes in time', async () => {
    const pool = new FakePool()
    let deliver: (c: TesseraPoolClient) => void = () => undefined
    pool.connectImpl = () => new Promise((resolve) => (deliver = resolve))
    const db = new Kysely<any>({ dialect: createTesseraDialect({ pool, acquireTimeoutMillis: 30 }) })
    await expect(db.executeQuery(CompiledQuery.raw('select 1'))).rejects.toBeInstanceOf(PoolExhaustedError)
    // The client the pool hands over late goes straight back.
    deliver(pool.client)
    await new Promise((r) => setImmediate(r))
    expect(pool.client.releases).toEqual([undefined])
    expect(pool.client.queries).toHaveLength(0)
  })

  it('fails each waiting acquisition at its own deadline and still serves a later one in time', async () => {
    const pool = new FakePool()
    const deliveries: ((c: TesseraPoolClient) => void)[] = []
    pool.connectImpl = () => new Promise((resolve) => deliveries.push(resolve))
    const db = new Kysely<any>({ dialect: createTesseraDialect({ pool, acquireTimeoutMillis: 60 }) })
    const first = db.executeQuery(CompiledQuery.raw('select 1')).then(
      () => 'answered',
      (e: unknown) => (e instanceof PoolExhaustedError ? 'exhausted' : 'other'),
    )
    await new Promise((r) => setTimeout(r, 40))
    const second = db.executeQuery(CompiledQuery.raw('select 2'))
    expect(await first).toBe('exhausted')
    // The first deadline passed; the second (40 ms later) has not: its client still counts.
    deliveries[1]?.(pool.client)
    await expect(second).resolves.toMatchObject({ rows: [] })
    expect(pool.client.queries.map((q) => q.text)).toEqual(['select 2'])
  })

  it('leaves no timer holding the process open once no acquisition waits', async () => {
    const pool = new FakePool()
    const db = new Kysely<any>({ dialect: createTesseraDialect({ pool, acquireTimeoutMillis: 60_000 }) })
    const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length
    const before = timers()
    await db.executeQuery(CompiledQuery.raw('select 1'))
    await db.executeQuery(CompiledQuery.raw('select 2'))
    expect(timers()).toBe(before)
  })

  it('leaves the acquire timeout to the pool when it has its own connectionTimeoutMillis', async () => {
    const pool = new FakePool()
    pool.options = { connectionTimeoutMillis: 1000 }
    let calls = 0
    pool.connectImpl = () => {
      calls++
      return new Promise((_, reject) =>
        setTimeout(() => reject(new Error('timeout exceeded when trying to connect')), 60),
      )
    }
    const db = new Kysely<any>({ dialect: createTesseraDialect({ pool, acquireTimeoutMillis: 10 }) })
    await expect(db.executeQuery(CompiledQuery.raw('select 1'))).rejects.toThrow('timeout exceeded')
    expect(calls).toBe(1)
  })

  it('sets the session statement_timeout once per new connection, as a bound parameter', async () => {
    const pool = new FakePool()
    const db = new Kysely<any>({ dialect: createTesseraDialect({ pool, statementTimeoutMs: 1234 }) })
    await db.executeQuery(CompiledQuery.raw('select 1'))
    await db.executeQuery(CompiledQuery.raw('select 1'))
    const texts = pool.client.queries.map((q) => q.text)
    expect(texts).toEqual(["select set_config('statement_timeout', $1, false)", 'select 1', 'select 1'])
    expect(pool.client.queries[0]!.values).toEqual(['1234'])
  })

  it('never hands out a connection whose session statement_timeout could not be set', async () => {
    const pool = new FakePool()
    const lost = new Error('Connection terminated unexpectedly')
    pool.client.respond = async () => {
      throw lost
    }
    const db = new Kysely<any>({ dialect: createTesseraDialect({ pool, statementTimeoutMs: 1000 }) })
    await expect(db.executeQuery(CompiledQuery.raw('select 1'))).rejects.toBe(lost)
    expect(pool.client.queries.map((q) => q.text)).toEqual([
      "select set_config('statement_timeout', $1, false)",
    ])
    expect(pool.client.releases).toEqual([lost])
  })

  it('ends the pool when the Kysely instance is destroyed', async () => {
    const pool = new FakePool()
    const db = new Kysely<any>({ dialect: createTesseraDialect({ pool }) })
    await db.executeQuery(CompiledQuery.raw('select 1'))
    await db.destroy()
    expect(pool.ended).toBe(true)
  })
})
