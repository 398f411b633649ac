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

/**
 * What the operator log may say about a failed audit INSERT: the SQLSTATE and the names PostgreSQL reports
 * (table, column, constraint, data type, schema), never its message, detail or hint. Those quote the data: a
 * class 22 message names the value it could not take (`invalid input syntax for type integer: "…"`), a class 23
 * detail prints the whole row (`Failing row contains (…)`), and an audit record holds call inputs and row images
 * that the audit redacts only inside the record. An error without a SQLSTATE did not come from the server (a
 * refused or reset connection, a pool timeout, a record that could not be sealed): its code and message are
 * the client's own words, kept because the operator needs them and they carry no stored value.
 */
export interface AuditFailureFacts {
  readonly sqlState: string | null
  readonly table?: string
  readonly column?: string
  readonly constraint?: string
  readonly dataType?: string
  readonly schema?: string
  /** Node's or the driver's own code (`ECONNREFUSED`), when there is no SQLSTATE. */
  readonly code?: string
  /** Only when there is no SQLSTATE (see above). */
  readonly message?: string
}

/** The server's field names for the objects an error is about, as node-postgres exposes them. */
const NAMED_FIELDS = ['table', 'column', 'constraint', 'dataType', 'schema'] as const

/** Identifiers are at most 63 bytes; anything longer is not one and is cut. */
const MAX_NAME = 128

export function auditFailureFacts(error: unknown): AuditFailureFacts {
  const sqlState = sqlStateOf(error)
  const facts: { -readonly [K in keyof AuditFailureFacts]: AuditFailureFacts[K] } = { sqlState }
  if (typeof error !== 'object' || error === null) {
    if (sqlState === null) facts.message = String(error).slice(0, 1_000)
    return facts
  }
  const fields = error as Partial<Record<(typeof NAMED_FIELDS)[number] | 'code' | 'message', unknown>>
  for (const name of NAMED_FIELDS) {
    const value = fields[name]
    if (typeof value === 'string' && value !== '') facts[name] = value.slice(0, MAX_NAME)
  }
  if (sqlState === null) {
    if (typeof fields.code === 'string') facts.code = fields.code.slice(0, MAX_NAME)
    if (typeof fields.message === 'string') facts.message = fields.message.slice(0, 1_000)
  }
  return facts
}

/**
 * auditFailureFacts as one line for an Error's message (`SQLSTATE 22P02 (table tessera_audit, column
 * user_id)`): thrown errors reach the host's logs and the toolset's, so they say no more than the log does.
 */
export function auditFailureText(error: unknown): string {
  const facts = auditFailureFacts(error)
  if (facts.sqlState === null) return [facts.code, facts.message].filter((p) => p !== undefined).join(': ')
  const names = NAMED_FIELDS.flatMap((name) => {
    const value = facts[name]
    return value === undefined ? [] : [`${name} ${value}`]
  })
  return `SQLSTATE ${facts.sqlState}${names.length > 0 ? ` (${names.join(', ')})` : ''}`
}
