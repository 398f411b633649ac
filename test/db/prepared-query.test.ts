/**
 * The dialect's one-statement submission (src/executor/prepared-query.ts): a named statement is described once
 * per connection, later executions skip Describe, and the rows are exactly what node-postgres builds itself.
 * Over a one-connection pool, so consecutive statements share a session and a prepared-statement list.
 */
import { CompiledQuery, Kysely } from 'kysely'
import pg from 'pg'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { createTesseraDialect } from '../../src/executor/tessera-dialect.ts'
import { countDescribes } from '../support/counting-pool.ts'
import { APP_ROLE, describeEachDatabase, type TestDatabase } from '../support/databases.ts'

/** The harness's PGlite pool (one client, which must not be cloned), or a one-client pool on PostgreSQL. */
function singleConnectionPool(database: TestDatabase, options: pg.PoolConfig = {}): pg.Pool {
  if (database.kind === 'pglite') return database.appPool
  return new pg.Pool({ ...database.appPool.options, ...options, max: 1 })
}

describeEachDatabase('Tessera dialect statement submission', (db) => {
  let pool: pg.Pool
  let tdb: Kysely<any>

  beforeAll(async () => {
    pool = singleConnectionPool(db())
    tdb = new Kysely<any>({ dialect: createTesseraDialect({ pool }) })
    await db().admin.executeQuery(CompiledQuery.raw('create table shape_probe (id int primary key, v int)'))
    await db().admin.executeQuery(CompiledQuery.raw('insert into shape_probe values (1, 10), (2, 20)'))
    await db().admin.executeQuery(CompiledQuery.raw(`grant select, update on shape_probe to ${APP_ROLE}`))
  })

  afterAll(async () => {
    // The harness owns PGlite's pool; on PostgreSQL the one-client pool is this file's.
    if (db().kind === 'postgres') await tdb.destroy()
  })

  it('describes a named statement once per connection and reads the same rows on later executions', async () => {
    const describes = await countDescribes(pool)
    const text = "select $1::int + 1 as n, 'x'::text as s, null::int as nothing, $2::jsonb as doc"
    const runs = []
    for (const n of [1, 2, 3]) {
      runs.push((await tdb.executeQuery(CompiledQuery.raw(text, [n, JSON.stringify({ n })]))).rows)
    }
    expect(runs).toEqual([1, 2, 3].map((n) => [{ n: n + 1, s: 'x', nothing: null, doc: { n } }]))
    expect(describes()).toBe(1)
  })

  it('builds rows as node-postgres does: own __proto__ column, last of duplicate names, column order', async () => {
    const text = 'select $1::int as b, 2 as "__proto__", 3 as b, 4 as a'
    const viaPg = await db().app.executeQuery(CompiledQuery.raw(text, [1]))
    for (let i = 0; i < 2; i++) {
      const { rows } = await tdb.executeQuery<Record<string, unknown>>(CompiledQuery.raw(text, [1]))
      expect(rows).toEqual(viaPg.rows)
      const row = rows[0] as Record<string, unknown>
      expect(Object.keys(row)).toEqual(['b', '__proto__', 'a'])
      expect(Object.getPrototypeOf(row)).toBe(Object.prototype)
      expect(Object.getOwnPropertyDescriptor(row, '__proto__')?.value).toBe(2)
    }
  })

  it('parses columns with the type parsers of the pool, also once Describe is skipped', async () => {
    const types = {
      getTypeParser: (oid: number, format?: string) =>
        oid === 23 ? (raw: string) => `int:${raw}` : pg.types.getTypeParser(oid, format as 'text'),
    }
    const typed = db().kind === 'pglite' ? undefined : singleConnectionPool(db(), { types })
    if (typed === undefined) {
      // PGlite's one client is shared by the harness: give it the parser through the client instead.
      const client = await pool.connect()
      client.setTypeParser(23, (raw: string) => `int:${raw}`)
      client.release()
    }
    const k = typed === undefined ? tdb : new Kysely<any>({ dialect: createTesseraDialect({ pool: typed }) })
    try {
      const text = 'select id, v from shape_probe where id = $1'
      for (let i = 0; i < 2; i++) {
        const { rows } = await k.executeQuery(CompiledQuery.raw(text, [1]))
        expect(rows).toEqual([{ id: 'int:1', v: 'int:10' }])
      }
    } finally {
      if (typed === undefined) {
        const client = await pool.connect()
        client.setTypeParser(23, pg.types.getTypeParser(23, 'text'))
        client.release()
      } else await k.destroy()
    }
  })

  it('refuses a prepared name whose columns changed instead of reading them with the remembered ones', async () => {
    const text = 'select v from shape_probe where id = $1'
    expect((await tdb.executeQuery(CompiledQuery.raw(text, [2]))).rows).toEqual([{ v: 20 }])
    expect((await tdb.executeQuery(CompiledQuery.raw(text, [2]))).rows).toEqual([{ v: 20 }])
    await db().admin.executeQuery(CompiledQuery.raw('alter table shape_probe alter column v type text'))
    try {
      // PostgreSQL's own guarantee behind skipping Describe: a prepared statement's result type is fixed.
      await expect(tdb.executeQuery(CompiledQuery.raw(text, [2]))).rejects.toMatchObject({ code: '0A000' })
    } finally {
      await db().admin.executeQuery(
        CompiledQuery.raw('alter table shape_probe alter column v type int using v::int'),
      )
    }
  })

  it('keeps working after a statement fails part-way, described or not', async () => {
    const text = 'select 10 / $1::int as q'
    expect((await tdb.executeQuery(CompiledQuery.raw(text, [5]))).rows).toEqual([{ q: 2 }])
    await expect(tdb.executeQuery(CompiledQuery.raw(text, [0]))).rejects.toMatchObject({ code: '22012' })
    expect((await tdb.executeQuery(CompiledQuery.raw(text, [2]))).rows).toEqual([{ q: 5 }])
    const fresh = 'select 10 / $1::int as r'
    await expect(tdb.executeQuery(CompiledQuery.raw(fresh, [0]))).rejects.toMatchObject({ code: '22012' })
    expect((await tdb.executeQuery(CompiledQuery.raw(fresh, [1]))).rows).toEqual([{ r: 10 }])
  })

  it('reports the command and affected rows of a statement without result columns on every execution', async () => {
    const text = 'update shape_probe set v = v where id = $1'
    for (let i = 0; i < 2; i++) {
      const result = await tdb.executeQuery(CompiledQuery.raw(text, [1]))
      expect(result).toEqual({ numAffectedRows: 1n, rows: [] })
    }
  })
})

describeEachDatabase(
  'Tessera dialect statement submission, read timeout',
  (db) => {
    it("fails a statement that outlasts the pool's query_timeout, as pg's own Query does", async () => {
      const pool = new pg.Pool({ ...db().appPool.options, max: 1, query_timeout: 100 })
      const k = new Kysely<any>({ dialect: createTesseraDialect({ pool }) })
      try {
        await expect(
          k.executeQuery(CompiledQuery.raw('select pg_sleep($1::float8) as slept', [1])),
        ).rejects.toThrow('Query read timeout')
        // The client still answers once the slow statement has finished.
        await new Promise((r) => setTimeout(r, 1_200))
        expect((await k.executeQuery(CompiledQuery.raw('select $1::int as n', [7]))).rows).toEqual([{ n: 7 }])
      } finally {
        await k.destroy()
      }
    })
  },
  // PGlite runs in this process: a sleeping statement blocks the timer that would fail it.
  { only: ['postgres'] },
)
