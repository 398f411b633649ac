/**
 * In-memory AuditStore: the default, and the reference the other stores' conformance tests compare against.
 *
 * It is meant for tests, demos, and as a fast front for a durable store — not as the record of a production
 * server: it keeps only the `capacity` most recent records (default 10,000) and drops the oldest beyond that,
 * so memory stays bounded however long the process runs. The hash chain still holds over what is kept: the
 * oldest kept record links to `anchor()`, the hash of the last dropped record, so
 * `verifyAuditChain(store.all(), store.anchor())` verifies the kept records.
 *
 * `record()` (what the toolset uses for reads) takes the draft and its timestamp at once but seals it — id,
 * canonical JSON, sha256, chain link — later, in batches, in the order records were accepted: the same chain
 * as eager sealing, mostly off the callers' path. Sealing one record right after a network wait costs several
 * times what it costs in a batch (cold caches around the hash and the random source), so pending records are
 * sealed together: after SEAL_DELAY_MS, when MAX_PENDING have accumulated, or as soon as anything reads or
 * appends to the store.
 * A draft whose members are not plain JSON-like data is sealed at once instead, as `append` does, so
 * `record()` rejects exactly when `append` would. The store keeps a draft's values by reference (as `append`
 * does): a caller must not change them afterwards.
 */
import { type AuditRecord, type AuditRecordDraft, GENESIS_HASH, sealAuditRecord } from './audit-record.ts'
import type { AuditQuery, AuditStore, StagedAudit } from './audit-store.ts'

export const DEFAULT_MEMORY_AUDIT_CAPACITY = 10_000

export interface MemoryAuditStoreOptions {
  /** Most recent records kept; older ones are dropped. A positive integer, or Infinity to keep every record. */
  readonly capacity?: number
}

/** A record accepted by `record()` and not sealed yet. */
interface PendingRecord {
  readonly draft: AuditRecordDraft
  /** Acceptance time (ms since the epoch): the record's timestamp. */
  readonly at: number
}

/** Pending records at which `record()` seals the batch at once. */
const MAX_PENDING = 64
/** Longest a recorded draft waits to be sealed when nothing reads the store. */
const SEAL_DELAY_MS = 10
/** Bounds of the deferrability check: deeper or larger values are sealed at once. */
const MAX_DEFERRED_DEPTH = 16
const MAX_DEFERRED_NODES = 2_000

export class MemoryAuditStore implements AuditStore {
  readonly #capacity: number
  /** A ring once full: the oldest kept record is at #start. */
  readonly #records: AuditRecord[] = []
  #start = 0
  /** Staged records are sealed in commit order so the hash chain follows what actually committed. */
  #lastHash: string | null = GENESIS_HASH
  /** The prevHash of the oldest kept record: the genesis until a record is dropped. */
  #anchor: string | null = GENESIS_HASH
  #pending: PendingRecord[] = []
  #flushScheduled = false
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
        this.#flush()
        committed = this.#keep(draft, new Date())
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
    this.#flush()
    return this.#keep(draft, new Date())
  }

  async record(draft: AuditRecordDraft): Promise<void> {
    this.#checkAvailable()
    if (!isDeferrable(draft)) {
      this.#flush()
      this.#keep(draft, new Date())
      return
    }
    this.#pending.push({ draft, at: Date.now() })
    if (this.#pending.length >= MAX_PENDING) {
      this.#flush()
    } else if (!this.#flushScheduled) {
      this.#flushScheduled = true
      setTimeout(() => {
        this.#flushScheduled = false
        this.#flush()
      }, SEAL_DELAY_MS).unref()
    }
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

  /** Test hook: makes the next `n` stage/append/record calls fail, to prove calls fail closed without an audit. */
  failNext(n = 1): void {
    this.#failNext = n
  }

  /** Every kept record, oldest first (for chain verification, with anchor()). */
  all(): readonly AuditRecord[] {
    this.#flush()
    const records = this.#records
    if (this.#start === 0) return [...records]
    return [...records.slice(this.#start), ...records.slice(0, this.#start)]
  }

  /** The hash the oldest kept record links to: null (the genesis) until the store has dropped a record. */
  anchor(): string | null {
    this.#flush()
    return this.#anchor
  }

  /** Most records kept at once. */
  get capacity(): number {
    return this.#capacity
  }

  /** Records accepted by `record()` and not sealed yet (reading the store seals them first). */
  get pending(): number {
    return this.#pending.length
  }

  #checkAvailable(): void {
    if (this.#failNext > 0) {
      this.#failNext -= 1
      throw new Error('audit store unavailable')
    }
  }

  /** Seals every pending record, in acceptance order. Cannot throw: only deferrable drafts are pending. */
  #flush(): void {
    const pending = this.#pending
    if (pending.length === 0) return
    this.#pending = []
    for (const p of pending) this.#keep(p.draft, new Date(p.at))
  }

  /** Seals `draft` onto the chain and keeps it, dropping the oldest record when full. */
  #keep(draft: AuditRecordDraft, at: Date): AuditRecord {
    const record = sealAuditRecord(draft, this.#lastHash, at)
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

/** Nodes left for the deferrability check of the current draft. */
let deferBudget = 0

/**
 * Whether sealing `draft` later is certain to succeed and give the hash sealing it now would: every member is
 * JSON-like plain data (no bigint, Date, class instances, functions or
 * symbols), within depth and size bounds (so no cycle). Reads each value once, like sealing does.
 */
function isDeferrable(draft: AuditRecordDraft): boolean {
  deferBudget = MAX_DEFERRED_NODES
  try {
    for (const key of Object.keys(draft)) {
      if (!isPlainData((draft as unknown as Record<string, unknown>)[key], 0)) return false
    }
    return true
  } catch {
    // A getter that throws: seal at once, which fails as append would.
    return false
  }
}

function isPlainData(value: unknown, depth: number): boolean {
  if (--deferBudget < 0) return false
  switch (typeof value) {
    case 'string':
    case 'number':
    case 'boolean':
    case 'undefined':
      return true
    case 'object':
      break
    default:
      return false
  }
  if (value === null) return true
  if (depth >= MAX_DEFERRED_DEPTH) return false
  const proto: unknown = Object.getPrototypeOf(value)
  if (Array.isArray(value)) {
    if (proto !== Array.prototype) return false
    const items: readonly unknown[] = value
    for (let i = 0; i < items.length; i++) if (!isPlainData(items[i], depth + 1)) return false
    return true
  }
  if (proto !== Object.prototype && proto !== null) return false
  const record = value as Record<string, unknown>
  for (const key of Object.keys(record)) if (!isPlainData(record[key], depth + 1)) return false
  return true
}
