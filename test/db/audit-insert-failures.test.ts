/**
 * The PostgreSQL audit store when an INSERT fails (docs/decisions.md, "A failed audit INSERT"): a record the
 * table refuses is found among its batch and never wedges the records behind it; a database that cannot take
 * records is retried a bounded number of times, then its records are dropped and reported; the backlog's memory
 * is bounded. On PGlite and PostgreSQL.
 */
import { sql } from 'kysely'
import { beforeAll, beforeEach, expect, it, vi } from 'vitest'
import { ensureAuditTables, PostgresAuditStore } from '../../src/stores/index.ts'
import { auditDraft } from '../support/audit-store-conformance.ts'
import { describeEachDatabase } from '../support/databases.ts'

function spyLogger() {
  return { error: vi.fn(), warn: vi.fn() }
}

async function until(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 1_000 && !condition(); i++) await new Promise((r) => setTimeout(r, 5))
}

describeEachDatabase('PostgresAuditStore insert failures', (db) => {
  beforeAll(async () => {
    await ensureAuditTables(db().admin)
  })

  beforeEach(async () => {
    const admin = db().admin
    await sql`truncate tessera_audit, tessera_audit_cuts`.execute(admin)
    await sql`alter table tessera_audit drop constraint if exists tessera_audit_no_poison`.execute(admin)
    await sql`alter table tessera_audit drop constraint if exists tessera_audit_numeric_users`.execute(admin)
  })

  const stored = async () =>
    (
      await sql<{ request_id: string }>`select body::json->>'requestId' as request_id from tessera_audit
        order by chain, seq`.execute(db().admin)
    ).rows.map((r) => r.request_id)

  // An operator's check constraint the store knows nothing about: the table refuses this one record's data.
  const poisonTable = () =>
    sql`alter table tessera_audit add constraint tessera_audit_no_poison
      check (user_id is distinct from 'poison')`.execute(db().admin)

  it('batched: a record the table refuses is dropped and reported, its batch mates are stored and the queue goes on', async () => {
    await poisonTable()
    const logger = spyLogger()
    const store = new PostgresAuditStore({ db: db().admin, flushIntervalMs: 60_000, logger })
    for (const id of ['r1', 'r2', 'bad', 'r3', 'r4']) {
      await store.record(auditDraft({ requestId: id, userId: id === 'bad' ? 'poison' : 'user-1' }))
    }
    await expect(store.flush()).rejects.toThrow(/1 audit records were dropped/)
    expect(store.pending).toBe(0)
    expect(store.lost).toBe(1)
    expect(await stored()).toEqual(['r1', 'r2', 'r3', 'r4'])
    expect(logger.error).toHaveBeenCalledWith(
      expect.objectContaining({ requestId: 'bad', seq: 3, sqlState: '23514' }),
      expect.stringMatching(/refused by the table/),
    )
    // Reported once; the store takes and stores records as before.
    await store.record(auditDraft({ requestId: 'r5' }))
    await store.flush()
    expect(await stored()).toEqual(['r1', 'r2', 'r3', 'r4', 'r5'])
    // The refused record's position stays empty: the trail itself shows one is missing.
    expect((await store.verify()).breaks).toEqual([expect.objectContaining({ seq: 4, reason: 'gap' })])
    await store.close()
  })

  // An operator's check that casts: PostgreSQL's class 22 message then quotes the value it could not cast.
  const SECRET_USER = 'secret-4111-1111-1111-1111'
  const castingTable = () =>
    sql`alter table tessera_audit add constraint tessera_audit_numeric_users
      check (case when user_id like 'secret-%' then user_id::int > 0 else true end)`.execute(db().admin)

  it('logs the SQLSTATE and the names PostgreSQL reports for a refused record, never its message or the value it quotes', async () => {
    const admin = db().admin
    // The message itself quotes the value: that is what must not reach the log.
    await castingTable()
    const thrown = await sql`select ${SECRET_USER}::int`.execute(admin).catch((e: unknown) => e)
    expect(String((thrown as Error).message)).toContain(SECRET_USER)

    const batched = spyLogger()
    const store = new PostgresAuditStore({ db: admin, flushIntervalMs: 60_000, logger: batched })
    await store.record(auditDraft({ requestId: 'ok-1' }))
    await store.record(auditDraft({ requestId: 'bad', userId: SECRET_USER }))
    const flushed = await store.flush().catch((e: unknown) => e as Error)
    expect(flushed).toBeInstanceOf(Error)
    expect((flushed as Error).message).toBe('1 audit records were dropped: SQLSTATE 22P02')
    expect(batched.error).toHaveBeenCalledWith(
      expect.objectContaining({ requestId: 'bad', sqlState: '22P02' }),
      expect.stringMatching(/refused by the table/),
    )
    await store.close()

    const perCall = spyLogger()
    const appender = new PostgresAuditStore({ db: admin, durability: 'per-call', logger: perCall })
    await expect(appender.append(auditDraft({ requestId: 'bad-2', userId: SECRET_USER }))).rejects.toThrow()
    expect(perCall.error).toHaveBeenCalledWith({ records: 1, sqlState: '22P02' }, expect.any(String))

    await sql`alter table tessera_audit drop constraint tessera_audit_numeric_users`.execute(admin)
    await poisonTable()
    await expect(appender.append(auditDraft({ requestId: 'bad-3', userId: 'poison' }))).rejects.toThrow()
    expect(perCall.error).toHaveBeenLastCalledWith(
      {
        records: 1,
        sqlState: '23514',
        table: 'tessera_audit',
        constraint: 'tessera_audit_no_poison',
        schema: 'public',
      },
      expect.any(String),
    )
    const logged = JSON.stringify([
      ...batched.error.mock.calls,
      ...batched.warn.mock.calls,
      ...perCall.error.mock.calls,
      ...perCall.warn.mock.calls,
    ])
    expect(logged).not.toContain(SECRET_USER)
    expect(logged).not.toContain('poison,')
    expect(logged).not.toMatch(/invalid input syntax|Failing row/)
  })

  it('batched: a table that takes no record is retried, new records are refused meanwhile, and after maxRetries the held ones are dropped and reported', async () => {
    const admin = db().admin
    const logger = spyLogger()
    const store = new PostgresAuditStore({
      db: admin,
      flushIntervalMs: 60_000,
      maxRetries: 2,
      retryMs: 1,
      logger,
    })
    await store.record(auditDraft({ requestId: 'held-1' }))
    await store.record(auditDraft({ requestId: 'held-2' }))
    await sql`alter table tessera_audit rename to tessera_audit_away`.execute(admin)
    try {
      await expect(store.flush()).rejects.toThrow(/cannot store records/)
      await expect(store.record(auditDraft({ requestId: 'refused' }))).rejects.toThrow(/cannot store/)
      await until(() => store.lost > 0)
      expect(store.lost).toBe(2)
      expect(store.pending).toBe(0)
      expect(logger.error).toHaveBeenCalledWith(
        expect.objectContaining({ records: 2, sqlState: '42P01' }),
        expect.stringMatching(/dropped after retries/),
      )
      // Nothing held any more, yet the store still cannot store: it keeps refusing (fail closed).
      await expect(store.flush()).rejects.toThrow(/2 audit records were dropped/)
      await expect(store.record(auditDraft({ requestId: 'still-refused' }))).rejects.toThrow(/cannot store/)
    } finally {
      await sql`alter table tessera_audit_away rename to tessera_audit`.execute(admin)
    }
    // A probe (an INSERT of no rows) finds the table again.
    await store.flush()
    await store.record(auditDraft({ requestId: 'after' }))
    await store.close()
    expect(await stored()).toEqual(['after'])
  })

  it('batched: a full backlog refuses the next record with an error that says so, instead of growing', async () => {
    const admin = db().admin
    const store = new PostgresAuditStore({ db: admin, flushIntervalMs: 60_000, maxPending: 2 })
    let filling: Promise<void> | undefined
    await admin.transaction().execute(async (trx) => {
      // A staged write holds tenant-a's chain: its drafts cannot be stored until the write settles.
      const staged = await store.stage(auditDraft({ requestId: 'write' }), trx)
      await store.record(auditDraft({ requestId: 'a1' }))
      filling = store.record(auditDraft({ requestId: 'a2' }))
      await expect(store.record(auditDraft({ requestId: 'a3' }))).rejects.toThrow(
        /audit backlog is full: 2 records wait to be stored \(maxPending 2\)/,
      )
      expect(store.pending).toBe(2)
      await staged.commit()
    })
    await filling
    await store.close()
    expect(await stored()).toEqual(['write', 'a1', 'a2'])
  })

  it('per-call: a record the table refuses fails only its own append; the ones sharing its INSERT are stored with no hole in the chain', async () => {
    await poisonTable()
    const logger = spyLogger()
    const store = new PostgresAuditStore({ db: db().admin, durability: 'per-call', logger })
    // The first append takes the chain; the next three wait and share one INSERT.
    const results = await Promise.allSettled(
      ['p1', 'p2', 'bad', 'p3'].map((id) =>
        store.append(auditDraft({ requestId: id, userId: id === 'bad' ? 'poison' : 'user-1' })),
      ),
    )
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled'])
    expect(logger.error).toHaveBeenCalledWith(
      expect.objectContaining({ records: 1, sqlState: '23514' }),
      expect.any(String),
    )
    expect(await stored()).toEqual(['p1', 'p2', 'p3'])
    expect(await store.verify()).toMatchObject({ ok: true, records: 3 })
  })

  it('never reuses the position of a staged record whose transaction committed though the caller was told it failed', async () => {
    const admin = db().admin
    const store = new PostgresAuditStore({ db: admin, durability: 'per-call', logger: spyLogger() })
    let lost: Awaited<ReturnType<PostgresAuditStore['stage']>> | undefined
    await admin.transaction().execute(async (trx) => {
      lost = await store.stage(auditDraft({ requestId: 'committed' }), trx)
    })
    // The COMMIT's answer was lost: the call aborts its record, which is stored all the same.
    await lost?.abort()
    for (const id of ['w1', 'w2']) {
      await admin.transaction().execute(async (trx) => {
        const staged = await store.stage(auditDraft({ requestId: id }), trx)
        await staged.commit()
      })
    }
    await store.append(auditDraft({ requestId: 'r1' }))
    expect(await stored()).toHaveLength(4)
    expect(await store.verify()).toMatchObject({ ok: true, records: 4, chains: 2, breaks: [] })
  })

  it('per-call: an INSERT whose answer was lost does not make every later append of the tenant fail', async () => {
    const admin = db().admin
    let drop = true
    // A connection that stores the INSERT and then loses the answer, once.
    const flaky = {
      executeQuery: async (query: Parameters<typeof admin.executeQuery>[0]) => {
        const result = await admin.executeQuery(query)
        if (drop) {
          drop = false
          throw new Error('Connection terminated unexpectedly')
        }
        return result
      },
    } as unknown as typeof admin
    const store = new PostgresAuditStore({ db: flaky, durability: 'per-call', logger: spyLogger() })
    await expect(store.append(auditDraft({ requestId: 'answer-lost' }))).rejects.toThrow(/terminated/)
    await store.append(auditDraft({ requestId: 'next-1' }))
    await store.append(auditDraft({ requestId: 'next-2' }))
    expect(await stored()).toHaveLength(3)
    expect(await new PostgresAuditStore({ db: admin }).verify()).toMatchObject({
      ok: true,
      records: 3,
      breaks: [],
    })
  })

  it('per-call: a position another writer took is skipped on a new chain, not failed forever', async () => {
    const admin = db().admin
    const store = new PostgresAuditStore({ db: admin, durability: 'per-call', logger: spyLogger() })
    const first = await store.append(auditDraft({ requestId: 'p1' }))
    const [row] = (
      await sql<{ chain: string }>`select chain from tessera_audit where id = ${first.id}`.execute(admin)
    ).rows
    await sql`insert into tessera_audit (chain, seq, id, ts, tool, outcome, body)
      values (${row?.chain}, 2, 'intruder', now(), 'db_get', 'success', '{}')`.execute(admin)
    // Two appends share one INSERT that meets the taken position; both are stored on the chain that follows.
    await Promise.all([
      store.append(auditDraft({ requestId: 'p2' })),
      store.append(auditDraft({ requestId: 'p3' })),
    ])
    await store.append(auditDraft({ requestId: 'p4' }))
    expect(await stored()).toEqual(expect.arrayContaining(['p1', 'p2', 'p3', 'p4']))
  })
})
