/**
 * The AuditStore contract (test/support/audit-store-conformance.ts) run against every store: in memory, JSONL,
 * and PostgreSQL on PGlite and (when configured) PostgreSQL 15. Plus what only one store has.
 */
import { generateKeyPairSync } from 'node:crypto'
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import {
  type AuditChainOptions,
  auditTableSql,
  type AuditSigningOptions,
  type ChainedRecord,
  ensureAuditTables,
  JsonlAuditStore,
  MemoryAuditStore,
  PostgresAuditStore,
} from '../../src/stores/index.ts'
import { auditDraft, auditStoreConformance, readJsonlEntries } from '../support/audit-store-conformance.ts'
import { describeEachDatabase } from '../support/databases.ts'

function line(e: ChainedRecord): string {
  return `${JSON.stringify({ chain: e.chain, seq: e.seq, record: e.record, signature: e.signature })}\n`
}

auditStoreConformance('memory', async (signing?: AuditSigningOptions & AuditChainOptions) => {
  const store = new MemoryAuditStore({ ...signing })
  return {
    store,
    async rewrite(edit) {
      store.tamperForTesting((entries) => edit(entries))
    },
  }
})

let dir = ''
let files = 0
const opened: JsonlAuditStore[] = []
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tessera-audit-'))
})
afterAll(async () => {
  for (const store of opened) await store.close()
  await rm(dir, { recursive: true, force: true })
})

auditStoreConformance('jsonl', async (signing?: AuditSigningOptions & AuditChainOptions) => {
  const path = join(dir, `audit-${++files}.jsonl`)
  const store = new JsonlAuditStore({ path, ...signing })
  opened.push(store)
  return {
    store,
    async rewrite(edit) {
      const { entries, other } = await readJsonlEntries(path)
      await store.close()
      await writeFile(path, other.map((l) => `${l}\n`).join('') + edit(entries).map(line).join(''))
    },
  }
})

describe('MemoryAuditStore', () => {
  it('forgets the cuts of chains that ended with no record kept, so new tenants do not grow it without bound', async () => {
    const store = new MemoryAuditStore({ capacity: 4, maxOpenChains: 8 })
    for (let i = 0; i < 3000; i++) await store.record(auditDraft({ tenantId: `t${i}`, requestId: `r${i}` }))
    expect(await store.verify()).toMatchObject({ ok: true, records: 4, breaks: [] })
    // Without pruning it would hold ~3,000 (one per chain whose records were dropped).
    expect(store.cutCount).toBeLessThanOrEqual(1025)
  })

  it('keeps the cut of a chain still open with no record kept: its next record links to it', async () => {
    const store = new MemoryAuditStore({ capacity: 1 })
    await store.append(auditDraft({ tenantId: 'first', requestId: 'first-1' }))
    for (let i = 0; i < 1500; i++) await store.append(auditDraft({ tenantId: `t${i}`, requestId: `r${i}` }))
    await store.append(auditDraft({ tenantId: 'first', requestId: 'first-2' }))
    const report = await store.verify()
    expect(report).toMatchObject({ ok: true, records: 1, breaks: [] })
    expect(report.heads).toEqual([expect.objectContaining({ seq: 2 })])
  })
})

describe('JsonlAuditStore', () => {
  it('rotates at maxBytes and still queries and verifies across the rotated files', async () => {
    const sub = await mkdtemp(join(dir, 'rotate-'))
    const path = join(sub, 'audit.jsonl')
    const store = new JsonlAuditStore({ path, maxBytes: 4096, fsync: 'never' })
    for (let i = 0; i < 30; i++) await store.append(auditDraft({ requestId: `r${i}` }))
    expect((await readdir(sub)).length).toBeGreaterThan(2)
    expect(await store.count()).toBe(30)
    expect((await store.query({ limit: 1 }))[0]?.requestId).toBe('r29')
    expect(await store.verify()).toMatchObject({ ok: true, records: 30 })
    expect(await store.deleteBefore(new Date(Date.now() + 1000))).toMatchObject({ deleted: 30 })
    expect(await readdir(sub)).toEqual(['audit.jsonl'])
    await store.append(auditDraft({ requestId: 'after' }))
    expect(await store.verify()).toMatchObject({ ok: true, records: 1 })
    await store.close()
  })

  it('keeps every rotated file when several rotations fall in the same millisecond', async () => {
    const sub = await mkdtemp(join(dir, 'rotate-same-ms-'))
    const path = join(sub, 'audit.jsonl')
    // Every line exceeds maxBytes, so each append rotates; the clock stands still, as on a fast machine.
    const store = new JsonlAuditStore({ path, maxBytes: 1024, fsync: 'never' })
    const other = new JsonlAuditStore({ path, maxBytes: 1024, fsync: 'never' })
    const inputs = { model: 'Order', pad: 'x'.repeat(1100) }
    vi.useFakeTimers({ toFake: ['Date'], now: new Date('2026-06-01T00:00:00.000Z') })
    try {
      for (let i = 0; i < 5; i++) {
        await store.append(auditDraft({ requestId: `s${i}`, inputs }))
        await other.append(auditDraft({ requestId: `o${i}`, inputs }))
      }
    } finally {
      vi.useRealTimers()
    }
    const names = await readdir(sub)
    expect(names).toHaveLength(10)
    expect(new Set(names).size).toBe(10)
    expect(await store.count()).toBe(10)
    // Names sort in rotation order (one process here), so the rotated files are read oldest first.
    const order = await Promise.all(
      [...names]
        .sort()
        .map(async (n) => /"requestId":"(\w+)"/.exec(await readFile(join(sub, n), 'utf8'))?.[1]),
    )
    expect(order).toEqual(['s0', 'o0', 's1', 'o1', 's2', 'o2', 's3', 'o3', 's4', 'o4'])
    expect(await store.verify()).toMatchObject({ ok: true, records: 10 })
    await Promise.all([store.close(), other.close()])
  })

  it('reports a line that is not a record as unreadable, and a reader with the public key checks signatures', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('ed25519')
    const path = join(dir, 'signed.jsonl')
    const writer = new JsonlAuditStore({ path, signingKey: privateKey })
    for (let i = 0; i < 3; i++) await writer.append(auditDraft())
    await writer.close()
    const reader = new JsonlAuditStore({ path, verifyKey: publicKey })
    expect(await reader.verify()).toMatchObject({ ok: true, records: 3, signaturesChecked: true })
    await writeFile(path, '{"chain":"x:+tenant-a","seq":1,"record":"garbage"}\n', { flag: 'a' })
    expect((await reader.verify()).breaks).toEqual([
      expect.objectContaining({ chain: 'x:+tenant-a', seq: 1, reason: 'unreadable' }),
    ])
    await reader.close()
  })

  it('refuses to start without a path', () => {
    expect(() => new JsonlAuditStore({ path: '' })).toThrow(/file path/)
  })
})

describeEachDatabase('PostgresAuditStore', (db) => {
  beforeAll(async () => {
    await ensureAuditTables(db().admin)
  })

  it('creates its tables idempotently from constant DDL', async () => {
    await ensureAuditTables(db().admin)
    expect(auditTableSql).toMatch(/^create table if not exists tessera_audit/)
    expect(auditTableSql).not.toMatch(/\$\d/)
  })

  async function rewriteStored(edit: (entries: ChainedRecord[]) => ChainedRecord[]): Promise<void> {
    const admin = db().admin
    const rows = await sql<{ chain: string; seq: string; body: string; signature: string | null }>`
      select chain, seq, body, signature from tessera_audit order by chain, seq`.execute(admin)
    const entries = rows.rows.map((r) => ({
      chain: r.chain,
      seq: Number(r.seq),
      record: JSON.parse(r.body),
      signature: r.signature,
    }))
    await sql`delete from tessera_audit`.execute(admin)
    for (const e of edit(entries)) {
      const r = e.record
      await sql`insert into tessera_audit (chain, seq, id, ts, tenant_id, user_id, tool, model, outcome, body, signature)
        values (${e.chain}, ${e.seq}, ${r.id}, ${r.timestamp}, ${r.tenantId}, ${r.userId}, ${r.tool}, ${r.model},
          ${r.outcome}, ${JSON.stringify(r)}, ${e.signature})`.execute(admin)
    }
  }

  for (const durability of ['batched', 'per-call'] as const) {
    auditStoreConformance(
      `postgres ${durability}`,
      async (signing?: AuditSigningOptions & AuditChainOptions) => {
        await sql`truncate tessera_audit, tessera_audit_cuts`.execute(db().admin)
        const store = new PostgresAuditStore({ db: db().admin, durability, ...signing })
        return { store, rewrite: rewriteStored }
      },
    )
  }

  const stored = async () =>
    (await sql<{ n: number }>`select count(*)::int as n from tessera_audit`.execute(db().admin)).rows[0]?.n

  it('batched: answers record() before storing, then stores in one flush; close() stores the rest and refuses more', async () => {
    await sql`truncate tessera_audit, tessera_audit_cuts`.execute(db().admin)
    const store = new PostgresAuditStore({ db: db().admin, flushIntervalMs: 60_000 })
    for (let i = 0; i < 3; i++) await store.record(auditDraft({ requestId: `b${i}` }))
    expect(store.pending).toBe(3)
    expect(await stored()).toBe(0)
    await store.record(auditDraft({ requestId: 'b3', tenantId: 'tenant-b' }))
    await store.close()
    expect(store.pending).toBe(0)
    expect(await stored()).toBe(4)
    await expect(store.record(auditDraft())).rejects.toThrow(/closed/)
    expect(await store.verify()).toMatchObject({ ok: true, records: 4, chains: 2, breaks: [] })
    expect((await store.query({ tenantId: 'tenant-a' })).map((r) => r.requestId)).toEqual(['b2', 'b1', 'b0'])
  })

  it('batched: flushes by itself within the interval, and waits for a flush beyond maxPending', async () => {
    await sql`truncate tessera_audit, tessera_audit_cuts`.execute(db().admin)
    const timed = new PostgresAuditStore({ db: db().admin, flushIntervalMs: 5 })
    await timed.record(auditDraft())
    for (let i = 0; i < 200 && (await stored()) === 0; i++) await new Promise((r) => setTimeout(r, 10))
    expect(await stored()).toBe(1)
    const bounded = new PostgresAuditStore({ db: db().admin, flushIntervalMs: 60_000, maxPending: 2 })
    await bounded.record(auditDraft())
    expect(bounded.pending).toBe(1)
    await bounded.record(auditDraft())
    expect(bounded.pending).toBe(0)
    expect(await stored()).toBe(3)
  })

  it('batched: a failed INSERT keeps its records and refuses new ones until a retry stores them', async () => {
    const admin = db().admin
    await sql`truncate tessera_audit, tessera_audit_cuts`.execute(admin)
    const store = new PostgresAuditStore({ db: admin, flushIntervalMs: 60_000 })
    await store.record(auditDraft({ requestId: 'kept-1' }))
    await sql`alter table tessera_audit rename to tessera_audit_away`.execute(admin)
    try {
      await expect(store.flush()).rejects.toThrow(/cannot store/)
      await expect(store.record(auditDraft({ requestId: 'refused' }))).rejects.toThrow(/cannot store/)
      expect(store.pending).toBe(1)
    } finally {
      await sql`alter table tessera_audit_away rename to tessera_audit`.execute(admin)
    }
    await store.flush()
    await store.record(auditDraft({ requestId: 'kept-2' }))
    expect((await store.query()).map((r) => r.requestId)).toEqual(['kept-2', 'kept-1'])
    expect(await store.verify()).toMatchObject({ ok: true, records: 2, breaks: [] })
  })

  it('batched: a record waits for its chain while a staged write holds it, and the chain follows what committed', async () => {
    const admin = db().admin
    await sql`truncate tessera_audit, tessera_audit_cuts`.execute(admin)
    const store = new PostgresAuditStore({ db: admin, flushIntervalMs: 0 })
    await expect(
      admin.transaction().execute(async (trx) => {
        const staged = await store.stage(auditDraft({ requestId: 'rolled-back' }), trx)
        await store.record(auditDraft({ requestId: 'read-meanwhile' }))
        await new Promise((r) => setTimeout(r, 20))
        expect(store.pending).toBe(1)
        await staged.abort()
        throw new Error('write failed')
      }),
    ).rejects.toThrow('write failed')
    await store.flush()
    const [only] = await store.query()
    expect(only).toMatchObject({ requestId: 'read-meanwhile', prevHash: null })
    expect(await store.verify()).toMatchObject({ ok: true, records: 1 })
  })

  it('reports an edit of an indexed column alone, which would misdirect queries', async () => {
    const admin = db().admin
    await sql`truncate tessera_audit, tessera_audit_cuts`.execute(admin)
    const store = new PostgresAuditStore({ db: admin })
    for (let i = 0; i < 3; i++) await store.append(auditDraft())
    await sql`update tessera_audit set tenant_id = 'tenant-z' where seq = 2`.execute(admin)
    expect((await store.verify()).breaks).toEqual([expect.objectContaining({ seq: 2, reason: 'edited' })])
  })

  it('never stores a second record at a position already taken (no fork): the tenant goes on in a new chain', async () => {
    const admin = db().admin
    await sql`truncate tessera_audit, tessera_audit_cuts`.execute(admin)
    const store = new PostgresAuditStore({ db: admin })
    const first = await store.append(auditDraft())
    const [row] = (
      await sql<{ chain: string }>`select chain from tessera_audit where id = ${first.id}`.execute(admin)
    ).rows
    // Another writer claims this chain's next position first.
    await sql`insert into tessera_audit (chain, seq, id, ts, tool, outcome, body)
      values (${row?.chain}, 2, 'intruder', now(), 'db_get', 'success', '{}')`.execute(admin)
    const moved = await store.append(auditDraft())
    const [movedRow] = (
      await sql<{
        chain: string
        seq: string
      }>`select chain, seq from tessera_audit where id = ${moved.id}`.execute(admin)
    ).rows
    expect(movedRow?.chain).not.toBe(row?.chain)
    expect(Number(movedRow?.seq)).toBe(1)
    await sql`delete from tessera_audit where id = 'intruder'`.execute(admin)
    await store.append(auditDraft())
    expect(await store.verify()).toMatchObject({ ok: true, records: 3, chains: 2 })
  })

  it('writes a staged record in the caller transaction: it disappears when that transaction rolls back', async () => {
    const admin = db().admin
    await sql`truncate tessera_audit, tessera_audit_cuts`.execute(admin)
    const store = new PostgresAuditStore({ db: admin })
    await expect(
      admin.transaction().execute(async (trx) => {
        const staged = await store.stage(auditDraft({ requestId: 'rolled-back' }), trx)
        expect(
          (await sql<{ n: number }>`select count(*)::int as n from tessera_audit`.execute(trx)).rows[0]?.n,
        ).toBe(1)
        await staged.abort()
        throw new Error('write failed')
      }),
    ).rejects.toThrow('write failed')
    await admin.transaction().execute(async (trx) => {
      const staged = await store.stage(auditDraft({ requestId: 'kept' }), trx)
      await staged.commit()
    })
    expect((await store.query()).map((r) => r.requestId)).toEqual(['kept'])
    expect(await store.verify()).toMatchObject({ ok: true, records: 1 })
  })
})
