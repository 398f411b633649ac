/**
 * In-memory AuditStore: the default, and the reference the other stores' conformance tests compare against.
 *
 * It is meant for tests, demos, and as a fast front for a durable store — not as the record of a production
 * server: it keeps only the `capacity` most recent records (default 10,000) and drops the oldest beyond that,
 * so memory stays bounded however long the process runs. The hash chain still holds over what is kept: the
 * oldest kept record links to `anchor()`, the hash of the last dropped record, so
 * `verifyAuditChain(store.all(), store.anchor())` verifies the kept records.
 */
import { type AuditRecord, type AuditRecordDraft, GENESIS_HASH, sealAuditRecord } from './audit-record.ts'
import type { AuditQuery, AuditStore, StagedAudit } from './audit-store.ts'

export const DEFAULT_MEMORY_AUDIT_CAPACITY = 10_000

export interface MemoryAuditStoreOptions {
  /** Most recent records kept; older ones are dropped. A positive integer, or Infinity to keep every record. */
  readonly capacity?: number
}

export class MemoryAuditStore implements AuditStore {
  readonly #capacity: number
  /** A ring once full: the oldest kept record is at #start. */
  readonly #records: AuditRecord[] = []
  #start = 0
  /** Staged records are sealed in commit order so the hash chain follows what actually committed. */
  #lastHash: string | null = GENESIS_HASH
  /** The prevHash of the oldest kept record: the genesis until a record is dropped. */
  #anchor: string | null = GENESIS_HASH
  #failNext = 0

  constructor(options: MemoryAuditStoreOptions = {}) {
    const capacity = options.capacity ?? DEFAULT_MEMORY_AUDIT_CAPACITY
    if (capacity !== Number.POSITIVE_INFINITY && (!Number.isSafeInteger(capacity) || capacity <= 0)) {
      throw new RangeError('capacity must be a positive integer or Infinity')
    }
    this.#capacity = capacity
  }

  async stage(draft: AuditRecordDraft): Promise<StagedAudit> {
    this.#checkAvailable()
    let committed: AuditRecord | undefined
    let aborted = false
    return {
      commit: async () => {
        if (aborted) throw new Error('audit record was aborted')
        if (committed) return committed
        committed = this.#keep(draft)
        return committed
      },
      abort: async () => {
        aborted = committed === undefined
      },
    }
  }

  /** stage + commit in one step (same checks, same record). */
  async append(draft: AuditRecordDraft): Promise<AuditRecord> {
    this.#checkAvailable()
    return this.#keep(draft)
  }

  async query(filter: AuditQuery = {}): Promise<AuditRecord[]> {
    const from = filter.from === undefined ? undefined : new Date(filter.from).toISOString()
    const to = filter.to === undefined ? undefined : new Date(filter.to).toISOString()
    const matches = this.all().filter(
      (r) =>
        (filter.tenantId === undefined || r.tenantId === filter.tenantId) &&
        (filter.userId === undefined || r.userId === filter.userId) &&
        (filter.tool === undefined || r.tool === filter.tool) &&
        (filter.model === undefined || r.model === filter.model) &&
        (filter.outcome === undefined || r.outcome === filter.outcome) &&
        (from === undefined || r.timestamp >= from) &&
        (to === undefined || r.timestamp <= to),
    )
    const offset = filter.offset ?? 0
    return matches.slice(offset, offset + (filter.limit ?? 1000))
  }

  /** Test hook: makes the next `n` stage/append calls fail, to prove writes fail closed without an audit. */
  failNext(n = 1): void {
    this.#failNext = n
  }

  /** Every kept record, oldest first (for chain verification, with anchor()). */
  all(): readonly AuditRecord[] {
    const records = this.#records
    if (this.#start === 0) return [...records]
    return [...records.slice(this.#start), ...records.slice(0, this.#start)]
  }

  /** The hash the oldest kept record links to: null (the genesis) until the store has dropped a record. */
  anchor(): string | null {
    return this.#anchor
  }

  /** Most records kept at once. */
  get capacity(): number {
    return this.#capacity
  }

  #checkAvailable(): void {
    if (this.#failNext > 0) {
      this.#failNext -= 1
      throw new Error('audit store unavailable')
    }
  }

  /** Seals `draft` onto the chain and keeps it, dropping the oldest record when full. */
  #keep(draft: AuditRecordDraft): AuditRecord {
    const record = sealAuditRecord(draft, this.#lastHash)
    this.#lastHash = record.hash
    const records = this.#records
    if (records.length < this.#capacity) {
      records.push(record)
    } else {
      const oldest = records[this.#start] as AuditRecord
      this.#anchor = oldest.hash
      records[this.#start] = record
      this.#start = (this.#start + 1) % records.length
    }
    return record
  }
}
