/**
 * Counting what reaches the database, so a test can count messages and round trips: countingPool records every
 * query a client sends (a statement's text, or 'batch' for a submittable: a session batch, a prepared query);
 * countDescribes counts the Describe messages written on a one-connection pool.
 */
import type pg from 'pg'
import type { TesseraPool } from '../../src/executor/index.ts'

export function countingPool(pool: pg.Pool, sent: string[]): TesseraPool {
  return {
    options: pool.options,
    end: () => pool.end(),
    async connect() {
      const client = await pool.connect()
      const counted = client as pg.PoolClient & { counted?: boolean }
      if (!counted.counted) {
        counted.counted = true
        const query = client.query.bind(client) as (config: unknown) => unknown
        ;(client as unknown as { query: (config: unknown) => unknown }).query = (config) => {
          const text = (config as { text?: unknown }).text
          sent.push(typeof text === 'string' ? text : 'batch')
          return query(config)
        }
      }
      return client
    },
  }
}

interface CountedConnection {
  describe(message: unknown): void
  describes?: number
}

/** Counts the Describe messages written on the pool's one connection from now on. */
export async function countDescribes(pool: pg.Pool): Promise<() => number> {
  const client = await pool.connect()
  const connection = (client as unknown as { connection: CountedConnection }).connection
  client.release()
  if (connection.describes === undefined) {
    const describe = connection.describe.bind(connection)
    connection.describes = 0
    connection.describe = (message) => {
      connection.describes = (connection.describes ?? 0) + 1
      describe(message)
    }
  }
  const start = connection.describes
  return () => (connection.describes ?? 0) - start
}
