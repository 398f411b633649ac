/**
 * Sorts errors coming out of `pg` (or PGlite through its node-postgres adapter) into "the server rejected
 * this statement" and "the connection itself is suspect". The dialect destroys a connection of the second
 * kind instead of returning it to the pool, and the error mapper uses the same reading of SQLSTATE codes.
 */
import { RESULT_BYTES_MARKER } from '../sql/index.ts'

/** An error reported by the server for one statement: it carries a SQLSTATE and a severity. */
export interface SqlStateError {
  readonly code: string
  readonly severity: string | undefined
}

const SQLSTATE = /^[0-9A-Z]{5}$/

/**
 * True for an error the server sent as an ErrorResponse. Node system errors also carry a `code` (some even
 * of five capital letters, like EPIPE), so the presence of `severity` is what tells them apart.
 */
export function isSqlStateError(err: unknown): err is SqlStateError {
  if (typeof err !== 'object' || err === null || !('code' in err) || !('severity' in err)) return false
  return typeof err.code === 'string' && SQLSTATE.test(err.code)
}

/**
 * True for PostgreSQL refusing a new row because it fails a row-level security policy's WITH CHECK
 * ("new row violates row-level security policy"). Its SQLSTATE, 42501, is also that of a missing grant, which
 * is our fault, not the caller's; the two are told apart by the server function that raised the error (the
 * `routine` field names source code, so, unlike the message, it is never translated).
 */
export function isRowSecurityCheckError(err: unknown): boolean {
  if (!isSqlStateError(err) || err.code !== '42501') return false
  return (err as { routine?: unknown }).routine === 'ExecWithCheckOptions'
}

/**
 * True for a write statement refusing its own row because the row fails the write check (src/sql print-write.ts
 * checkColumn with `abort`): PostgreSQL's "more than one row returned by a subquery used as an expression"
 * (21000, raised in ExecSetParamPlan — `routine` names source code, so it is never translated) from the
 * statement itself. The same error from inside a function or trigger the statement set off carries a context
 * (`where`), and is not this.
 */
export function isWriteCheckAbort(err: unknown): boolean {
  if (!isSqlStateError(err) || err.code !== '21000') return false
  const { routine, where } = err as { routine?: unknown; where?: unknown }
  return routine === 'ExecSetParamPlan' && (where === undefined || where === null || where === '')
}

/**
 * True when the connection that raised `err` must not be reused. Fails closed: anything that is not a
 * plain statement-level SQL error (socket errors, "Connection terminated", pg client-side errors, FATAL
 * messages, admin shutdown 57P01, connection exceptions 08xxx, system and internal errors) counts.
 */
export function isConnectionLevelError(err: unknown): boolean {
  if (!isSqlStateError(err)) return true
  const { code, severity } = err
  // why: FATAL and PANIC end the session; the severity text may be localised, the codes below are not.
  if (severity === 'FATAL' || severity === 'PANIC') return true
  const sqlClass = code.slice(0, 2)
  if (sqlClass === '08' || sqlClass === '58' || sqlClass === 'XX') return true
  // 57014 (query_canceled by statement_timeout) leaves the session clean; 57000 and 57P0x do not.
  return code === '57000' || code.startsWith('57P')
}

/**
 * The byte budget a read statement refused itself with (src/sql/print-result-budget.ts), or undefined. The
 * statement fails a cast of `tessera:maxResultBytes:<budget>:<bytes>` to integer (22P02); PostgreSQL quotes
 * the value in its message whatever the message language, and no other statement Tessera prints casts text
 * it built to an integer, so the marker with its numbers is this refusal.
 */
export function resultBytesBudgetOf(err: unknown): number | undefined {
  if (!isSqlStateError(err) || err.code !== '22P02') return undefined
  const message = (err as { message?: unknown }).message
  if (typeof message !== 'string') return undefined
  const at = message.indexOf(RESULT_BYTES_MARKER)
  if (at < 0) return undefined
  const match = /^(\d+):\d+/.exec(message.slice(at + RESULT_BYTES_MARKER.length))
  return match === null ? undefined : Number(match[1])
}
