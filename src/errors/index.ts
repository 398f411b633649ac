export { ERROR_CODES, TesseraError, isTesseraError, isErrorCode } from './tessera-error.ts'
export type { ErrorCode, ErrorDetails, TesseraErrorOptions, SerializedError } from './tessera-error.ts'
export {
  modelNotAllowed,
  fieldNotAllowed,
  relationNotAllowed,
  notFound,
  tenantScopeRequired,
  validationError,
  invalidCursor,
  budgetExceeded,
  queryTooBroad,
  timeout,
  writeDisabled,
  rateLimited,
  internalError,
  statementNotPrinted,
  policyInvalid,
  withDetails,
  printable,
  storableText,
} from './error-factories.ts'
export type { ValidationIssue, BudgetType, PolicyProblem, PolicyProblemReason } from './error-factories.ts'
