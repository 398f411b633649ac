/**
 * The AuditStore contract (src/stores/audit-store.ts), written once: every implementation runs these cases
 * through auditStoreConformance(name, factory) — see store-conformance.ts for the template. Records must
 * verify as a chain (audit-record.ts), a staged record is invisible until committed and gone when aborted,
 * `record` (where a store offers it) accepts exactly what `append` accepts, and `query` filters as documented.
 */
import { expect } from 'vitest'
import {
  type AuditRecord,
  type AuditRecordDraft,
  type AuditStore,
  verifyAuditChain,
} from '../../src/stores/index.ts'
import { defineConformance } from './store-conformance.ts'

export function auditDraft(overrides: Partial<AuditRecordDraft> = {}): AuditRecordDraft {
  return {
    tool: 'db_get',
    model: 'Order',
    action: 'read',
    outcome: 'success',
    errorCode: null,
    tenantId: 'tenant-a',
    userId: 'user-1',
    roles: ['member'],
    requestId: 'req-1',
    traceId: null,
    inputs: { model: 'Order', id: 'o-1', where: { note: "'); DROP TABLE x; --" } },
    scopesInjected: ['Order.tenant_id = principal.tenantId'],
    rowPolicies: [],
    bypass: null,
    fieldsRedacted: [],
    rowCount: 1,
    affectedRows: null,
    durationMs: 0.25,
    reason: null,
    before: null,
    after: null,
    policyVersion: 'v1',
    ...overrides,
  }
}

/** The records of `requestIds` in the order the store returns them. */
async function byRequest(store: AuditStore, ...requestIds: string[]): Promise<AuditRecord[]> {
  const wanted = new Set(requestIds)
  return (await store.query({ limit: 1000 })).filter((r) => wanted.has(r.requestId))
}

/** The chain over everything `query` returns is intact where it links records the store returns in order. */
function expectLinked(records: readonly AuditRecord[]): void {
  for (let i = 1; i < records.length; i++) {
    expect((records[i] as AuditRecord).prevHash).toBe((records[i - 1] as AuditRecord).hash)
  }
  if (records.length > 0) expect(verifyAuditChain(records, (records[0] as AuditRecord).prevHash)).toBe(-1)
}

export const auditStoreConformance = defineConformance<AuditStore>('AuditStore', [
  {
    name: 'appends a sealed record that query returns unchanged',
    run: async (store) => {
      const appended = await store.append(auditDraft({ requestId: 'one' }))
      expect(appended).toMatchObject({ ...auditDraft({ requestId: 'one' }) })
      expect(appended.id).toMatch(/^[0-9a-f-]{36}$/)
      expect(appended.hash).toMatch(/^[0-9a-f]{64}$/)
      expect(Number.isNaN(Date.parse(appended.timestamp))).toBe(false)
      expect(await byRequest(store, 'one')).toEqual([appended])
    },
  },
  {
    name: 'chains every record to the one before it, so the chain verifies',
    run: async (store) => {
      const a = await store.append(auditDraft({ requestId: 'a' }))
      const b = await store.append(auditDraft({ requestId: 'b', outcome: 'denied', errorCode: 'NOT_FOUND' }))
      const c = await store.append(auditDraft({ requestId: 'c', before: { id: 'o-1' }, after: null }))
      expect(b.prevHash).toBe(a.hash)
      expect(c.prevHash).toBe(b.hash)
      expectLinked(await byRequest(store, 'a', 'b', 'c'))
    },
  },
  {
    name: 'shows a staged record only once it is committed, and never one that was aborted',
    run: async (store) => {
      const kept = await store.stage(auditDraft({ requestId: 'kept', action: 'update', tool: 'db_update' }))
      const dropped = await store.stage(
        auditDraft({ requestId: 'dropped', action: 'update', tool: 'db_update' }),
      )
      expect(await byRequest(store, 'kept', 'dropped')).toEqual([])
      await dropped.abort()
      const committed = await kept.commit()
      expect(committed.requestId).toBe('kept')
      expect(await byRequest(store, 'kept', 'dropped')).toEqual([committed])
    },
  },
  {
    name: 'links committed records in commit order, whatever order they were staged in',
    run: async (store) => {
      const first = await store.stage(auditDraft({ requestId: 'staged-first' }))
      const second = await store.stage(auditDraft({ requestId: 'staged-second' }))
      const s = await second.commit()
      const f = await first.commit()
      expect(f.prevHash).toBe(s.hash)
      expectLinked(await byRequest(store, 'staged-first', 'staged-second'))
    },
  },
  {
    name: 'accepts through record what append accepts, visible to the next query',
    run: async (store) => {
      if (store.record === undefined) return
      await store.record(auditDraft({ requestId: 'recorded' }))
      const appended = await store.append(auditDraft({ requestId: 'appended' }))
      const [recorded, after] = await byRequest(store, 'recorded', 'appended')
      expect(recorded).toMatchObject(auditDraft({ requestId: 'recorded' }))
      expect(after).toEqual(appended)
      expect(appended.prevHash).toBe(recorded?.hash)
    },
  },
  {
    name: 'filters by tenant, user, tool, model and outcome, and pages with limit and offset',
    run: async (store) => {
      await store.append(auditDraft({ requestId: 'q1', tenantId: 't1', tool: 'db_query', model: 'Order' }))
      await store.append(auditDraft({ requestId: 'q2', tenantId: 't1', userId: 'u2', model: 'Customer' }))
      await store.append(auditDraft({ requestId: 'q3', tenantId: 't2', outcome: 'error', errorCode: 'X' }))
      const ids = (records: AuditRecord[]) => records.map((r) => r.requestId)
      expect(ids(await store.query({ tenantId: 't1' }))).toEqual(['q1', 'q2'])
      expect(ids(await store.query({ userId: 'u2' }))).toEqual(['q2'])
      expect(ids(await store.query({ tool: 'db_query' }))).toEqual(['q1'])
      expect(ids(await store.query({ model: 'Customer' }))).toEqual(['q2'])
      expect(ids(await store.query({ outcome: 'error' }))).toEqual(['q3'])
      expect(ids(await store.query({ tenantId: 't1', limit: 1, offset: 1 }))).toEqual(['q2'])
    },
  },
])
