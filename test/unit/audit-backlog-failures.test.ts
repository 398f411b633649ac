/**
 * How the batched audit backlog tells failures apart (audit-insert-failure.ts) and what it does with an attempt
 * whose answer was lost — cases a real database cannot be made to produce on demand.
 */
import { describe, expect, it, vi } from 'vitest'
import { AuditBacklog } from '../../src/stores/audit-backlog.ts'
import type { ChainedRecord } from '../../src/stores/audit-chain.ts'
import { classifyAuditInsertFailure } from '../../src/stores/audit-insert-failure.ts'
import type { AuditRecord, AuditRecordDraft } from '../../src/stores/audit-record.ts'
import { auditDraft } from '../support/audit-store-conformance.ts'

function pgError(code: string, constraint?: string): Error {
  return Object.assign(new Error(`sqlstate ${code}`), { code, ...(constraint ? { constraint } : {}) })
}

function backlogWith(insert: (entries: readonly ChainedRecord[]) => Promise<void>) {
  let seq = 0
  const logger = { error: vi.fn(), warn: vi.fn() }
  const backlog = new AuditBacklog(
    {
      isHeld: () => false,
      seal: (draft: AuditRecordDraft) =>
        ({
          chain: 'c',
          seq: ++seq,
          record: draft as unknown as AuditRecord,
          signature: null,
        }) as ChainedRecord,
      insert,
      probe: async () => {},
      logger,
    },
    { flushIntervalMs: 60_000, batchSize: 500, maxPending: 100, retryMs: 1, maxRetryMs: 1, maxRetries: 3 },
  )
  return { backlog, logger }
}

describe('audit INSERT failures', () => {
  it('tells a refused record from a database that cannot be reached and from one that takes no record', () => {
    expect(classifyAuditInsertFailure(pgError('23514'))).toBe('record')
    expect(classifyAuditInsertFailure(pgError('22021'))).toBe('record')
    expect(classifyAuditInsertFailure(pgError('42P01'))).toBe('store')
    expect(classifyAuditInsertFailure(pgError('42501'))).toBe('store')
    expect(classifyAuditInsertFailure(pgError('25006'))).toBe('store')
    expect(classifyAuditInsertFailure(pgError('57P01'))).toBe('transient')
    expect(classifyAuditInsertFailure(pgError('08006'))).toBe('transient')
    expect(classifyAuditInsertFailure(new Error('Connection terminated unexpectedly'))).toBe('transient')
    expect(classifyAuditInsertFailure(Object.assign(new Error('x'), { code: 'ECONNRESET' }))).toBe(
      'transient',
    )
  })

  it('counts records as stored when the retry of an attempt whose answer was lost finds their position taken', async () => {
    const attempts: number[] = []
    const { backlog, logger } = backlogWith(async (entries) => {
      attempts.push(entries.length)
      // The first attempt commits, then the connection drops before the answer; the retry meets its own rows.
      if (attempts.length === 1) throw new Error('Connection terminated unexpectedly')
      throw pgError('23505', 'tessera_audit_pkey')
    })
    for (let i = 0; i < 3; i++) await backlog.accept('c', auditDraft({ requestId: `r${i}` }))
    await expect(backlog.flush()).rejects.toThrow(/cannot store records/)
    await backlog.flush()
    expect(attempts).toEqual([3, 3])
    expect(backlog.pending).toBe(0)
    expect(backlog.lost).toBe(0)
    expect(logger.warn).toHaveBeenCalledWith({ records: 3 }, expect.stringMatching(/answer was lost/))
  })

  it('still refuses a record whose position another writer took, when no attempt of its own was lost', async () => {
    const { backlog } = backlogWith(async () => {
      throw pgError('23505', 'tessera_audit_pkey')
    })
    await backlog.accept('c', auditDraft())
    await expect(backlog.flush()).rejects.toThrow(/1 audit records were dropped/)
    expect(backlog.lost).toBe(1)
  })
})
