/**
 * The audit trail wired into the toolset: with the PostgreSQL store a write and its record commit in one
 * transaction; a store that cannot write fails writes (no change) and reads (closed mode, the default);
 * secrets never reach the stores or the logs; one structured log line per call.
 */
import { sql } from 'kysely'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { createTesseraLogger } from '../../src/tools/index.ts'
import { ensureAuditTables, MemoryAuditStore, PostgresAuditStore, REDACTED } from '../../src/stores/index.ts'
import type { PolicyInput } from '../../src/policy/policy-schema.ts'
import { APP_ROLE, describeEachDatabase } from '../support/databases.ts'
import { ALICE, as, ORDER_A1, ORDER_A2, USER_ALICE } from '../support/saas.ts'
import { toolsetFor } from '../support/toolset.ts'
import { errorOf, rowJson } from '../support/write-helpers.ts'
import { scopedOrder } from '../support/scoped-order.ts'

const policy: PolicyInput = {
  models: {
    Order: scopedOrder(
      { id: 'allow', tenant_id: 'allow', status: 'allow', total: 'allow' },
      {
        write: { update: 'allow' },
      },
    ),
    User: {
      table: 'users',
      fields: {
        id: 'allow',
        tenant_id: 'allow',
        name: 'allow',
        email: 'mask',
        password_hash: 'deny',
        api_token: 'deny',
      },
      scoping: { tenant_id: 'principal.tenantId' },
      write: { update: 'allow' },
    },
  },
}

function captureLogs() {
  const lines: string[] = []
  const logger = createTesseraLogger({
    level: 'debug',
    destination: { write: (s: string) => void lines.push(s) },
  })
  return { lines, logger, parsed: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>) }
}

describeEachDatabase('audit wiring', (db) => {
  let reader: PostgresAuditStore
  beforeAll(async () => {
    await ensureAuditTables(db().admin, { writers: [APP_ROLE] })
    reader = new PostgresAuditStore({ db: db().admin })
    // A check PostgreSQL runs at COMMIT: the write fails after its audit record was inserted.
    await sql`create function fail_at_commit() returns trigger language plpgsql as $$
      begin
        if new.status = 'explode-at-commit' then raise exception 'refused at commit'; end if;
        return new;
      end $$`.execute(db().admin)
    await sql`create constraint trigger orders_fail_at_commit after update on orders
      deferrable initially deferred for each row execute function fail_at_commit()`.execute(db().admin)
  })
  afterAll(async () => {
    await sql`drop trigger if exists orders_fail_at_commit on orders`.execute(db().admin)
  })

  it('commits a write and its record in one transaction, and neither when the commit fails', async () => {
    // The toolset's own connection writes the audit (INSERT is all the application role may do there).
    const store = new PostgresAuditStore({ db: db().app })
    const h = await toolsetFor(db(), policy, { audit: store })
    await h.toolset.update(as(ALICE, 'wired-ok'), { model: 'Order', id: ORDER_A1, data: { status: 'wired' } })
    const [ok] = await reader.query({ tool: 'db_update', outcome: 'success' })
    expect(ok).toMatchObject({ requestId: 'wired-ok', affectedRows: 1, tenantId: ALICE.tenantId })
    const before = await rowJson(db(), 'orders', ORDER_A2)
    const failed = await errorOf(
      h.toolset.update(as(ALICE, 'wired-fail'), {
        model: 'Order',
        id: ORDER_A2,
        data: { status: 'explode-at-commit' },
      }),
    )
    expect(failed.code).toBe('INTERNAL_ERROR')
    expect(await rowJson(db(), 'orders', ORDER_A2)).toBe(before)
    // The failure record is a call that changed nothing: batched, so stored by the next flush.
    await store.flush()
    const records = await reader.query({ tool: 'db_update' })
    expect(records.filter((r) => r.requestId === 'wired-fail').map((r) => r.outcome)).toEqual(['error'])
    // The rolled-back record left no hole: the chain continues from the last committed record.
    await h.toolset.update(as(ALICE, 'wired-after'), {
      model: 'Order',
      id: ORDER_A1,
      data: { status: 'after' },
    })
    expect(await reader.verify()).toMatchObject({ ok: true, breaks: [] })
    // The application role cannot rewrite the trail.
    if (db().kind === 'postgres') {
      await expect(sql`delete from tessera_audit`.execute(db().app)).rejects.toThrow(/permission denied/)
    }
  })

  it('fails writes (no change) and reads (closed) when the audit table is gone; open mode answers reads', async () => {
    const logs = captureLogs()
    const batchedStore = new PostgresAuditStore({ db: db().app, flushIntervalMs: 60_000 })
    const batched = await toolsetFor(db(), policy, { audit: batchedStore })
    const closed = await toolsetFor(db(), policy, {
      audit: new PostgresAuditStore({ db: db().app, durability: 'per-call' }),
    })
    const open = await toolsetFor(db(), policy, {
      audit: new PostgresAuditStore({ db: db().app, durability: 'per-call' }),
      auditFailure: 'open',
      logger: logs.logger,
    })
    await sql`alter table tessera_audit rename to tessera_audit_away`.execute(db().admin)
    try {
      const before = await rowJson(db(), 'orders', ORDER_A1)
      for (const t of [closed, open]) {
        const write = await errorOf(
          t.toolset.update(as(ALICE), { model: 'Order', id: ORDER_A1, data: { status: 'lost' } }),
        )
        expect(write.code).toBe('INTERNAL_ERROR')
      }
      expect(await rowJson(db(), 'orders', ORDER_A1)).toBe(before)
      expect((await errorOf(closed.toolset.get(as(ALICE), { model: 'Order', id: ORDER_A1 }))).code).toBe(
        'INTERNAL_ERROR',
      )
      // Batched durability: the read answered before its flush; from the failed flush on, reads fail closed.
      await batched.toolset.get(as(ALICE, 'accepted'), { model: 'Order', id: ORDER_A1 })
      await expect(batchedStore.flush()).rejects.toThrow()
      expect((await errorOf(batched.toolset.get(as(ALICE), { model: 'Order', id: ORDER_A1 }))).code).toBe(
        'INTERNAL_ERROR',
      )
      const answered = await open.toolset.get(as(ALICE, 'open-read'), { model: 'Order', id: ORDER_A1 })
      expect(answered.row?.['id']).toBe(ORDER_A1)
      expect(logs.parsed()).toContainEqual(
        expect.objectContaining({
          level: 50,
          requestId: 'open-read',
          msg: expect.stringContaining('audit append failed'),
        }),
      )
    } finally {
      await sql`alter table tessera_audit_away rename to tessera_audit`.execute(db().admin)
    }
    // Back: the kept record is stored by the retry, and reads are answered again.
    await batchedStore.flush()
    await batched.toolset.get(as(ALICE, 'after'), { model: 'Order', id: ORDER_A1 })
    await batchedStore.close()
    const requests = (await reader.query({ tool: 'db_get' })).map((r) => r.requestId)
    expect(requests).toEqual(expect.arrayContaining(['accepted', 'after']))
  })

  it('never stores or logs a secret: filter operands on denied fields, secret-looking keys, denied write data', async () => {
    const logs = captureLogs()
    const memory = new MemoryAuditStore()
    const postgres = new PostgresAuditStore({ db: db().app })
    const stores = [memory, postgres]
    for (const audit of stores) {
      const h = await toolsetFor(db(), policy, { audit, logger: logs.logger })
      const probe = await h.toolset.call(as(ALICE, 'probe'), 'db_query', {
        model: 'User',
        where: { field: 'password_hash', op: 'eq', value: 'hunter2' },
      })
      expect(probe).toMatchObject({ ok: false, error: { code: 'FIELD_NOT_ALLOWED' } })
      const leak = await h.toolset.call(as(ALICE, 'leak'), 'db_update', {
        model: 'User',
        id: USER_ALICE,
        data: { name: 'Alice', api_token: 'tok_leak_123' },
        reason: 'rotate',
      })
      expect(leak.ok).toBe(false)
      await h.toolset.call(as(ALICE, 'pw'), 'db_query', {
        model: 'User',
        password: 'correct horse',
        limit: 1,
      })
    }
    await postgres.flush()
    const stored = [
      JSON.stringify(memory.all()),
      (await sql<{ body: string }>`select body from tessera_audit`.execute(db().admin)).rows
        .map((r) => r.body)
        .join('\n'),
      logs.lines.join(''),
    ].join('\n')
    for (const secret of ['hunter2', 'tok_leak_123', 'correct horse']) expect(stored).not.toContain(secret)
    const probe = memory.all().find((r) => r.requestId === 'probe')
    // The normalised request (issue 9, item 9): the condition in its parsed form, operand still redacted.
    expect(probe?.inputs).toEqual({
      model: 'User',
      where: { kind: 'cmp', field: 'password_hash', op: 'eq', value: REDACTED },
    })
    const leak = memory.all().find((r) => r.requestId === 'leak')
    expect(leak?.inputs).toMatchObject({ data: { name: 'Alice', api_token: REDACTED }, reason: 'rotate' })
  })

  it('logs the SQLSTATE of a failed audit INSERT, never the database message that quotes the value', async () => {
    // An operator's check that casts: PostgreSQL's class 22 message quotes the value it could not cast.
    const secret = 'secret-4111-1111-1111-1111'
    await sql`alter table tessera_audit add constraint tessera_audit_numeric_users
      check (case when user_id like 'secret-%' then user_id::int > 0 else true end)`.execute(db().admin)
    try {
      const logs = captureLogs()
      const h = await toolsetFor(db(), policy, {
        audit: new PostgresAuditStore({ db: db().app, durability: 'per-call' }),
        logger: logs.logger,
      })
      const who = as({ ...ALICE, userId: secret })
      const before = await rowJson(db(), 'orders', ORDER_A1)
      const write = await errorOf(
        h.toolset.update(who, { model: 'Order', id: ORDER_A1, data: { status: 'unrecorded' } }),
      )
      expect(write.code).toBe('INTERNAL_ERROR')
      expect(await rowJson(db(), 'orders', ORDER_A1)).toBe(before)
      expect((await errorOf(h.toolset.get(who, { model: 'Order', id: ORDER_A1 }))).code).toBe(
        'INTERNAL_ERROR',
      )
      const failures = logs.parsed().filter((l) => String(l['msg']).startsWith('audit '))
      // Which lines there are depends on the dialect (on Tessera's the INSERT rides with the COMMIT, and the
      // write fails as a held statement); every one of them says 22P02 without the value.
      expect(failures.length).toBeGreaterThanOrEqual(2)
      expect(logs.lines.join('\n')).toContain('22P02')
      for (const line of failures) expect(line).toMatchObject({ sqlState: '22P02' })
      expect(logs.lines.join('\n')).not.toContain(secret)
      expect(logs.lines.join('\n')).not.toMatch(/invalid input syntax/)
    } finally {
      await sql`alter table tessera_audit drop constraint tessera_audit_numeric_users`.execute(db().admin)
    }
  })

  it('logs one structured line per call from a child logger bound to the request', async () => {
    const logs = captureLogs()
    const h = await toolsetFor(db(), policy, { logger: logs.logger })
    await h.toolset.get(as(ALICE, 'log-1'), { model: 'Order', id: ORDER_A1 })
    await h.toolset.call(as(ALICE, 'log-2'), 'db_get', { model: 'Nope', id: ORDER_A1 })
    const calls = logs.parsed().filter((l) => l['msg'] === 'tool call' || l['msg'] === 'tool call failed')
    expect(calls).toEqual([
      expect.objectContaining({
        name: 'tessera',
        requestId: 'log-1',
        tool: 'db_get',
        tenantId: ALICE.tenantId,
        outcome: 'success',
        rowCount: 1,
        durationMs: expect.any(Number),
      }),
      expect.objectContaining({ requestId: 'log-2', outcome: 'denied', errorCode: 'MODEL_NOT_ALLOWED' }),
    ])
    for (const line of calls) expect(line).not.toHaveProperty('inputs')
  })
})
