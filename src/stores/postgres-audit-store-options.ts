/**
 * The PostgreSQL audit store's options (postgres-audit-store.ts) and their defaults, checked when the store is
 * built: what the batched backlog (audit-backlog.ts) runs with, or null for per-call durability.
 */
import type { AnyDatabase } from '../schema/index.ts'
import type { AuditChainOptions, AuditSigningOptions } from './audit-chain.ts'
import type { BacklogOptions } from './audit-backlog.ts'
import type { AuditStoreLogger } from './audit-insert-failure.ts'

export interface PostgresAuditStoreOptions extends AuditSigningOptions, AuditChainOptions {
  /** A connection allowed to insert, select and (for retention) delete in the audit tables. */
  readonly db: AnyDatabase
  /**
   * Insert a write's record through the write's own transaction (default true). Set false when this store's
   * database is not the one the toolset writes to: the record is then inserted after the write commits.
   */
  readonly writesInCallTransaction?: boolean
  /**
   * When the record of a call that changes nothing (a read, a denial, an error) is stored. `'batched'`
   * (default): accepted at once and stored by a background flush within `flushIntervalMs`, several records per
   * INSERT — a clean `close()` stores every accepted record, a crash loses the ones not stored yet (see
   * audit-backlog.ts). `'per-call'`: the call waits until its record is inserted and committed. A write's
   * record always rides in the write's own transaction, whatever this says.
   */
  readonly durability?: AuditDurability
  /** Batched durability: longest a record waits before its flush starts (default 10 ms). */
  readonly flushIntervalMs?: number
  /**
   * Batched durability: most records waiting at once (default 10,000). The call that reaches it waits for a
   * flush; a call that finds the backlog full waits for that flush once, then is refused with an error.
   */
  readonly maxPending?: number
  /**
   * Batched durability: retries of an INSERT that failed for a reason other than its records (the connection,
   * a dropped table, a revoked grant) before its records are dropped and reported (default 8). The store
   * refuses new records from the first failure until an INSERT succeeds again.
   */
  readonly maxRetries?: number
  /** Batched durability: delay before the first retry (default 1,000 ms); it doubles up to 30 s. */
  readonly retryMs?: number
  /** Where failures to store records are reported (a pino logger, e.g. the toolset's); stderr without one. */
  readonly logger?: AuditStoreLogger
}

export type AuditDurability = 'per-call' | 'batched'

const DEFAULT_FLUSH_INTERVAL_MS = 10
const DEFAULT_MAX_PENDING = 10_000
const DEFAULT_RETRY_MS = 1_000
/** Longest wait between retries: an outage is noticed within this long of its end. */
const MAX_RETRY_MS = 30_000
const DEFAULT_MAX_RETRIES = 8

/**
 * The backlog's options from the store's, defaults filled in; null for per-call durability (no backlog). Throws
 * TypeError or RangeError for an option out of range, whichever durability is chosen.
 */
export function backlogOptionsOf(
  options: PostgresAuditStoreOptions,
  batchSize: number,
): BacklogOptions | null {
  const durability = options.durability ?? 'batched'
  if (durability !== 'batched' && durability !== 'per-call') {
    throw new TypeError("durability must be 'per-call' or 'batched'")
  }
  const flushIntervalMs = options.flushIntervalMs ?? DEFAULT_FLUSH_INTERVAL_MS
  const maxPending = options.maxPending ?? DEFAULT_MAX_PENDING
  if (!Number.isFinite(flushIntervalMs) || flushIntervalMs < 0) {
    throw new RangeError('flushIntervalMs must be a finite number ≥ 0')
  }
  if (!Number.isSafeInteger(maxPending) || maxPending <= 0) {
    throw new RangeError('maxPending must be a positive integer')
  }
  const maxRetries = options.maxRetries ?? DEFAULT_MAX_RETRIES
  const retryMs = options.retryMs ?? DEFAULT_RETRY_MS
  if (!Number.isSafeInteger(maxRetries) || maxRetries < 0) {
    throw new RangeError('maxRetries must be an integer ≥ 0')
  }
  if (!Number.isFinite(retryMs) || retryMs < 0) throw new RangeError('retryMs must be a finite number ≥ 0')
  if (durability === 'per-call') return null
  return {
    flushIntervalMs,
    maxPending,
    batchSize,
    retryMs,
    maxRetryMs: Math.max(retryMs, MAX_RETRY_MS),
    maxRetries,
  }
}
