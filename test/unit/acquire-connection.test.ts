import pg from 'pg'
import { describe, expect, it } from 'vitest'
import { boundedConnect } from '../../src/executor/acquire-connection.ts'
import { PoolExhaustedError } from '../../src/executor/pool-exhausted-error.ts'

interface FakeClient {
  readonly id: number
  released: number
  release(): void
}

type Callback = (err: Error | undefined, client: FakeClient | undefined) => void

/**
 * A pool shaped like pg-pool (connect(callback) and its three counters) that answers when told to; `promised`
 * counts the acquisitions asked for a promise, `called` those asked with a callback.
 */
function callbackPool(options: { connectionTimeoutMillis?: number } = {}) {
  const waiting: Callback[] = []
  let next = 0
  const counts = { called: 0, promised: 0 }
  const client = (): FakeClient => {
    const c: FakeClient = {
      id: ++next,
      released: 0,
      release() {
        c.released += 1
      },
    }
    return c
  }
  const pool = {
    options,
    totalCount: 1,
    idleCount: 0,
    get waitingCount() {
      return waiting.length
    },
    // One declared parameter, like pg-pool's `connect(cb)`; without one it answers with a promise.
    connect(cb?: Callback): Promise<FakeClient> | undefined {
      if (cb !== undefined) {
        counts.called += 1
        waiting.push(cb)
        return undefined
      }
      counts.promised += 1
      return new Promise((resolve, reject) =>
        waiting.push((err, c) => (err ? reject(err) : resolve(c as FakeClient))),
      )
    },
  }
  return {
    pool: pool as unknown as { connect(): Promise<FakeClient>; options: typeof options },
    counts,
    give(): FakeClient {
      const c = client()
      waiting.shift()?.(undefined, c)
      return c
    },
    fail(err: Error): void {
      waiting.shift()?.(err, undefined)
    },
  }
}

describe('boundedConnect', () => {
  it('asks a pg-pool for a client with its callback, not its promise, and hands that client over', async () => {
    const fake = callbackPool()
    const connect = boundedConnect(fake.pool, 1000)
    const answer = connect()
    const given = fake.give()
    await expect(answer).resolves.toBe(given)
    expect(fake.counts).toEqual({ called: 1, promised: 0 })
  })

  it('fails a callback acquisition that waits past the bound with PoolExhaustedError and gives the late client back', async () => {
    const fake = callbackPool()
    const connect = boundedConnect(fake.pool, 20)
    await expect(connect()).rejects.toBeInstanceOf(PoolExhaustedError)
    const late = fake.give()
    expect(late.released).toBe(1)
  })

  it('rejects with the error the pool reports through the callback', async () => {
    const fake = callbackPool()
    const answer = boundedConnect(fake.pool, 1000)()
    const refused = new Error('too many clients already')
    fake.fail(refused)
    await expect(answer).rejects.toBe(refused)
  })

  it("uses the callback too when the pool bounds the wait itself, and passes the pool's own timeout error on", async () => {
    const fake = callbackPool({ connectionTimeoutMillis: 50 })
    const connect = boundedConnect(fake.pool, 1000)
    const first = connect()
    const given = fake.give()
    await expect(first).resolves.toBe(given)
    const second = connect()
    const timeout = new Error('timeout exceeded when trying to connect')
    fake.fail(timeout)
    await expect(second).rejects.toBe(timeout)
    expect(fake.counts).toEqual({ called: 2, promised: 0 })
  })

  it('asks a pool without the pg-pool surface for a promise', async () => {
    const fake = callbackPool()
    const promiseOnly = {
      options: {},
      connect: () => (fake.pool.connect as () => Promise<FakeClient>)(),
    }
    const answer = boundedConnect(promiseOnly, 1000)()
    const given = fake.give()
    await expect(answer).resolves.toBe(given)
    expect(fake.counts).toEqual({ called: 0, promised: 1 })
  })

  it("recognises node-postgres' own Pool as one that takes a callback", () => {
    const pool = new pg.Pool({ max: 1 })
    const shape = pool as unknown as Record<string, unknown> & { connect: { length: number } }
    expect(shape.connect.length).toBe(1)
    expect([typeof shape['totalCount'], typeof shape['idleCount'], typeof shape['waitingCount']]).toEqual([
      'number',
      'number',
      'number',
    ])
    return pool.end()
  })
})
