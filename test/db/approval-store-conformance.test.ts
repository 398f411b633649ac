/**
 * One behaviour contract, run against every ApprovalStore: the in-memory store and the PostgreSQL store (on
 * PGlite and, when configured, PostgreSQL). A new store passes by adding one line at the bottom.
 */
import { beforeAll, describe, expect, it } from 'vitest'
import {
  type ApprovalStore,
  MemoryApprovalStore,
  PostgresApprovalStore,
  approvalTableSql,
  ensureApprovalTable,
  type PendingApproval,
} from '../../src/stores/approval-store.ts'
import { describeEachDatabase } from '../support/databases.ts'

const HASH = 'a'.repeat(64)
const OTHER_HASH = 'b'.repeat(64)

function pending(overrides: Partial<PendingApproval> = {}): PendingApproval {
  return {
    tenantId: 'tenant-a',
    userId: 'user-1',
    tool: 'db_update',
    model: 'Order',
    payloadHash: HASH,
    args: {
      kind: 'update',
      model: 'Order',
      id: 'o-1',
      data: { status: 'paid', note: "'); DROP TABLE x; --" },
    },
    expiresAt: new Date(Date.now() + 60_000),
    ...overrides,
  }
}

export function approvalStoreConformance(name: string, factory: () => ApprovalStore): void {
  describe(`ApprovalStore conformance: ${name}`, () => {
    it('creates a pending approval that get returns unchanged', async () => {
      const store = factory()
      const a = await store.create(pending())
      expect(a).toMatchObject({
        status: 'pending',
        tenantId: 'tenant-a',
        userId: 'user-1',
        tool: 'db_update',
        model: 'Order',
        payloadHash: HASH,
        decidedBy: null,
        decidedAt: null,
        usedAt: null,
      })
      expect(a.id).toMatch(/^[0-9a-f-]{36}$/)
      expect(Date.parse(a.expiresAt)).toBeGreaterThan(Date.now())
      expect(await store.get(a.id)).toEqual(a)
      expect(a.args).toEqual(pending().args)
    })

    it('returns null for an id it does not know, however it is written', async () => {
      const store = factory()
      for (const id of [
        '00000000-0000-4000-8000-000000000000',
        'not-a-uuid',
        "'; drop table tessera_approvals; --",
      ]) {
        expect(await store.get(id)).toBeNull()
        expect(await store.approve(id, 'boss')).toBeNull()
        expect(await store.reject(id, 'boss')).toBeNull()
        expect(await store.consume(id, HASH)).toBe('missing')
      }
    })

    it('consumes an approved approval exactly once', async () => {
      const store = factory()
      const a = await store.create(pending())
      const approved = await store.approve(a.id, 'boss')
      expect(approved).toMatchObject({ id: a.id, status: 'approved', decidedBy: 'boss' })
      expect(approved?.decidedAt).not.toBeNull()
      expect(await store.consume(a.id, HASH)).toBe('ok')
      expect(await store.consume(a.id, HASH)).toBe('used')
      expect((await store.get(a.id))?.usedAt).not.toBeNull()
    })

    it('lets only one of many concurrent consumers through', async () => {
      const store = factory()
      const a = await store.create(pending())
      await store.approve(a.id, 'boss')
      const results = await Promise.all(Array.from({ length: 8 }, () => store.consume(a.id, HASH)))
      expect(results.filter((r) => r === 'ok')).toHaveLength(1)
      expect(results.filter((r) => r === 'used')).toHaveLength(7)
    })

    it('refuses a payload other than the approved one, without consuming the approval', async () => {
      const store = factory()
      const a = await store.create(pending())
      await store.approve(a.id, 'boss')
      expect(await store.consume(a.id, OTHER_HASH)).toBe('mismatch')
      expect(await store.consume(a.id, HASH)).toBe('ok')
    })

    it('reports a pending approval as pending and a rejected one as rejected, never ok', async () => {
      const store = factory()
      const a = await store.create(pending())
      expect(await store.consume(a.id, HASH)).toBe('pending')
      const rejected = await store.reject(a.id, 'boss')
      expect(rejected).toMatchObject({ status: 'rejected', decidedBy: 'boss' })
      expect(await store.consume(a.id, HASH)).toBe('rejected')
      expect(await store.approve(a.id, 'boss')).toBeNull()
      expect(await store.consume(a.id, HASH)).toBe('rejected')
    })

    it('neither approves nor consumes an expired approval', async () => {
      const store = factory()
      const lapsed = await store.create(pending({ expiresAt: new Date(Date.now() - 1_000) }))
      expect(await store.approve(lapsed.id, 'boss')).toBeNull()
      expect(await store.consume(lapsed.id, HASH)).toBe('expired')
      const soon = await store.create(pending({ expiresAt: new Date(Date.now() + 300) }))
      await store.approve(soon.id, 'boss')
      await new Promise((resolve) => setTimeout(resolve, 400))
      expect(await store.consume(soon.id, HASH)).toBe('expired')
    })

    it('decides an approval once: a second approve or reject changes nothing', async () => {
      const store = factory()
      const a = await store.create(pending())
      await store.approve(a.id, 'boss')
      expect(await store.reject(a.id, 'other')).toBeNull()
      expect(await store.approve(a.id, 'other')).toBeNull()
      expect(await store.get(a.id)).toMatchObject({ status: 'approved', decidedBy: 'boss' })
    })

    it('lists approvals newest first, filtered by status and tenant', async () => {
      const store = factory()
      const tenantId = `tenant-list-${Math.random().toString(36).slice(2)}`
      const older = await store.create(pending({ tenantId }))
      await new Promise((r) => setTimeout(r, 5))
      const newer = await store.create(pending({ tenantId, payloadHash: OTHER_HASH }))
      await store.create(pending({ tenantId: `${tenantId}-other` }))
      await store.approve(older.id, 'boss')
      expect((await store.list({ tenantId })).map((a) => a.id)).toEqual([newer.id, older.id])
      expect((await store.list({ tenantId, status: 'pending' })).map((a) => a.id)).toEqual([newer.id])
      expect((await store.list({ tenantId, status: 'approved' })).map((a) => a.id)).toEqual([older.id])
      expect(await store.list({ tenantId, limit: 1 })).toHaveLength(1)
    })

    it('stores a null user id', async () => {
      const store = factory()
      const a = await store.create(pending({ userId: null }))
      expect((await store.get(a.id))?.userId).toBeNull()
    })
  })
}

approvalStoreConformance('memory', () => new MemoryApprovalStore())

describeEachDatabase('PostgresApprovalStore', (db) => {
  beforeAll(async () => {
    await ensureApprovalTable(db().admin)
  })

  it('creates its table idempotently from constant DDL', async () => {
    await ensureApprovalTable(db().admin)
    expect(approvalTableSql).toMatch(/^create table if not exists tessera_approvals/)
    expect(approvalTableSql).not.toMatch(/\$\d/)
  })

  approvalStoreConformance('postgres', () => new PostgresApprovalStore(db().admin))
})
