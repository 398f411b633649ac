/**
 * The ApprovalStore contract (src/stores/approval-store.ts), written once: every implementation runs these
 * cases through approvalStoreConformance(name, factory) — see store-conformance.ts for the template.
 */
import { expect } from 'vitest'
import type { ApprovalStore, PendingApproval } from '../../src/stores/index.ts'
import { defineConformance } from './store-conformance.ts'

export const HASH = 'a'.repeat(64)
const OTHER_HASH = 'b'.repeat(64)

export function pending(overrides: Partial<PendingApproval> = {}): PendingApproval {
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

export const approvalStoreConformance = defineConformance<ApprovalStore>('ApprovalStore', [
  {
    name: 'creates a pending approval that get returns unchanged',
    run: async (store) => {
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
    },
  },
  {
    name: 'returns null for an id it does not know, however it is written',
    run: async (store) => {
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
    },
  },
  {
    name: 'consumes an approved approval exactly once',
    run: async (store) => {
      const a = await store.create(pending())
      const approved = await store.approve(a.id, 'boss')
      expect(approved).toMatchObject({ id: a.id, status: 'approved', decidedBy: 'boss' })
      expect(approved?.decidedAt).not.toBeNull()
      expect(await store.consume(a.id, HASH)).toBe('ok')
      expect(await store.consume(a.id, HASH)).toBe('used')
      expect((await store.get(a.id))?.usedAt).not.toBeNull()
    },
  },
  {
    name: 'lets only one of many concurrent consumers through',
    run: async (store) => {
      const a = await store.create(pending())
      await store.approve(a.id, 'boss')
      const results = await Promise.all(Array.from({ length: 8 }, () => store.consume(a.id, HASH)))
      expect(results.filter((r) => r === 'ok')).toHaveLength(1)
      expect(results.filter((r) => r === 'used')).toHaveLength(7)
    },
  },
  {
    name: 'refuses a payload other than the approved one, without consuming the approval',
    run: async (store) => {
      const a = await store.create(pending())
      await store.approve(a.id, 'boss')
      expect(await store.consume(a.id, OTHER_HASH)).toBe('mismatch')
      expect(await store.consume(a.id, HASH)).toBe('ok')
    },
  },
  {
    name: 'reports a pending approval as pending and a rejected one as rejected, never ok',
    run: async (store) => {
      const a = await store.create(pending())
      expect(await store.consume(a.id, HASH)).toBe('pending')
      const rejected = await store.reject(a.id, 'boss')
      expect(rejected).toMatchObject({ status: 'rejected', decidedBy: 'boss' })
      expect(await store.consume(a.id, HASH)).toBe('rejected')
      expect(await store.approve(a.id, 'boss')).toBeNull()
      expect(await store.consume(a.id, HASH)).toBe('rejected')
    },
  },
  {
    name: 'neither approves nor consumes an expired approval',
    run: async (store) => {
      const lapsed = await store.create(pending({ expiresAt: new Date(Date.now() - 1_000) }))
      expect(await store.approve(lapsed.id, 'boss')).toBeNull()
      expect(await store.consume(lapsed.id, HASH)).toBe('expired')
      const soon = await store.create(pending({ expiresAt: new Date(Date.now() + 300) }))
      await store.approve(soon.id, 'boss')
      await new Promise((resolve) => setTimeout(resolve, 400))
      expect(await store.consume(soon.id, HASH)).toBe('expired')
    },
  },
  {
    name: 'decides an approval once: a second approve or reject changes nothing',
    run: async (store) => {
      const a = await store.create(pending())
      await store.approve(a.id, 'boss')
      expect(await store.reject(a.id, 'other')).toBeNull()
      expect(await store.approve(a.id, 'other')).toBeNull()
      expect(await store.get(a.id)).toMatchObject({ status: 'approved', decidedBy: 'boss' })
    },
  },
  {
    name: 'lists approvals newest first, filtered by status and tenant',
    run: async (store) => {
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
    },
  },
  {
    name: 'stores a null user id',
    run: async (store) => {
      const a = await store.create(pending({ userId: null }))
      expect((await store.get(a.id))?.userId).toBeNull()
    },
  },
])
