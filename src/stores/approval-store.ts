/**
 * Approvals for writes whose policy mode is `approval` (docs/contract.md §4). A pending approval is bound to a hash of
 * (principal, tool, arguments, policy version) and has a time to live; a person approves or rejects it through
 * this API; re-submitting the exact payload with its id consumes it — once, atomically — and only then does
 * the write run. The in-memory and PostgreSQL stores behave identically (one conformance suite runs both).
 */
import { randomUUID } from 'node:crypto'
import { CompiledQuery } from 'kysely'
import { rateLimited, type TesseraError } from '../errors/index.ts'
import type { StoreTransaction } from './store-transaction.ts'

export type ApprovalStatus = 'pending' | 'approved' | 'rejected'

export interface PendingApproval {
  readonly tenantId: string
  readonly userId: string | null
  readonly tool: string
  readonly model: string
  /** sha256 (hex) of the canonical JSON of what is approved; see approvalPayloadHash. */
  readonly payloadHash: string
  /** The arguments as submitted (without the approval id), for the approver to read. */
  readonly args: unknown
  readonly expiresAt: Date
}

export interface Approval {
  readonly id: string
  readonly status: ApprovalStatus
  readonly tenantId: string
  readonly userId: string | null
  readonly tool: string
  readonly model: string
  readonly payloadHash: string
  readonly args: unknown
  /** ISO-8601 timestamps. */
  readonly createdAt: string
  readonly expiresAt: string
  readonly decidedBy: string | null
  readonly decidedAt: string | null
  readonly usedAt: string | null
}

/**
 * `ok`: consumed now, execute. Otherwise refused: `missing` (no such id), `mismatch` (granted for another
 * payload or principal), `rejected`, `used` (consumed before), `expired`, `pending` (not decided yet).
 * The checks run in that order, so a caller holding someone else's id learns nothing beyond `mismatch`.
 */
export type ConsumeResult = 'ok' | 'missing' | 'mismatch' | 'used' | 'expired' | 'rejected' | 'pending'

export interface ApprovalStore {
  create(pending: PendingApproval): Promise<Approval>
  get(id: string): Promise<Approval | null>
  /** Pending and not expired → approved; returns the approval, or null when there is nothing to approve. */
  approve(id: string, approver: string): Promise<Approval | null>
  /** Pending → rejected; returns the approval, or null when there is nothing to reject. */
  reject(id: string, approver: string): Promise<Approval | null>
  /** Atomically marks an approved, unused, unexpired approval for this payload as used; at most one caller gets `ok`. */
  consume(id: string, payloadHash: string): Promise<ConsumeResult>
  /** Approvals newest first, optionally only one status and/or tenant (for `tessera approvals list`). */
  list(filter?: ApprovalFilter): Promise<Approval[]>
}

export interface ApprovalFilter {
  readonly status?: ApprovalStatus
  readonly tenantId?: string
  /** At most this many (default 100, at most 1000). */
  readonly limit?: number
}

function listLimit(filter: ApprovalFilter): number {
  const limit = filter.limit ?? 100
  return Number.isSafeInteger(limit) && limit > 0 ? Math.min(limit, 1000) : 100
}

/** Default time to live of a pending approval. */
export const DEFAULT_APPROVAL_TTL_MS = 15 * 60 * 1000

/**
 * Most approvals one tenant may have waiting (pending, not expired) at once: each holds the request's
 * arguments, so without a bound one tenant could fill the store (and the in-memory store the heap).
 */
export const DEFAULT_MAX_PENDING_PER_TENANT = 100

export interface ApprovalStoreOptions {
  readonly maxPendingPerTenant?: number
}

function tooManyPending(max: number): TesseraError {
  return rateLimited(
    `Too many approvals are waiting for this tenant (at most ${max}); decide or let some expire first`,
    'max_pending_approvals',
    60_000,
  )
}

function pendingLimit(options: ApprovalStoreOptions): number {
  const max = options.maxPendingPerTenant ?? DEFAULT_MAX_PENDING_PER_TENANT
  if (!Number.isSafeInteger(max) || max <= 0)
    throw new RangeError('maxPendingPerTenant must be a positive integer')
  return max
}

interface ApprovalState {
  readonly status: ApprovalStatus
  readonly payloadHash: string
  readonly usedAt: string | null
  readonly live: boolean
}

/** Why an approval that was not consumed is refused, in the documented order of checks. */
function refusal(state: ApprovalState | null, payloadHash: string): Exclude<ConsumeResult, 'ok'> {
  if (state === null) return 'missing'
  if (state.payloadHash !== payloadHash) return 'mismatch'
  if (state.status === 'rejected') return 'rejected'
  if (state.usedAt !== null) return 'used'
  if (!state.live) return 'expired'
  if (state.status === 'pending') return 'pending'
  return 'used' // approved, unused and live, yet not consumed: another call consumed it in between
}

export class MemoryApprovalStore implements ApprovalStore {
  readonly #approvals = new Map<string, Approval>()
  readonly #maxPending: number

  constructor(options: ApprovalStoreOptions = {}) {
    this.#maxPending = pendingLimit(options)
  }

  async create(pending: PendingApproval): Promise<Approval> {
    let waiting = 0
    for (const a of this.#approvals.values()) {
      if (a.tenantId === pending.tenantId && a.status === 'pending' && isLive(a)) waiting++
    }
    if (waiting >= this.#maxPending) throw tooManyPending(this.#maxPending)
    const approval: Approval = Object.freeze({
      id: randomUUID(),
      status: 'pending',
      tenantId: pending.tenantId,
      userId: pending.userId,
      tool: pending.tool,
      model: pending.model,
      payloadHash: pending.payloadHash,
      args: structuredClone(pending.args),
      createdAt: new Date().toISOString(),
      expiresAt: pending.expiresAt.toISOString(),
      decidedBy: null,
      decidedAt: null,
      usedAt: null,
    })
    this.#approvals.set(approval.id, approval)
    return approval
  }

  async get(id: string): Promise<Approval | null> {
    return this.#approvals.get(id) ?? null
  }

  async approve(id: string, approver: string): Promise<Approval | null> {
    const current = this.#approvals.get(id)
    if (!current || current.status !== 'pending' || !isLive(current)) return null
    return this.#decide(current, 'approved', approver)
  }

  async reject(id: string, approver: string): Promise<Approval | null> {
    const current = this.#approvals.get(id)
    if (!current || current.status !== 'pending') return null
    return this.#decide(current, 'rejected', approver)
  }

  // No await between the check and the update: consuming is atomic on the event loop.
  async consume(id: string, payloadHash: string): Promise<ConsumeResult> {
    const current = this.#approvals.get(id)
    if (!current) return 'missing'
    const state: ApprovalState = { ...current, live: isLive(current) }
    if (
      state.status !== 'approved' ||
      state.usedAt !== null ||
      !state.live ||
      state.payloadHash !== payloadHash
    ) {
      return refusal(state, payloadHash)
    }
    this.#approvals.set(id, Object.freeze({ ...current, usedAt: new Date().toISOString() }))
    return 'ok'
  }

  async list(filter: ApprovalFilter = {}): Promise<Approval[]> {
    return [...this.#approvals.values()]
      .filter(
        (a) =>
          (filter.status === undefined || a.status === filter.status) &&
          (filter.tenantId === undefined || a.tenantId === filter.tenantId),
      )
      .sort((x, y) => (x.createdAt < y.createdAt ? 1 : x.createdAt > y.createdAt ? -1 : 0))
      .slice(0, listLimit(filter))
  }

  #decide(current: Approval, status: ApprovalStatus, approver: string): Approval {
    const next = Object.freeze({
      ...current,
      status,
      decidedBy: approver,
      decidedAt: new Date().toISOString(),
    })
    this.#approvals.set(current.id, next)
    return next
  }
}

function isLive(approval: Approval): boolean {
  return Date.parse(approval.expiresAt) > Date.now()
}

const APPROVAL_TABLE_STATEMENTS: readonly string[] = [
  `create table if not exists tessera_approvals (
  id text primary key,
  status text not null check (status in ('pending', 'approved', 'rejected')),
  tenant_id text not null,
  user_id text,
  tool text not null,
  model text not null,
  payload_hash text not null,
  args jsonb not null,
  created_at timestamptz not null default now(),
  expires_at timestamptz not null,
  decided_by text,
  decided_at timestamptz,
  used_at timestamptz
)`,
  'create index if not exists tessera_approvals_tenant_idx on tessera_approvals (tenant_id, created_at)',
]

/** DDL for the PostgreSQL store's table, for migrations. `id` is text so a malformed id is simply not found. */
export const approvalTableSql = `${APPROVAL_TABLE_STATEMENTS.join(';\n')};\n`

/** Creates the table if it does not exist, one statement at a time (the Tessera dialect sends no multi-statement text). */
export async function ensureApprovalTable(db: StoreTransaction): Promise<void> {
  for (const statement of APPROVAL_TABLE_STATEMENTS) await db.executeQuery(CompiledQuery.raw(statement, []))
}

interface ApprovalRow {
  id: string
  status: ApprovalStatus
  tenant_id: string
  user_id: string | null
  tool: string
  model: string
  payload_hash: string
  args: unknown
  created_at: Date | string
  expires_at: Date | string
  decided_by: string | null
  decided_at: Date | string | null
  used_at: Date | string | null
}

const COLUMNS =
  'id, status, tenant_id, user_id, tool, model, payload_hash, args, created_at, expires_at, decided_by, decided_at, used_at'

/**
 * Approvals in the `tessera_approvals` table (create it with ensureApprovalTable or approvalTableSql). Give it
 * a connection of its own: it runs outside the write's transaction (consuming happens before the write).
 */
export class PostgresApprovalStore implements ApprovalStore {
  readonly #db: StoreTransaction
  readonly #maxPending: number

  constructor(db: StoreTransaction, options: ApprovalStoreOptions = {}) {
    this.#db = db
    this.#maxPending = pendingLimit(options)
  }

  async #rows<R>(text: string, parameters: readonly unknown[]): Promise<R[]> {
    return (await this.#db.executeQuery<R>(CompiledQuery.raw(text, [...parameters]))).rows
  }

  /** The count and the insert are one statement; concurrent creates may overshoot by the number in flight. */
  async create(p: PendingApproval): Promise<Approval> {
    const rows = await this.#rows<ApprovalRow>(
      `insert into tessera_approvals
      (id, status, tenant_id, user_id, tool, model, payload_hash, args, expires_at)
      select $1, 'pending', $2, $3, $4, $5, $6, $7::jsonb, $8::timestamptz
      where (select count(*) from tessera_approvals
             where tenant_id = $2 and status = 'pending' and expires_at > now()) < $9
      returning ${COLUMNS}`,
      [
        randomUUID(),
        p.tenantId,
        p.userId,
        p.tool,
        p.model,
        p.payloadHash,
        JSON.stringify(p.args ?? null),
        p.expiresAt.toISOString(),
        this.#maxPending,
      ],
    )
    if (rows.length === 0) throw tooManyPending(this.#maxPending)
    return toApproval(first(rows))
  }

  async get(id: string): Promise<Approval | null> {
    const rows = await this.#rows<ApprovalRow>(`select ${COLUMNS} from tessera_approvals where id = $1`, [id])
    const row = rows[0]
    return row ? toApproval(row) : null
  }

  async approve(id: string, approver: string): Promise<Approval | null> {
    const rows = await this.#rows<ApprovalRow>(
      `update tessera_approvals
      set status = 'approved', decided_by = $1, decided_at = now()
      where id = $2 and status = 'pending' and expires_at > now()
      returning ${COLUMNS}`,
      [approver, id],
    )
    const row = rows[0]
    return row ? toApproval(row) : null
  }

  async reject(id: string, approver: string): Promise<Approval | null> {
    const rows = await this.#rows<ApprovalRow>(
      `update tessera_approvals
      set status = 'rejected', decided_by = $1, decided_at = now()
      where id = $2 and status = 'pending'
      returning ${COLUMNS}`,
      [approver, id],
    )
    const row = rows[0]
    return row ? toApproval(row) : null
  }

  async list(filter: ApprovalFilter = {}): Promise<Approval[]> {
    const rows = await this.#rows<ApprovalRow>(
      `select ${COLUMNS} from tessera_approvals
      where ($1::text is null or status = $1) and ($2::text is null or tenant_id = $2)
      order by created_at desc, id limit $3`,
      [filter.status ?? null, filter.tenantId ?? null, listLimit(filter)],
    )
    return rows.map(toApproval)
  }

  /** One UPDATE decides: concurrent consumers race on the row lock and only one sees a row come back. */
  async consume(id: string, payloadHash: string): Promise<ConsumeResult> {
    const used = await this.#rows<{ id: string }>(
      `update tessera_approvals set used_at = now()
      where id = $1 and status = 'approved' and used_at is null and payload_hash = $2
        and expires_at > now()
      returning id`,
      [id, payloadHash],
    )
    if (used.length === 1) return 'ok'
    const rows = await this.#rows<{
      status: ApprovalStatus
      payload_hash: string
      used_at: unknown
      live: boolean
    }>(
      'select status, payload_hash, used_at, expires_at > now() as live from tessera_approvals where id = $1',
      [id],
    )
    const row = rows[0]
    return refusal(
      row
        ? {
            status: row.status,
            payloadHash: row.payload_hash,
            usedAt: row.used_at === null ? null : 'used',
            live: row.live,
          }
        : null,
      payloadHash,
    )
  }
}

function first(rows: readonly ApprovalRow[]): ApprovalRow {
  const row = rows[0]
  if (!row) throw new Error('insert returned no row')
  return row
}

function iso(value: Date | string): string {
  return (value instanceof Date ? value : new Date(value)).toISOString()
}

function toApproval(row: ApprovalRow): Approval {
  return Object.freeze({
    id: row.id,
    status: row.status,
    tenantId: row.tenant_id,
    userId: row.user_id,
    tool: row.tool,
    model: row.model,
    payloadHash: row.payload_hash,
    args: row.args,
    createdAt: iso(row.created_at),
    expiresAt: iso(row.expires_at),
    decidedBy: row.decided_by,
    decidedAt: row.decided_at === null ? null : iso(row.decided_at),
    usedAt: row.used_at === null ? null : iso(row.used_at),
  })
}
