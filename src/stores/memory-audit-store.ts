/**
 * In-memory AuditStore: the default, and the reference the other stores' conformance tests compare against.
 *
 * It is meant for tests, demos, and as a fast front for a durable store — not as the record of a production
 * server: it keeps only the `capacity` most recent records (default 10,000) and drops the oldest beyond that,
 * so memory stays bounded however long the process runs. A dropped record becomes its chain's cut (as
 * retention does), so `verify()` still passes over what is kept.
 *
 * `record()` (what the toolset uses for reads) and `accept()` on a staged record (what it uses for a write's
 * record) take the draft and its timestamp at once but seal it — id, canonical JSON, sha256, chain link — later,
 * in batches, in the order records were accepted: the same chain as eager sealing, mostly off the callers' path.
 * Sealing one record right after a network wait costs several times what it costs in a batch (cold caches
 * around the hash and the random source), so pending records are sealed together: after SEAL_DELAY_MS, when
 * MAX_PENDING have accumulated, or as soon as anything reads or appends to the store.
 * A draft whose members are not plain JSON-like data is sealed at once instead, as `append` does, so
 * `record()` rejects exactly when `append` would. The store keeps a draft's values by reference (as `append`
 * does) until it is sealed: a caller must not change them afterwards (the toolset's drafts hold copies of the
 * images and arguments: auditDraft in src/tools/call-audit.ts).
 *
 * A record sealed from `record()` or `accept()` is kept as its canonical text (the very string its hash covers)
 * and its hash, not as an object graph, and off the V8 heap (kept-records.ts): UTF-8 in large Buffers with its
 * chain, seq, hash and signature in typed arrays, so neither scavenges nor major garbage collections trace the
 * kept records (bench/README.md). Reading the store parses the text back (parseSealedRecord), which for plain
 * JSON-like data — the only drafts they defer — is the record as sealed; verify() re-hashes that parsed record,
 * so an edit to the kept text still shows. Records from `append` and a staged record's `commit` are handed to
 * the caller and kept as they are.
 */
import type { AuditRecord, AuditRecordDraft } from './audit-record.ts'
import { isDeferrable } from './deferrable-draft.ts'
import {
  type AuditChainOptions,
  type AuditSigningOptions,
  type AuditVerification,
  type ChainCut,
  type ChainedRecord,
  chainKeys,
  type ChainKeys,
  SegmentChains,
  signLink,
} from './audit-chain.ts'
import { retentionPrefix, verifyChainedRecords } from './audit-chain-verifier.ts'
import { appendArchive } from './audit-archive.ts'
import { KeptRecords } from './kept-records.ts'
import {
  auditRecordMatches,
  normalizeAuditFilter,
  normalizeAuditQuery,
  selectEntries,
} from './audit-query.ts'
import type {
  AuditFilter,
  AuditQuery,
  AuditReservation,
  AuditStore,
  RetentionOptions,
  RetentionResult,
  StagedAudit,
} from './audit-store.ts'

export const DEFAULT_MEMORY_AUDIT_CAPACITY = 10_000

export interface MemoryAuditStoreOptions extends AuditSigningOptions, AuditChainOptions {
  /** Most recent records kept; older ones are dropped. A positive integer, or Infinity to keep every record. */
  readonly capacity?: number
}

/** A record accepted by `record()` and not sealed yet. */
interface PendingRecord {
  readonly draft: AuditRecordDraft
  /** Acceptance time (ms since the epoch): the record's timestamp. */
  readonly at: number
}

/**
 * A chain's cut, moved forward in place as the chain's oldest records are dropped. A full store cuts on every
 * record, so the hash of a record dropped from the kept text is copied as its 32 bytes and written as hex only
 * when read (verify), not on every drop.
 */
class MovableCut implements ChainCut {
  #text: string | undefined
  #bytes: Buffer | undefined
  constructor(
    readonly chain: string,
    public seq: number,
    hash: string | undefined,
    bytes: Uint8Array,
    at: number,
    public signature: string | null,
  ) {
    this.#set(hash, bytes, at)
  }

  get hash(): string {
    this.#text ??= (this.#bytes as Buffer).toString('hex')
    return this.#text
  }

  move(seq: number, hash: string | undefined, bytes: Uint8Array, at: number, signature: string | null): void {
    this.seq = seq
    this.signature = signature
    this.#set(hash, bytes, at)
  }

  #set(hash: string | undefined, bytes: Uint8Array, at: number): void {
    this.#text = hash
    if (hash !== undefined) return
    const own = (this.#bytes ??= Buffer.allocUnsafe(HASH_BYTES))
    for (let k = 0; k < HASH_BYTES; k++) own[k] = bytes[at + k] as number
  }
}

const HASH_BYTES = 32
const NO_BYTES = new Uint8Array(0)

/** Pending records at which `record()` seals the batch at once. */
const MAX_PENDING = 64
/** Longest a recorded draft waits to be sealed when nothing reads the store. */
const SEAL_DELAY_MS = 10
/** Cuts kept before the first prune (each prune walks every cut, so it waits for enough to drop). */
const MIN_CUTS_BEFORE_PRUNE = 1024

export class MemoryAuditStore implements AuditStore {
  readonly #capacity: number
  readonly #keys: ChainKeys
  readonly #chains: SegmentChains
  /** The kept records, oldest first; a full store drops its oldest into its chain's cut. */
  readonly #kept: KeptRecords
  /** Where each chain was cut (records dropped for capacity or deleted by retention). */
  readonly #cuts = new Map<string, MovableCut>()
  /** Cuts held before the next prune of those no chain needs any more (see #cut). */
  #cutsBeforePrune = MIN_CUTS_BEFORE_PRUNE
  #pending: PendingRecord[] = []
  #flushScheduled = false
  #failNext = 0

  constructor(options: MemoryAuditStoreOptions = {}) {
    const capacity = options.capacity ?? DEFAULT_MEMORY_AUDIT_CAPACITY
    if (capacity !== Number.POSITIVE_INFINITY && (!Number.isSafeInteger(capacity) || capacity <= 0)) {
      throw new RangeError('capacity must be a positive integer or Infinity')
    }
    this.#capacity = capacity
    this.#kept = new KeptRecords(capacity, (chain, seq, hash, bytes, at) =>
      this.#cut(chain, seq, hash, bytes, at),
    )
    this.#keys = chainKeys(options)
    this.#chains = new SegmentChains(this.#keys, undefined, options)
  }

  async stage(draft: AuditRecordDraft): Promise<StagedAudit> {
    this.#checkAvailable()
    return this.#staged(draft)
  }

  /** The availability check of `stage`, made now; staging itself cannot fail. */
  reserve(): AuditReservation {
    this.#checkAvailable()
    return { stage: (draft) => this.#staged(draft) }
  }

  #staged(draft: AuditRecordDraft): StagedAudit {
    let committed: AuditRecord | undefined
    let accepted = false
    let aborted = false
    return {
      // Sealed at commit, not at stage: the chain follows what actually committed.
      commit: async () => {
        if (aborted) throw new Error('audit record was aborted')
        if (accepted) throw new Error('audit record was accepted without its sealed copy')
        if (committed) return committed
        this.#flush()
        committed = this.#keep(draft, new Date())
        return committed
      },
      // A write's record taken as a read's is (record()): accepted now, in order, sealed with the batch.
      accept: async () => {
        if (aborted) throw new Error('audit record was aborted')
        if (accepted || committed) return
        accepted = true
        this.#accept(draft)
      },
      abort: async () => {
        aborted = committed === undefined && !accepted
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
    this.#accept(draft)
  }

  /** Takes `draft` now, at this time and in this order; seals it with the pending batch when it is plain data. */
  #accept(draft: AuditRecordDraft): void {
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

  async query(filter?: AuditQuery): Promise<AuditRecord[]> {
    const query = normalizeAuditQuery(filter)
    return selectEntries(this.entries(), query)
  }

  async count(filter?: AuditFilter): Promise<number> {
    const f = normalizeAuditFilter(filter)
    let n = 0
    for (const e of this.entries()) if (auditRecordMatches(e.record, f)) n += 1
    return n
  }

  async deleteBefore(before: Date | string, options: RetentionOptions = {}): Promise<RetentionResult> {
    const { from: cutoff } = normalizeAuditFilter({ from: before })
    const deleted = retentionPrefix(this.entries(), cutoff as string)
    if (options.archive !== undefined) await appendArchive(options.archive, deleted)
    // Re-read after the await: records appended meanwhile are newer than the cutoff and stay.
    const deletedIds = new Set(deleted.map((e) => e.record.id))
    this.#flush()
    this.#kept.retain((e) => !deletedIds.has(e.record.id))
    for (const e of deleted) this.#cut(e.chain, e.seq, e.record.hash, NO_BYTES, 0)
    return { deleted: deleted.length, archivedTo: options.archive ?? null }
  }

  async verify(): Promise<AuditVerification> {
    return verifyChainedRecords(this.entries(), this.#cuts.values(), this.#keys.publicKey)
  }

  /** Test hook: makes the next `n` stage/reserve/append/record calls fail, to prove calls fail closed without an audit. */
  failNext(n = 1): void {
    this.#failNext = n
  }

  /** Every kept record, oldest first. */
  all(): readonly AuditRecord[] {
    return this.entries().map((e) => e.record)
  }

  /** Every kept record with its chain position, oldest first. */
  entries(): ChainedRecord[] {
    this.#flush()
    return this.#kept.entries()
  }

  /**
   * Test hook for tamper-evidence tests: replaces the kept entries with what `edit` returns from them (oldest
   * first), as someone with access to the store's memory could.
   */
  tamperForTesting(edit: (entries: ChainedRecord[]) => ChainedRecord[]): void {
    this.#kept.replaceWithObjects(edit(this.entries()))
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
    for (const p of pending) {
      // Only plain-data drafts are pending, so the kept text parses back to the record (see the header).
      const link = this.#chains.sealText(p.draft, new Date(p.at))
      this.#kept.pushText(link.chain, link.seq, link.signature, link.sealed.text, link.sealed.record.hash)
    }
  }

  /** Seals `draft` onto its chain and keeps it, dropping the oldest record when full. */
  #keep(draft: AuditRecordDraft, at: Date): AuditRecord {
    const entry = this.#chains.seal(draft, at)
    this.#kept.pushObject(entry)
    return entry.record
  }

  /**
   * The record at `seq` of `chain` (the oldest kept of its chain) is gone: its chain now starts after it. Its
   * hash is `hash`, or when undefined the 32 bytes at `at` of `bytes` (see DropHandler).
   */
  #cut(chain: string, seq: number, hash: string | undefined, bytes: Uint8Array, at: number): void {
    // A full store cuts on every record: moving the chain's cut in place spares an object per record that
    // would live until the chain's next cut (old-generation garbage). verify() reads the cuts synchronously.
    const known = this.#cuts.get(chain)
    if (known !== undefined) {
      known.move(seq, hash, bytes, at, null)
      this.#signCut(known)
      return
    }
    const cut = new MovableCut(chain, seq, hash, bytes, at, null)
    this.#signCut(cut)
    this.#cuts.set(chain, cut)
    if (this.#cuts.size > this.#cutsBeforePrune) this.#pruneCuts()
  }

  /** Signs `cut` when the store signs (the hash is written as hex for it then). */
  #signCut(cut: MovableCut): void {
    if (this.#keys.privateKey !== null)
      cut.signature = signLink(this.#keys, 'cut', cut.chain, cut.seq, cut.hash)
  }

  /**
   * Forgets the cuts no chain needs: a chain with no kept record that is no longer open (it ended, its tenant
   * evicted) will never show a record again, so verify never reads its cut. Without this a store serving ever
   * new tenants would hold one cut per chain it ever wrote. The next prune waits until the cuts double, so the
   * walk over the kept records is paid once per that many cuts.
   */
  #pruneCuts(): void {
    for (const chain of this.#cuts.keys()) {
      if (!this.#kept.hasChain(chain) && this.#chains.head(chain) === undefined) this.#cuts.delete(chain)
    }
    this.#cutsBeforePrune = Math.max(MIN_CUTS_BEFORE_PRUNE, 2 * this.#cuts.size)
  }

  /** Cuts held now (for tests and the memory bench: bounded by the open chains and the kept records). */
  get cutCount(): number {
    return this.#cuts.size
  }
}
