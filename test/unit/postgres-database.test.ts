import { describe, expect, it } from 'vitest'
import { createPostgresDatabase } from '../../src/executor/postgres-database.ts'
import { sessionStatementTimeoutOf } from '../../src/executor/tessera-dialect.ts'

// pg.Pool connects lazily, so the configuration can be checked without a server.
describe('createPostgresDatabase', () => {
  it('applies production pool defaults: 10 connections, 5 s to acquire one, 30 s idle', async () => {
    const server = createPostgresDatabase('postgres://nobody@127.0.0.1:1/none')
    try {
      expect(server.pool.options).toMatchObject({
        max: 10,
        connectionTimeoutMillis: 5000,
        idleTimeoutMillis: 30_000,
      })
      expect(sessionStatementTimeoutOf(server.db)).toBe(5000)
    } finally {
      await server.close()
    }
  })

  it('lets the caller override the pool settings and the session statement timeout', async () => {
    const server = createPostgresDatabase(
      { connectionString: 'postgres://nobody@127.0.0.1:1/none', max: 3, connectionTimeoutMillis: 250 },
      { statementTimeoutMs: 2000 },
    )
    try {
      expect(server.pool.options).toMatchObject({
        max: 3,
        connectionTimeoutMillis: 250,
        idleTimeoutMillis: 30_000,
      })
      expect(sessionStatementTimeoutOf(server.db)).toBe(2000)
    } finally {
      await server.close()
    }
  })

  it('fails a query against an unreachable server instead of hanging', async () => {
    const server = createPostgresDatabase({ connectionString: 'postgres://nobody@127.0.0.1:1/none' })
    try {
      await expect(server.db.selectFrom('x').selectAll().execute()).rejects.toThrow()
    } finally {
      await server.close()
    }
  })
})
