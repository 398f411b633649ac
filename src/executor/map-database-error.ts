/**
 * Turns whatever a query threw into a TesseraError a caller may see. Database text (message, detail, hint,
 * where, constraint and column names) can carry another tenant's values or reveal that a row exists
 * (docs/threats.md facts 1 and 6), so none of it is copied into the result: the caller gets a fixed sentence per
 * class of failure, and the original error goes to the log with the request id.
 */
import type { Logger } from 'pino'
import {
  TesseraError,
  budgetExceeded,
  internalError,
  isTesseraError,
  timeout,
  validationError,
} from '../errors/index.ts'
import { isSqlStateError, resultBytesBudgetOf } from './database-error-kind.ts'
import { isPoolExhaustedError } from './pool-exhausted-error.ts'

export function mapDatabaseError(err: unknown, requestId: string, logger?: Logger): TesseraError {
  if (isTesseraError(err)) return err
  logger?.error({ requestId, dbError: describeForLog(err) }, 'database call failed')
  if (isPoolExhaustedError(err)) return internalError(requestId)
  if (!isSqlStateError(err)) return internalError(requestId)
  const { code } = err
  if (code === '57014') return timeout(requestId)
  if (code === '23505') return validationError('The write conflicts with an existing record')
  if (code === '23503') return new TesseraError('NOT_FOUND', 'A referenced record does not exist')
  // Other integrity violations (not-null 23502, check 23514, exclusion 23P01) are the request's fault too.
  if (code.startsWith('23')) return validationError('The values break a rule of the table')
  const byteBudget = resultBytesBudgetOf(err)
  if (byteBudget !== undefined) return budgetExceeded('max_result_bytes', byteBudget, undefined)
  if (code.startsWith('22')) return validationError('A value has the wrong format')
  // 42xxx (syntax, undefined objects, 42501 insufficient privilege) means the plan or the grants are wrong:
  // an internal error, not something the caller can fix.
  return internalError(requestId)
}

/**
 * What the log gets: enough to diagnose (code, severity, message, the object names PostgreSQL reports),
 * never `detail` (it holds row values) and never the bound parameters.
 */
function describeForLog(err: unknown): Record<string, unknown> {
  if (!(err instanceof Error)) return { type: typeof err }
  const out: Record<string, unknown> = { name: err.name, message: err.message }
  const extra = err as Error & Partial<Record<LoggedField, unknown>>
  for (const field of LOGGED_FIELDS) {
    const value = extra[field]
    if (typeof value === 'string' || typeof value === 'number') out[field] = value
  }
  // A stack helps with a bug in our own code; a server error's stack only shows pg internals.
  if (!isSqlStateError(err) && err.stack !== undefined) out['stack'] = err.stack
  return out
}

const LOGGED_FIELDS = [
  'code',
  'severity',
  'schema',
  'table',
  'column',
  'constraint',
  'routine',
  'timeoutMs',
] as const
type LoggedField = (typeof LOGGED_FIELDS)[number]
