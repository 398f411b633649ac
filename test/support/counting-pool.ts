/**
 * A pool over `pool` whose clients record what reaches their `query`: a statement's text, or 'batch' for a
 * submittable (a session batch, a prepared query) — so a test can count messages and round trips.
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
