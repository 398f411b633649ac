/**
 * Batched durability for audit records of calls that change nothing (PostgresAuditStore, `durability:
 * 'batched'`): `accept` takes the draft and its timestamp and returns at once; a background flush seals the
 * accepted drafts onto their chains in acceptance order and stores them with one multi-row INSERT per batch —
 * after `flushIntervalMs`, as soon as `batchSize` records wait, before the store is read, and on `close()`.
 * The call's latency then carries neither the INSERT's round trip nor its commit, nor the sealing (canonical
 * JSON, sha256).
 *
 * What is guaranteed: a clean `close()` (or `flush()`) stores every accepted record, or rejects — also when
 * records were dropped since the last flush (below). At most `maxPending` records wait: past that, `accept`
 * waits for one flush and then refuses, so memory stays bounded whatever the load. What is not: a crash of the
 * process loses the records accepted and not yet stored (at most `flushIntervalMs` worth, or `maxPending`); a
 * later record of the same chain stored by a write then shows the loss to `verify()` as a gap. Choose
 * `durability: 'per-call'` where a read must never be answered before its record is on disk (docs/audit.md).
 *
 * When an INSERT fails (audit-insert-failure.ts says why; docs/decisions.md, "A failed audit INSERT"):
 * - the table refused its data (class 22/23): the batch is split in halves until each refused record stands
 *   alone; the others are stored, each refused one is dropped and reported (logger, and the next flush()
 *   rejects). Its chain position stays empty, so `verify()` shows the loss as a gap. The queue goes on at once.
 * - the database could not be reached, or refused every record (a dropped table, a revoked grant): the records
 *   keep their chain positions and are retried with exponential backoff (`retryMs` doubling up to
 *   `maxRetryMs`), at most `maxRetries` times; meanwhile `accept` refuses new records, so in
 *   `auditFailure: 'closed'` mode calls fail from the first failed flush on (the calls answered between
 *   accepting and that flush are not failed after the fact). Past `maxRetries` the held records are dropped and
 *   reported, and the store goes on refusing until a probe (an INSERT of no rows, every `maxRetryMs`) or a
 *   record shows it can store again.
 *
 * A chain held by a staged write (whose transaction has not settled) or by a per-call INSERT is not sealed
 * onto until released: its drafts wait for the next flush, so a rolled-back write can still put its chain's
 * head back.
 */
import type { AuditRecordDraft } from './audit-record.ts'
import type { ChainedRecord } from './audit-chain.ts'
import {
  type AuditStoreLogger,
  auditFailureFacts,
  auditFailureText,
  classifyAuditInsertFailure,
  isPositionTaken,
} from './audit-insert-failure.ts'

/** What the backlog needs from its store. */
export interface BacklogHost {
  /** Whether `chain` is held now (a staged write or a per-call INSERT): its drafts wait. */
  isHeld(chain: string): boolean
  /** Seals `draft` as the next record of its chain (synchronously: nothing else seals meanwhile). */
  seal(draft: AuditRecordDraft, at: Date): ChainedRecord
  /** Stores sealed records in one statement: all of them or none. */
  insert(entries: readonly ChainedRecord[]): Promise<void>
  /** Whether a record could be inserted now (table, privilege, connection), inserting nothing; rejects if not. */
  probe(): Promise<void>
  readonly logger: AuditStoreLogger
}

export interface BacklogOptions {
  readonly flushIntervalMs: number
  readonly batchSize: number
  readonly maxPending: number
  /** Delay before the first retry of a failed INSERT; each further retry waits twice as long. */
  readonly retryMs: number
  /** Longest delay between retries, and between probes once the held records were dropped. */
  readonly maxRetryMs: number
  /** Retries of a failed INSERT before its records are dropped (reported) and the store only probes. */
  readonly maxRetries: number
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
  /** Why the store refuses new records (an INSERT or probe failed and has not succeeded since), or null. */
  #failure: unknown = null
  /** Failed attempts since the last success. */
  #attempts = 0
  /** Rows of the last attempt, and of the head of #sealed when that attempt failed without an answer. */
  #lastAttempt = 0
  #ambiguous = 0
  /** Records dropped since the last flush() reported it, and why the first of them was. */
  #lost: { count: number; cause: unknown } | null = null
  #lostTotal = 0
  #timer: NodeJS.Timeout | null = null
  #timerImmediate = false
  #retryTimer: NodeJS.Timeout | null = null
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

  /** Records accepted and then dropped (refused by the table, or given up after maxRetries), since creation. */
  get lost(): number {
    return this.#lostTotal
  }

  /** Accepts a draft (it must be deferrable: see deferrable-draft.ts). Rejects when closed, failing or full. */
  async accept(chain: string, draft: AuditRecordDraft): Promise<void> {
    this.#checkOpen()
    if (this.pending >= this.#options.maxPending) {
      // Full: one flush pass (what can be stored now is), then refuse if still full — a held chain's drafts,
      // or a store that fails, must not make callers queue without bound.
      await this.#pass()
      this.#checkOpen()
      if (this.pending >= this.#options.maxPending) {
        throw new Error(
          `audit backlog is full: ${this.pending} records wait to be stored (maxPending ${this.#options.maxPending})`,
        )
      }
    }
    this.#accepted.push({ n: ++this.#count, chain, draft, at: new Date() })
    const pending = this.pending
    this.#schedule(pending >= this.#options.batchSize ? 0 : this.#options.flushIntervalMs)
    // Backpressure: the call that fills the backlog waits until what was accepted so far is stored.
    if (pending >= this.#options.maxPending) await this.flush()
  }

  /**
   * Stores every record accepted before this call; rejects when storing them failed (they are kept), or when
   * records were dropped since the last flush (said once).
   */
  async flush(): Promise<void> {
    const target = this.#count
    for (;;) {
      await this.#pass()
      this.#reportLost()
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
      if (this.#retryTimer !== null) clearTimeout(this.#retryTimer)
      this.#retryTimer = null
    }
  }

  /** A chain was released by its holder: its waiting drafts can be sealed now. */
  released(): void {
    const waiters = this.#onRelease
    this.#onRelease = []
    for (const resolve of waiters) resolve()
    if (this.#accepted.length > 0) this.#schedule(this.#options.flushIntervalMs)
  }

  #checkOpen(): void {
    if (this.#closed) throw new Error('audit store is closed')
    if (this.#failure !== null) throw failingError(this.#failure)
  }

  #reportLost(): void {
    const lost = this.#lost
    if (lost === null) return
    this.#lost = null
    throw new Error(`${lost.count} audit records were dropped: ${auditFailureText(lost.cause)}`, {
      cause: lost.cause,
    })
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
    if (this.#retryTimer !== null) clearTimeout(this.#retryTimer)
    this.#retryTimer = null
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
        this.#drop(1, error)
        this.#host.logger.error(auditFailureFacts(error), 'audit record could not be sealed; dropped')
      }
    }
    this.#accepted = held
    if (this.#sealed.length === 0 && this.#failure !== null) {
      // Nothing held: ask whether the store could take a record again.
      try {
        await this.#host.probe()
      } catch (error) {
        this.#failed(error)
        return
      }
      this.#recovered()
      return
    }
    while (this.#sealed.length > 0) {
      // After an attempt whose answer was lost, retry exactly its rows (see #storeOrIsolate).
      const size = this.#ambiguous > 0 ? this.#ambiguous : this.#options.batchSize
      try {
        await this.#storeOrIsolate(this.#sealed.slice(0, size), this.#ambiguous)
      } catch (error) {
        this.#failed(error)
        return
      }
      this.#recovered()
    }
  }

  /**
   * Inserts `part` (the head of #sealed); when the table refuses its data, stores it in halves until each
   * refused record stands alone, and drops those. Throws any other failure, with the rows stored or dropped so
   * far removed from #sealed, so the rest keeps its order and positions.
   */
  async #storeOrIsolate(part: Sealed[], ambiguous: number): Promise<void> {
    this.#lastAttempt = part.length
    try {
      await this.#host.insert(part.map((s) => s.entry))
    } catch (error) {
      if (ambiguous === part.length && isPositionTaken(error)) {
        // The previous attempt at exactly these rows failed without an answer, and now their first position
        // is taken: that attempt committed (one statement: all of its rows), and nothing else writes this
        // segment's chains.
        this.#host.logger.warn(
          { records: part.length },
          'audit records were stored by an attempt whose answer was lost',
        )
      } else if (classifyAuditInsertFailure(error) !== 'record') {
        throw error
      } else if (part.length === 1) {
        this.#refuse(part, error)
        return
      } else {
        const half = part.length >> 1
        await this.#storeOrIsolate(part.slice(0, half), 0)
        await this.#storeOrIsolate(part.slice(half), 0)
        return
      }
    }
    this.#remove(part)
  }

  #refuse(part: readonly Sealed[], error: unknown): void {
    this.#remove(part)
    this.#drop(part.length, error)
    for (const { entry } of part) {
      const r = entry.record
      this.#host.logger.error(
        {
          recordId: r.id,
          requestId: r.requestId,
          chain: entry.chain,
          seq: entry.seq,
          tenantId: r.tenantId,
          tool: r.tool,
          ...auditFailureFacts(error),
        },
        'audit record refused by the table; dropped (verify() shows its position as a gap)',
      )
    }
  }

  #remove(part: readonly Sealed[]): void {
    const done = new Set(part)
    this.#sealed = this.#sealed.filter((s) => !done.has(s))
  }

  #drop(count: number, cause: unknown): void {
    this.#lostTotal += count
    if (this.#lost === null) this.#lost = { count, cause }
    else this.#lost.count += count
  }

  /** An INSERT or probe failed in a way that is not one record's fault: retry later, or give the records up. */
  #failed(error: unknown): void {
    this.#ambiguous = classifyAuditInsertFailure(error) === 'transient' ? this.#lastAttempt : 0
    const firstFailure = this.#failure === null
    this.#failure = error
    this.#attempts++
    const { retryMs, maxRetryMs, maxRetries } = this.#options
    const facts = auditFailureFacts(error)
    if (this.#attempts > maxRetries && this.#sealed.length > 0) {
      const count = this.#sealed.length
      this.#sealed = []
      this.#ambiguous = 0
      this.#drop(count, error)
      this.#host.logger.error(
        { records: count, attempts: this.#attempts, ...facts },
        'audit records dropped after retries; the store refuses new records until it can store again',
      )
    } else if (firstFailure) {
      this.#host.logger.error(
        { records: this.#sealed.length, ...facts },
        'audit INSERT failed; retrying, and refusing new records meanwhile',
      )
    } else {
      this.#host.logger.warn(
        { records: this.#sealed.length, attempts: this.#attempts, ...facts },
        'audit INSERT failed again',
      )
    }
    const delay = Math.min(maxRetryMs, retryMs * 2 ** Math.min(this.#attempts - 1, 30))
    // Unref'd: a process that ends meanwhile loses the held records (close() would have said so).
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = null
      void this.#pass()
    }, delay)
    this.#retryTimer.unref()
  }

  #recovered(): void {
    this.#ambiguous = 0
    this.#attempts = 0
    if (this.#failure === null) return
    this.#failure = null
    this.#host.logger.warn({}, 'audit store stores records again')
  }
}

function failingError(cause: unknown): Error {
  return new Error(`audit store cannot store records: ${auditFailureText(cause)}`, { cause })
}
