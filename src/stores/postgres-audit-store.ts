/**
 * PostgreSQL AuditStore: records in `tessera_audit` (one row per record: its chain key and seq as the primary
 * key, the filterable members as indexed columns, and the record itself as exact JSON text), retention cuts in
 * `tessera_audit_cuts`. Create both with ensureAuditTables or auditTableSql.
 *
 * Delivery: `stage(draft, trx)` inserts the record through the write's own transaction, so the write and its
 * record commit together or not at all; on the Tessera dialect the INSERT rides with the COMMIT, in one message
 * (src/sql printStagedAuditInsert), so the record costs no round trip of its own (set
 * `writesInCallTransaction: false` when the store's database is not the toolset's). Its chain stays locked — in
 * this process only — until the transaction's fate is known, so the chain follows what committed. Records of
 * calls that change nothing (`record`) are, with `durability: 'batched'` (default), accepted at once and stored
 * by a background flush (audit-backlog.ts; call `close()` on shutdown); with `'per-call'` they are appended in
 * their own statement before the call returns. Concurrent appends to one chain share one multi-row INSERT.
 *
 * A failed INSERT never wedges the store (docs/decisions.md, "A failed audit INSERT"): a record the table
 * refuses (SQLSTATE class 22/23) is found among its batch and only its call fails (per-call) or only it is
 * dropped and reported (batched); a database that cannot take records is retried with backoff a bounded number
 * of times (batched) while new records are refused, so `auditFailure: 'closed'` calls fail with INTERNAL_ERROR.
 * Every failure is reported through `logger` (stderr without one).
 *
 * Chains are per (process segment, tenant) — see audit-chain.ts — and the primary key (chain, seq) makes a fork
 * impossible: a second record at the same position cannot be inserted. The role tool calls run as needs only
 * INSERT on `tessera_audit` (no UPDATE/DELETE): the agent's connection cannot rewrite the trail.
 */
import { printAuditCount, printAuditSelect } from '../sql/index.ts'
import type { AnyDatabase } from '../schema/index.ts'
import type { AuditRecord, AuditRecordDraft } from './audit-record.ts'
import type { StoreTransaction } from './store-transaction.ts'
import {
  type AuditVerification,
  type ChainedRecord,
  type ChainHead,
  chainKeys,
  type ChainKeys,
  SegmentChains,
} from './audit-chain.ts'
import { normalizeAuditFilter, normalizeAuditQuery } from './audit-query.ts'
import { AuditBacklog } from './audit-backlog.ts'
import { isDeferrable } from './deferrable-draft.ts'
import { insertRows, probeInsert, deleteStoredBefore, verifyStored } from './postgres-audit-sql.ts'
import { backlogOptionsOf, type PostgresAuditStoreOptions } from './postgres-audit-store-options.ts'
import {
  type AuditStoreLogger,
  auditFailureFacts,
  classifyAuditInsertFailure,
  fallbackAuditLogger,
  isPositionTaken,
} from './audit-insert-failure.ts'
import type {
  AuditFilter,
  AuditQuery,
  AuditStore,
  RetentionOptions,
  RetentionResult,
  StagedAudit,
} from './audit-store.ts'

/** Rows per multi-row INSERT (11 parameters each). */
const MAX_BATCH = 500

interface Waiting {
  readonly draft: AuditRecordDraft
  readonly at: Date
  readonly resolve: (record: AuditRecord) => void
  readonly reject: (error: unknown) => void
}

/** One chain's writer: appends wait here while a batch or a staged write holds the chain. */
interface ChainQueue {
  waiting: Waiting[]
  busy: boolean
  /** A staged write waiting for the chain (served before appends queued after it). */
  stages: (() => void)[]
}

export class PostgresAuditStore implements AuditStore {
  readonly #db: AnyDatabase
  readonly #inCall: boolean
  readonly #keys: ChainKeys
  readonly #chains: SegmentChains
  readonly #queues = new Map<string, ChainQueue>()
  readonly #backlog: AuditBacklog | null
  readonly #logger: AuditStoreLogger

  constructor(options: PostgresAuditStoreOptions) {
    if (options === null || typeof options !== 'object' || options.db === undefined) {
      throw new TypeError('PostgresAuditStore needs a Kysely instance: new PostgresAuditStore({ db })')
    }
    this.#db = options.db
    this.#logger = options.logger ?? fallbackAuditLogger()
    this.#inCall = options.writesInCallTransaction ?? true
    this.#keys = chainKeys(options)
    this.#chains = new SegmentChains(this.#keys, undefined, options)
    // Validated before anything starts: a bad option throws here, not at the first flush.
    const backlogOptions = backlogOptionsOf(options, MAX_BATCH)
    this.#backlog =
      backlogOptions === null
        ? null
        : new AuditBacklog(
            {
              isHeld: (chain) => this.#queues.get(chain)?.busy === true,
              seal: (draft, at) => this.#chains.seal(draft, at),
              insert: (entries) => insertRows(this.#db, entries),
              probe: () => probeInsert(this.#db),
              logger: this.#logger,
            },
            backlogOptions,
          )
  }

  async stage(draft: AuditRecordDraft, trx?: unknown): Promise<StagedAudit> {
    if (!this.#inCall || trx === undefined) return this.#stageAfterCommit(draft)
    const db = trx as StoreTransaction
    const chain = this.#chains.keyOf(draft.tenantId)
    const queue = this.#queue(chain)
    await this.#acquire(queue)
    const head = this.#chains.head(chain)
    let entry: ChainedRecord
    try {
      entry = this.#chains.seal(draft, new Date())
      // On the Tessera dialect this resolves at once and the INSERT goes out with the COMMIT; if it fails there,
      // the write does not commit and the call's abort() puts the chain back.
      await insertRows(db, [entry], true)
    } catch (error) {
      this.#chains.restore(chain, head)
      this.#release(chain, queue)
      throw error
    }
    let settled = false
    return {
      commit: async () => {
        if (!settled) {
          settled = true
          this.#release(chain, queue)
        }
        return entry.record
      },
      abort: async () => {
        if (settled) return
        settled = true
        // Usually the transaction rolled back and the record was never stored; but a COMMIT whose answer was
        // lost may have stored it, and the caller cannot tell. Ending the chain never reuses the position (a
        // reused one would fail every later write of the tenant on the primary key); what is stored of the
        // chain stays valid, and the tenant goes on in a new chain.
        this.#chains.end(chain)
        this.#release(chain, queue)
      },
    }
  }

  append(draft: AuditRecordDraft): Promise<AuditRecord> {
    const chain = this.#chains.keyOf(draft.tenantId)
    const queue = this.#queue(chain)
    return new Promise<AuditRecord>((resolve, reject) => {
      queue.waiting.push({ draft, at: new Date(), resolve, reject })
      if (!queue.busy) void this.#pump(chain, queue)
    })
  }

  /**
   * `append` without handing the record back (what the toolset uses for calls that change nothing): with
   * batched durability it returns once the record is accepted, and the record is stored off the call's path.
   */
  async record(draft: AuditRecordDraft): Promise<void> {
    // A draft that could not be sealed later the way it would be now is appended at once (and rejects the same).
    if (this.#backlog === null || !isDeferrable(draft)) await this.append(draft)
    else await this.#backlog.accept(this.#chains.keyOf(draft.tenantId), draft)
  }

  /** Stores every record accepted so far (batched durability); rejects when that fails. */
  async flush(): Promise<void> {
    await this.#backlog?.flush()
  }

  /**
   * Stores every accepted record and refuses new ones (batched durability; call it on shutdown). Does not
   * close `db`.
   */
  async close(): Promise<void> {
    await this.#backlog?.close()
  }

  /** Records accepted and not stored yet (batched durability). */
  get pending(): number {
    return this.#backlog?.pending ?? 0
  }

  /** Records accepted and then dropped, each reported (batched durability; see the file header). */
  get lost(): number {
    return this.#backlog?.lost ?? 0
  }

  async query(filter?: AuditQuery): Promise<AuditRecord[]> {
    const q = normalizeAuditQuery(filter)
    await this.flush()
    const result = await this.#db.executeQuery(printAuditSelect(q, q.limit, q.offset))
    return result.rows.map((r) => JSON.parse(r.body) as AuditRecord)
  }

  async count(filter?: AuditFilter): Promise<number> {
    const f = normalizeAuditFilter(filter)
    await this.flush()
    const result = await this.#db.executeQuery(printAuditCount(f))
    return Number(result.rows[0]?.n ?? 0)
  }

  async deleteBefore(before: Date | string, options: RetentionOptions = {}): Promise<RetentionResult> {
    const { from: cutoff } = normalizeAuditFilter({ from: before })
    await this.flush()
    return deleteStoredBefore(this.#db, cutoff, options, this.#keys)
  }

  async verify(): Promise<AuditVerification> {
    await this.flush()
    return verifyStored(this.#db, this.#keys.publicKey)
  }

  /** A staged record without a transaction to ride in: appended when the caller commits. */
  #stageAfterCommit(draft: AuditRecordDraft): StagedAudit {
    let committed: AuditRecord | undefined
    let aborted = false
    return {
      commit: async () => {
        if (aborted) throw new Error('audit record was aborted')
        committed ??= await this.append(draft)
        return committed
      },
      abort: async () => {
        aborted = committed === undefined
      },
    }
  }

  #queue(chain: string): ChainQueue {
    let queue = this.#queues.get(chain)
    if (queue === undefined) {
      queue = { waiting: [], busy: false, stages: [] }
      this.#queues.set(chain, queue)
    }
    return queue
  }

  #acquire(queue: ChainQueue): Promise<void> {
    if (!queue.busy) {
      queue.busy = true
      return Promise.resolve()
    }
    return new Promise<void>((resolve) => queue.stages.push(resolve))
  }

  /** Hands the chain to the next staged write, else to the waiting appends, else frees it. */
  #release(chain: string, queue: ChainQueue): void {
    const next = queue.stages.shift()
    if (next !== undefined) {
      next()
      return
    }
    queue.busy = false
    if (queue.waiting.length > 0) void this.#pump(chain, queue)
    else {
      this.#queues.delete(chain)
      this.#backlog?.released()
    }
  }

  /** Writes the waiting appends of one chain in batches, one INSERT each, while nothing else holds the chain. */
  async #pump(chain: string, queue: ChainQueue): Promise<void> {
    queue.busy = true
    while (queue.waiting.length > 0 && queue.stages.length === 0) {
      const batch = queue.waiting.splice(0, MAX_BATCH)
      const head: ChainHead | undefined = this.#chains.head(chain)
      const sealed: { waiting: Waiting; entry: ChainedRecord }[] = []
      for (const w of batch) {
        try {
          sealed.push({ waiting: w, entry: this.#chains.seal(w.draft, w.at) })
        } catch (error) {
          w.reject(error)
        }
      }
      if (sealed.length === 0) continue
      try {
        await insertRows(
          this.#db,
          sealed.map((s) => s.entry),
        )
      } catch (error) {
        this.#putBack(chain, head, error)
        if (classifyAuditInsertFailure(error) === 'record' && (sealed.length > 1 || isPositionTaken(error))) {
          // One record the table refuses must not fail the calls that share its INSERT: one at a time (and a
          // taken position, no record's fault, once more on the chain that replaces it).
          await this.#appendEach(sealed.map((s) => s.waiting))
        } else {
          this.#reportAppendFailure(error, sealed.length)
          for (const s of sealed) s.waiting.reject(error)
        }
        continue
      }
      for (const s of sealed) s.waiting.resolve(s.entry.record)
    }
    this.#release(chain, queue)
  }

  /** Appends one record per INSERT, in order; a refused one rejects alone and leaves no hole in the chain. */
  async #appendEach(batch: readonly Waiting[]): Promise<void> {
    for (const w of batch) {
      // A position another writer took is no fault of the record: once more, on the chain that replaces it.
      for (let attempt = 0; ; attempt++) {
        // The tenant's chain now: the queue's own key once an ended chain was replaced.
        const chain = this.#chains.keyOf(w.draft.tenantId)
        const head = this.#chains.head(chain)
        let entry: ChainedRecord
        try {
          entry = this.#chains.seal(w.draft, w.at)
          await insertRows(this.#db, [entry])
        } catch (error) {
          this.#putBack(chain, head, error)
          if (attempt === 0 && isPositionTaken(error)) continue
          this.#reportAppendFailure(error, 1)
          w.reject(error)
          break
        }
        w.resolve(entry.record)
        break
      }
    }
  }

  /**
   * After a failed INSERT of records sealed onto `chain` from `head`: put the head back when the records are
   * certainly not stored; end the chain when they may be (no answer: an autocommitted INSERT may have
   * committed) or when the position is taken, so no later record is sealed onto a position that is not free.
   */
  #putBack(chain: string, head: ChainHead | undefined, error: unknown): void {
    const taken = isPositionTaken(error)
    if (taken) {
      this.#logger.warn(
        { chain, seq: (head?.seq ?? 0) + 1 },
        'audit chain position already taken (an INSERT whose answer was lost, or another writer); the tenant continues on a new chain',
      )
    }
    if (taken || classifyAuditInsertFailure(error) === 'transient') this.#chains.end(chain)
    else this.#chains.restore(chain, head)
  }

  #reportAppendFailure(error: unknown, records: number): void {
    this.#logger.error(
      { records, ...auditFailureFacts(error) },
      'audit INSERT failed; the calls waiting for it fail',
    )
  }
}
