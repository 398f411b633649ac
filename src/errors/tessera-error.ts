/**
 * The one error class of Tessera (docs/contract.md §4). Every failure a caller can see is a TesseraError with a stable
 * `code`; anything else is wrapped as INTERNAL_ERROR before it leaves the toolset, so database text, SQL and
 * stack traces never reach a caller.
 */
export const ERROR_CODES = [
  'MODEL_NOT_ALLOWED',
  'FIELD_NOT_ALLOWED',
  'RELATION_NOT_ALLOWED',
  'TENANT_SCOPE_REQUIRED',
  'NOT_FOUND',
  'VALIDATION_ERROR',
  'INVALID_CURSOR',
  'QUERY_TOO_BROAD',
  'QUERY_BUDGET_EXCEEDED',
  'TIMEOUT',
  'WRITE_DISABLED',
  'WRITE_APPROVAL_REQUIRED',
  'MAX_AFFECTED_ROWS_EXCEEDED',
  'RATE_LIMITED',
  'AUTHENTICATION_REQUIRED',
  'POLICY_INVALID',
  'DATABASE_UNAVAILABLE',
  'SETUP_INVALID',
  'INTERNAL_ERROR',
] as const

export type ErrorCode = (typeof ERROR_CODES)[number]

export type ErrorDetails = Readonly<Record<string, unknown>>

export interface TesseraErrorOptions {
  readonly hints?: readonly string[]
  readonly details?: ErrorDetails
  readonly cause?: unknown
}

export class TesseraError extends Error {
  override readonly name = 'TesseraError'
  readonly code: ErrorCode
  readonly hints: readonly string[]
  readonly details: ErrorDetails

  constructor(code: ErrorCode, message: string, options: TesseraErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.code = code
    this.hints = Object.freeze([...(options.hints ?? [])])
    this.details = Object.freeze({ ...(options.details ?? {}) })
  }

  /** The shape a caller (MCP client, `toolset.call`) sees: no stack, no cause. */
  toJSON(): SerializedError {
    return { code: this.code, message: this.message, hints: [...this.hints], details: { ...this.details } }
  }
}

export interface SerializedError {
  code: ErrorCode
  message: string
  hints: string[]
  details: Record<string, unknown>
}

export function isTesseraError(value: unknown): value is TesseraError {
  return value instanceof TesseraError
}

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && (ERROR_CODES as readonly string[]).includes(value)
}
