/**
 * Where audit records go. A write and its audit record must commit together or not at all, so appending is two
 * steps: `stage` (inside the write's transaction; a store in the same database inserts through `trx`, the
 * StoreTransaction the toolset hands it) and then
 * `commit` or `abort` on the returned handle once the transaction's fate is known.
 */
import type { AuditOutcome, AuditRecord, AuditRecordDraft } from './audit-record.ts'
import type { StoreTransaction } from './store-transaction.ts'

export interface AuditQuery {
  readonly tenantId?: string
  readonly userId?: string
  readonly tool?: string
  readonly model?: string
  readonly outcome?: AuditOutcome
  readonly from?: Date | string
  readonly to?: Date | string
  readonly limit?: number
  readonly offset?: number
}

export interface StagedAudit {
  /** Makes the record durable and visible; returns it as stored (sealed into the chain). */
  commit(): Promise<AuditRecord>
  abort(): Promise<void>
}

export interface AuditStore {
  /** Seals and holds a record; nothing is visible to `query` until `commit`. Throws if the store cannot accept it. */
  stage(draft: AuditRecordDraft, trx?: StoreTransaction): Promise<StagedAudit>
  /** stage + commit, for calls that change nothing. */
  append(draft: AuditRecordDraft): Promise<AuditRecord>
  /**
   * Optional: `append` without handing the record back. When it resolves the record is accepted exactly as
   * `append` would have accepted it (same order in the chain; it rejects when `append` would), but the store
   * may compute the record's id, hash and chain link later — always before anything reads the store. The
   * toolset uses it when present for calls that change nothing.
   */
  record?(draft: AuditRecordDraft): Promise<void>
  query(filter?: AuditQuery): Promise<AuditRecord[]>
}
