/**
 * Factory functions for the errors whose wording matters for security: a denied field and a field that does
 * not exist must produce byte-identical errors, and a row of another tenant must look exactly like a missing
 * row. Build those errors only through these functions so no code path can word them differently.
 */
import { TesseraError, type ErrorDetails } from './tessera-error.ts'

export function modelNotAllowed(model: string): TesseraError {
  return new TesseraError('MODEL_NOT_ALLOWED', `Model '${printable(model)}' is not available`, {
    hints: ['Call describe_schema to list the models you may use'],
    details: { model: printable(model) },
  })
}

/** Same text whether the field is denied or does not exist (docs/contract.md §3: indistinguishable). */
export function fieldNotAllowed(model: string, field: string, usage?: string): TesseraError {
  return new TesseraError(
    'FIELD_NOT_ALLOWED',
    `Field '${printable(field)}' is not available on model '${model}'${usage ? ` for ${usage}` : ''}`,
    {
      hints: ['Call describe_schema to list the fields you may use'],
      details: { model, field: printable(field), ...(usage ? { usage } : {}) },
    },
  )
}

export function relationNotAllowed(model: string, relation: string): TesseraError {
  return new TesseraError(
    'RELATION_NOT_ALLOWED',
    `Relation '${printable(relation)}' is not available on model '${model}'`,
    {
      hints: ['Call describe_schema to list the relations you may include'],
      details: { model, relation: printable(relation) },
    },
  )
}

/** A row that is not visible to the caller and a row that does not exist share this error. */
export function notFound(model: string): TesseraError {
  return new TesseraError('NOT_FOUND', `No ${model} with that id`, { details: { model } })
}

export function tenantScopeRequired(path: string): TesseraError {
  return new TesseraError('TENANT_SCOPE_REQUIRED', `The principal has no value for '${path}'`, {
    hints: ['The application or the credentials must supply this value; it cannot come from tool arguments'],
    details: { path },
  })
}

export function validationError(message: string, issues: readonly ValidationIssue[] = []): TesseraError {
  return new TesseraError('VALIDATION_ERROR', message, {
    details: { issues: issues.map((i) => ({ path: i.path, message: i.message })) },
  })
}

export interface ValidationIssue {
  readonly path: string
  readonly message: string
}

export function invalidCursor(): TesseraError {
  return new TesseraError('INVALID_CURSOR', 'The cursor is not valid for this query', {
    hints: ['Repeat the query without a cursor to start from the first page'],
  })
}

export type BudgetType =
  | 'max_rows'
  | 'max_select_fields'
  | 'max_include_depth'
  | 'max_complexity'
  | 'max_in_items'
  | 'max_filters'
  | 'max_affected_rows'
  | 'max_result_rows'
  | 'max_result_bytes'
  | 'estimated_cost'

/** Each budget by the policy key that sets it, what it bounds, and what a caller lowers to stay inside it. */
const BUDGETS: Readonly<Record<BudgetType, { key: string; bounds: string; lower: string }>> = {
  max_rows: { key: 'maxRows', bounds: 'rows per page', lower: 'Lower `limit` (of the query or the include)' },
  max_select_fields: {
    key: 'maxSelectFields',
    bounds: 'fields selected',
    lower: 'Select fewer fields',
  },
  max_include_depth: {
    key: 'maxIncludeDepth',
    bounds: 'levels of nested includes',
    lower: 'Nest fewer levels of include',
  },
  max_complexity: {
    key: 'maxComplexity',
    bounds: 'query complexity (fields, filters, includes, sort keys)',
    lower: 'Use fewer fields, filters, includes or sort keys',
  },
  max_in_items: {
    key: 'maxInItems',
    bounds: 'values in one in-list',
    lower: 'Put fewer values in the in-list',
  },
  max_filters: { key: 'maxFilters', bounds: 'filter conditions', lower: 'Use fewer filter conditions' },
  max_affected_rows: {
    key: 'write.maxAffectedRows',
    bounds: 'rows one write may change',
    lower: 'Name fewer ids per call',
  },
  max_result_rows: {
    key: 'maxResultRows',
    bounds: 'rows the includes of one statement may add',
    lower:
      'Lower the query `limit` or the `limit` of its to-many includes, or include fewer to-many relations',
  },
  max_result_bytes: {
    key: 'maxResultBytes',
    bounds: 'bytes one call may return',
    lower:
      'Select fewer or smaller fields, lower the `limit` of the query or its includes, or include fewer ' +
      'relations; if such results are expected, raise `budget.maxResultBytes` for this model (or ' +
      '`defaults.budget`) in the policy',
  },
  estimated_cost: {
    key: 'maxEstimatedCost',
    bounds: 'estimated cost',
    lower: 'Add a selective filter or a smaller limit',
  },
}

/**
 * QUERY_BUDGET_EXCEEDED naming the budget (`budget.maxResultRows`), what it bounds, and what to lower. `hint`
 * replaces the generic advice when the caller knows better (e.g. which include fans out).
 */
export function budgetExceeded(
  budgetType: BudgetType,
  limit: number,
  requested: number | undefined,
  hint?: string,
): TesseraError {
  const budget = BUDGETS[budgetType]
  // `requested` is left out where the figure itself would tell something (an estimate from table-wide statistics).
  const amount = requested === undefined ? `over ${limit}` : `${requested} > ${limit}`
  return new TesseraError(
    'QUERY_BUDGET_EXCEEDED',
    `Query exceeds budget.${budget.key}, the ${budget.bounds} (${amount})`,
    {
      hints: [hint ?? budget.lower],
      details: { budgetType, budget: budget.key, limit, ...(requested === undefined ? {} : { requested }) },
    },
  )
}

export function queryTooBroad(model: string, estimatedRows: number): TesseraError {
  return new TesseraError('QUERY_TOO_BROAD', `A query on '${model}' needs a filter`, {
    hints: ['Add a where filter on an indexed field, or a smaller limit'],
    details: { model, estimatedRows },
  })
}

export function timeout(requestId?: string): TesseraError {
  return new TesseraError('TIMEOUT', 'The query took too long and was cancelled', {
    hints: ['Narrow the query'],
    details: requestId ? { requestId } : {},
  })
}

/**
 * A per-tenant limit is reached (concurrent statements, pending approvals). `limit` names it, `retryAfterMs`
 * says when trying again is sensible; nothing about other tenants is revealed.
 */
export function rateLimited(message: string, limit: string, retryAfterMs: number): TesseraError {
  return new TesseraError('RATE_LIMITED', message, {
    hints: [`Retry after about ${retryAfterMs} ms`],
    details: { limit, retryAfterMs },
  })
}

export function writeDisabled(model: string, operation: string): TesseraError {
  return new TesseraError('WRITE_DISABLED', `Operation '${operation}' is not allowed on model '${model}'`, {
    details: { operation, model },
  })
}

export function internalError(requestId?: string, cause?: unknown): TesseraError {
  return new TesseraError('INTERNAL_ERROR', 'Internal error', {
    hints: requestId ? [`Quote request id ${requestId} when reporting this`] : [],
    details: requestId ? { requestId } : {},
    cause,
  })
}

/**
 * A statement reached the toolset's database that src/sql did not print for the call (a query built on the
 * toolset's Kysely instance, or text sent past the printer): refused before it runs where possible, its result
 * refused otherwise. A bug in Tessera or in code that got hold of that instance — never the caller's doing.
 */
export function statementNotPrinted(): TesseraError {
  return new TesseraError('INTERNAL_ERROR', 'Internal error', {
    details: { reason: 'statement_not_printed' },
  })
}

/** `origin` (e.g. the policy file's path) is named in the message when given. */
export function policyInvalid(problems: readonly PolicyProblem[], origin?: string): TesseraError {
  const lines = problems.map((p) => `${p.path}: ${p.message}`)
  const subject = origin === undefined ? 'Policy' : `Policy '${origin}'`
  return new TesseraError('POLICY_INVALID', `${subject} is invalid:\n  ${lines.join('\n  ')}`, {
    details: {
      ...(origin === undefined ? {} : { origin }),
      problems: problems.map((p) =>
        p.reason === undefined
          ? { path: p.path, message: p.message }
          : { path: p.path, message: p.message, reason: p.reason },
      ),
    },
  })
}

/** Stable names for problems a program may want to tell apart (the message is for people). */
export type PolicyProblemReason = 'permissive_rule_crosses_tenant'

export interface PolicyProblem {
  /** Dotted path into the policy, e.g. `models.Order.rowPolicies[0].condition`. */
  readonly path: string
  readonly message: string
  readonly reason?: PolicyProblemReason
}

export function withDetails(error: TesseraError, extra: ErrorDetails): TesseraError {
  return new TesseraError(error.code, error.message, {
    hints: error.hints,
    details: { ...error.details, ...extra },
  })
}

/**
 * Request text echoed in an error is cut and stripped of control and invisible characters, so an error
 * can neither carry a huge payload nor hide characters that make two names look the same. Lone surrogates
 * become `?` and the cut never splits a pair: the text also lands in the audit store's text columns, where
 * PostgreSQL refuses NUL (22021, failing the whole batch) and stores a lone surrogate as U+FFFD (the record's
 * body then disagrees with its column and the chain reads as edited).
 */
export function printable(text: string): string {
  return boundedText(
    text.replace(
      // eslint-disable-next-line no-control-regex
      /[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff]|\p{Cs}/gu,
      '?',
    ),
    64,
  )
}

/**
 * `text` with NUL, other C0/C1 controls and lone surrogates replaced by `?`, cut to at most `max` UTF-16 units
 * without splitting a surrogate pair (`...` marks a cut): for text that is stored, not shown.
 */
export function storableText(text: string, max: number): string {
  // eslint-disable-next-line no-control-regex
  return boundedText(text.replace(/[\u0000-\u001f\u007f-\u009f]|\p{Cs}/gu, '?'), max)
}

function boundedText(text: string, max: number): string {
  if (text.length <= max) return text
  let cut = max - 3
  // A high surrogate at the cut would be left without its pair.
  const last = text.charCodeAt(cut - 1)
  if (last >= 0xd800 && last <= 0xdbff) cut -= 1
  return `${text.slice(0, cut)}...`
}
