/**
 * Why an audit INSERT failed, and who hears about it. The PostgreSQL store (its batched backlog and its
 * per-call appends) must react differently to a record the table refuses and to a database it cannot reach:
 * retrying a refused record forever would wedge every record queued behind it, and dropping records because
 * the connection blinked would lose them for nothing (docs/decisions.md, "A failed audit INSERT").
 */
import { pino } from 'pino'

/**
 * - `record`: the table refused this statement's data (SQLSTATE class 22 data exception, 23 integrity
 *   constraint — a check or trigger the operator added, a value a column rejects, a position already taken).
 *   Another record may well go through: find the refused ones and go on.
 * - `transient`: the statement may succeed when sent again (no SQLSTATE: the connection was refused, reset or
 *   closed, a pool timed out; class 08 connection, 40 rollback, 53 resources, 57 operator intervention — a
 *   server shutting down —, 58 system, 55P03 lock not available).
 * - `store`: no record can be stored until an operator acts (any other SQLSTATE: 42P01 the table is gone,
 *   42501 the privilege was revoked, 42703 a column is missing, 25006 a read-only server, …).
 */
export type AuditInsertFailure = 'record' | 'transient' | 'store'

const TRANSIENT_CLASSES: ReadonlySet<string> = new Set(['08', '40', '53', '57', '58'])

export function sqlStateOf(error: unknown): string | null {
  if (typeof error !== 'object' || error === null) return null
  const code: unknown = (error as { code?: unknown }).code
  // A SQLSTATE is five characters of [0-9A-Z]; node's own errors (ECONNRESET, …) have longer codes.
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : null
}

export function classifyAuditInsertFailure(error: unknown): AuditInsertFailure {
  const state = sqlStateOf(error)
  if (state === null || state === '55P03') return 'transient'
  const cls = state.slice(0, 2)
  if (cls === '22' || cls === '23') return 'record'
  return TRANSIENT_CLASSES.has(cls) ? 'transient' : 'store'
}

/**
 * The statement's position was taken (the primary key of tessera_audit): after an attempt whose reply was lost,
 * that is the attempt itself having committed.
 */
export function isPositionTaken(error: unknown): boolean {
  return (
    sqlStateOf(error) === '23505' && (error as { constraint?: unknown }).constraint === 'tessera_audit_pkey'
  )
}

/** What the store reports through: a pino logger (the toolset's), or anything with these two methods. */
export interface AuditStoreLogger {
  error(object: object, message: string): void
  warn(object: object, message: string): void
}

let fallback: AuditStoreLogger | undefined

/** Errors only, JSON to stderr: a store given no logger still never fails silently. */
export function fallbackAuditLogger(): AuditStoreLogger {
  fallback ??= pino({ name: 'tessera', level: 'warn' }, pino.destination({ fd: 2, sync: false }))
  return fallback
}

export function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}
