/**
 * Where audit records go. A write and its audit record must commit together or not at all, so appending is two
 * steps: `stage` (inside the write's transaction; a store in the same database inserts through `trx`, the
 * StoreTransaction the toolset hands it) and then
 * `commit` or `abort` on the returned handle once the transaction's fate is known.
 *
 * Every store keeps one hash chain per (writer segment, tenant): a segment is one store instance (one process),
 * so processes never contend for a chain head and a write of tenant A never waits for a write of tenant B (see
 * audit-chain.ts). Every store passes one conformance suite (test/db/audit-store-conformance.test.ts).
 */
import type { AuditOutcome, AuditRecord, AuditRecordDraft } from './audit-record.ts'
import type { StoreTransaction } from './store-transaction.ts'
import type { AuditVerification } from './audit-chain.ts'

export interface AuditQuery {
  readonly tenantId?: string
  readonly userId?: string
  readonly tool?: string
  readonly model?: string
  readonly outcome?: AuditOutcome
  /** Inclusive bounds on the record's timestamp. */
  readonly from?: Date | string
  readonly to?: Date | string
  /** Default 1,000; at most AUDIT_QUERY_MAX_LIMIT (10,000). */
  readonly limit?: number
  readonly offset?: number
}

/** The filters of a query without paging, for `count`. */
export type AuditFilter = Omit<AuditQuery, 'limit' | 'offset'>

export interface StagedAudit {
  /** Makes the record durable and visible; returns it as stored (sealed into the chain). */
  commit(): Promise<AuditRecord>
  /**
   * Optional: `commit` without handing the record back, as `record` is to `append`. When it resolves the record
   * is accepted exactly as `commit` would have accepted it (same order in the chain; it rejects when `commit`
   * would), but the store may seal it — id, hash, chain link — later, always before anything reads the store.
   * A handle takes `commit` or `accept`, not both. The toolset uses it when present for a write's record.
   */
  accept?(): Promise<void>
  abort(): Promise<void>
}

/**
 * A store's promise that the record of one write will be accepted: everything that could make `stage` throw was
 * checked when it was given (AuditStore.reserve), and its `stage` needs no transaction and cannot throw. A write
 * holding one may commit before its record is staged (docs/decisions.md, "A write that decides itself commits
 * with its statement"); `commit` on the staged record may still fail, exactly as after any write's commit.
 */
export interface AuditReservation {
  stage(draft: AuditRecordDraft): StagedAudit
}

export interface RetentionResult {
  /** Records deleted. */
  readonly deleted: number
  /** Where the deleted records were archived (JSONL, one stored line per record), when asked. */
  readonly archivedTo: string | null
}

export interface RetentionOptions {
  /** Append the deleted records to this JSONL file before deleting them (created if missing). */
  readonly archive?: string
}

export interface AuditStore {
  /** Seals and holds a record; nothing is visible to `query` until `commit`. Throws if the store cannot accept it. */
  stage(draft: AuditRecordDraft, trx?: StoreTransaction): Promise<StagedAudit>
  /**
   * Optional, for a store whose `stage` needs no transaction: checks now whatever could make `stage` refuse and
   * returns a reservation whose `stage` cannot (see AuditReservation). Throws when `stage` would.
   */
  reserve?(): AuditReservation
  /** stage + commit, for calls that change nothing. */
  append(draft: AuditRecordDraft): Promise<AuditRecord>
  /**
   * Optional: `append` without handing the record back. When it resolves the record is accepted exactly as
   * `append` would have accepted it (same order in the chain; it rejects when `append` would), but the store
   * may compute the record's id, hash and chain link later — always before anything reads the store. The
   * toolset uses it when present for calls that change nothing.
   */
  record?(draft: AuditRecordDraft): Promise<void>
  /** Matching records, newest first. Throws VALIDATION_ERROR for a malformed filter. */
  query(filter?: AuditQuery): Promise<AuditRecord[]>
  /** How many records match (no paging). */
  count(filter?: AuditFilter): Promise<number>
  /**
   * Deletes every record older than `before` (each chain keeps a contiguous newest part) and records where
   * each chain was cut, so `verify()` still passes on what remains.
   */
  deleteBefore(before: Date | string, options?: RetentionOptions): Promise<RetentionResult>
  /** Walks every chain and reports the first broken link of each (see AuditVerification). */
  verify(): Promise<AuditVerification>
}
