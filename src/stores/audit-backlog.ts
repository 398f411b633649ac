/**
 * Batched durability for audit records of calls that change nothing (PostgresAuditStore, `durability:
 * 'batched'`): `accept` takes the draft and its timestamp and returns at once; a background flush seals the
 * accepted drafts onto their chains in acceptance order and stores them with one multi-row INSERT per batch —
 * after `flushIntervalMs`, as soon as `batchSize` records wait, before the store is read, and on `close()`.
 * The call's latency then carries neither the INSERT's round trip nor its commit, nor the sealing (canonical
 * JSON, sha256).
 *
 * What is guaranteed: a clean `close()` (or `flush()`) stores every accepted record, or rejects. At most
 * `maxPending` records wait (accept waits for a flush beyond that), so memory stays bounded. When an INSERT
 * fails, its records keep their chain positions and are retried (every `retryMs`), and until one succeeds
 * `accept` refuses new records — so in `auditFailure: 'closed'` mode calls fail from the first flush failure
 * on. What is not: a crash of the process loses the records accepted and not yet stored (at most
 * `flushIntervalMs` worth, or `maxPending`); a later record of the same chain stored by a write then shows the
 * loss to `verify()` as a gap. Choose `durability: 'per-call'` where a read must never be answered before its
 * record is on disk (docs/audit.md).
 *
 * A chain held by a staged write (whose transaction has not settled) or by a per-call INSERT is not sealed
 * onto until released: its drafts wait for the next flush, so a rolled-back write can still put its chain's
 * head back.
 */
import type { AuditRecordDraft } from './audit-record.ts'
import type { ChainedRecord } from './audit-chain.ts'

/** What the backlog needs from its store. */
export interface BacklogHost {
  /** Whether `chain` is held now (a staged write or a per-call INSERT): its drafts wait. */
  isHeld(chain: string): boolean
  /** Seals `draft` as the next record of its chain (synchronously: nothing else seals meanwhile). */
  seal(draft: AuditRecordDraft, at: Date): ChainedRecord
  /** Stores sealed records in one statement: all of them or none. */
  insert(entries: readonly ChainedRecord[]): Promise<void>
}

export interface BacklogOptions {
  readonly flushIntervalMs: number
  readonly batchSize: number
  readonly maxPending: number
  readonly retryMs: number
}

interface Accepted {
  /** Acceptance order, to know what a flush must have stored before it returns. */
  readonly n: number
  readonly chain: string
  readonly draft: AuditRecordDraft
  readonly at: Date
}

interface Sealed {
  readonly n: number
  readonly entry: ChainedRecord
}

export class AuditBacklog {
  readonly #host: BacklogHost
  readonly #options: BacklogOptions
  /** Accepted, not sealed yet, in acceptance order. */
  #accepted: Accepted[] = []
  /** Sealed, not stored yet, in seal order: their chain positions are taken, so a failed INSERT retries them. */
  #sealed: Sealed[] = []
  #count = 0
  #failure: unknown = null
  #timer: NodeJS.Timeout | null = null
  #timerImmediate = false
  #running: Promise<void> | null = null
  #closed = false
  #onRelease: (() => void)[] = []

  constructor(host: BacklogHost, options: BacklogOptions) {
    this.#host = host
    this.#options = options
  }

  /** Records accepted and not stored yet. */
  get pending(): number {
    return this.#accepted.length + this.#sealed.length
  }

  /** Accepts a draft (it must be deferrable: see deferrable-draft.ts). Rejects when closed or failing. */
  async accept(chain: string, draft: AuditRecordDraft): Promise<void> {
    if (this.#closed) throw new Error('audit store is closed')
    if (this.#failure !== null) throw failingError(this.#failure)
    this.#accepted.push({ n: ++this.#count, chain, draft, at: new Date() })
    const pending = this.pending
    this.#schedule(pending >= this.#options.batchSize ? 0 : this.#options.flushIntervalMs)
    // Backpressure: past the bound, the caller waits until what was accepted so far is stored.
    if (pending >= this.#options.maxPending) await this.flush()
  }

  /** Stores every record accepted before this call; rejects when storing them failed (they are kept). */
  async flush(): Promise<void> {
    const target = this.#count
    for (;;) {
      await this.#pass()
      if (!this.#waitingUpTo(target)) return
      if (this.#failure !== null) throw failingError(this.#failure)
      // What is left belongs to chains still held: wait until one is released.
      if (this.#sealed.length === 0 && this.#accepted.every((a) => this.#host.isHeld(a.chain))) {
        await new Promise<void>((resolve) => this.#onRelease.push(resolve))
      }
    }
  }

  /** Refuses new records, then stores what was accepted (rejects when that fails). */
  async close(): Promise<void> {
    this.#closed = true
    try {
      await this.flush()
    } finally {
      this.#clearTimer()
    }
  }

  /** A chain was released by its holder: its waiting drafts can be sealed now. */
  released(): void {
    const waiters = this.#onRelease
    this.#onRelease = []
    for (const resolve of waiters) resolve()
    if (this.#accepted.length > 0) this.#schedule(this.#options.flushIntervalMs)
  }

  #waitingUpTo(target: number): boolean {
    return this.#accepted.some((a) => a.n <= target) || this.#sealed.some((s) => s.n <= target)
  }

  #schedule(delayMs: number): void {
    if (this.#timer !== null) {
      if (delayMs > 0 || this.#timerImmediate) return
      clearTimeout(this.#timer)
    }
    this.#timerImmediate = delayMs === 0
    // Not unref'd: a process that ends on its own stores its last records first.
    this.#timer = setTimeout(() => {
      this.#timer = null
      void this.#pass()
    }, delayMs)
  }

  #clearTimer(): void {
    if (this.#timer !== null) clearTimeout(this.#timer)
    this.#timer = null
  }

  /** One flush at a time; never rejects (a failure is kept in #failure). */
  #pass(): Promise<void> {
    this.#running ??= this.#run().finally(() => {
      this.#running = null
    })
    return this.#running
  }

  async #run(): Promise<void> {
    this.#clearTimer()
    const held: Accepted[] = []
    for (const a of this.#accepted) {
      if (this.#host.isHeld(a.chain)) {
        held.push(a)
        continue
      }
      try {
        this.#sealed.push({ n: a.n, entry: this.#host.seal(a.draft, a.at) })
      } catch (error) {
        // Cannot happen for a deferrable draft; if it does, the record is lost and the store says so.
        this.#failure = error
      }
    }
    this.#accepted = held
    while (this.#sealed.length > 0) {
      const batch = this.#sealed.slice(0, this.#options.batchSize)
      try {
        await this.#host.insert(batch.map((s) => s.entry))
      } catch (error) {
        this.#failure = error
        // Retried in the background; a process that ends meanwhile loses them (close() reports it).
        setTimeout(() => void this.#pass(), this.#options.retryMs).unref()
        return
      }
      this.#sealed.splice(0, batch.length)
      this.#failure = null
    }
  }
}

function failingError(cause: unknown): Error {
  const reason = cause instanceof Error ? cause.message : String(cause)
  return new Error(`audit store cannot store records: ${reason}`, { cause })
}
