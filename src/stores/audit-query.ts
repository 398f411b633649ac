/**
 * One reading of an audit query for every store: validated the same way (a malformed filter is a
 * VALIDATION_ERROR, never a silently different answer), the same defaults, the same order (newest first:
 * timestamp, then chain and seq descending, so records sealed in the same millisecond keep a stable order).
 */
import { validationError, type ValidationIssue } from '../errors/index.ts'
import type { AuditOutcome, AuditRecord } from './audit-record.ts'
import type { ChainedRecord } from './audit-chain.ts'
import type { AuditFilter, AuditQuery } from './audit-store.ts'

export const AUDIT_QUERY_DEFAULT_LIMIT = 1_000
export const AUDIT_QUERY_MAX_LIMIT = 10_000

export interface NormalizedAuditFilter {
  readonly tenantId: string | undefined
  readonly userId: string | undefined
  readonly tool: string | undefined
  readonly model: string | undefined
  readonly outcome: AuditOutcome | undefined
  /** ISO-8601 (UTC, milliseconds), comparable as strings with record timestamps. */
  readonly from: string | undefined
  readonly to: string | undefined
}

export interface NormalizedAuditQuery extends NormalizedAuditFilter {
  readonly limit: number
  readonly offset: number
}

const STRING_FILTERS = ['tenantId', 'userId', 'tool', 'model'] as const
const OUTCOMES: ReadonlySet<string> = new Set<AuditOutcome>(['success', 'denied', 'error'])
const KNOWN_KEYS: ReadonlySet<string> = new Set([
  ...STRING_FILTERS,
  'outcome',
  'from',
  'to',
  'limit',
  'offset',
])

export function normalizeAuditFilter(filter: AuditFilter | undefined): NormalizedAuditFilter {
  return normalize(filter ?? {}, false)
}

export function normalizeAuditQuery(query: AuditQuery | undefined): NormalizedAuditQuery {
  return normalize(query ?? {}, true) as NormalizedAuditQuery
}

function normalize(input: AuditQuery, paging: boolean): NormalizedAuditFilter | NormalizedAuditQuery {
  const issues: ValidationIssue[] = []
  if (typeof input !== 'object' || input === null) throw validationError('Audit filter must be an object')
  for (const key of Object.keys(input)) {
    if (!KNOWN_KEYS.has(key) || (!paging && (key === 'limit' || key === 'offset'))) {
      issues.push({ path: key, message: 'unknown filter' })
    }
  }
  const text: Partial<Record<(typeof STRING_FILTERS)[number], string>> = {}
  for (const key of STRING_FILTERS) {
    const value: unknown = input[key]
    if (value === undefined) continue
    if (typeof value !== 'string') issues.push({ path: key, message: 'must be a string' })
    else text[key] = value
  }
  const outcome: unknown = input.outcome
  if (outcome !== undefined && (typeof outcome !== 'string' || !OUTCOMES.has(outcome))) {
    issues.push({ path: 'outcome', message: "must be 'success', 'denied' or 'error'" })
  }
  const from = instant(input.from, 'from', issues)
  const to = instant(input.to, 'to', issues)
  const limit = paging ? count(input.limit, 'limit', AUDIT_QUERY_DEFAULT_LIMIT, 1, issues) : 0
  const offset = paging ? count(input.offset, 'offset', 0, 0, issues) : 0
  if (issues.length > 0) throw validationError('Invalid audit query', issues)
  return {
    tenantId: text.tenantId,
    userId: text.userId,
    tool: text.tool,
    model: text.model,
    outcome: outcome as AuditOutcome | undefined,
    from,
    to,
    ...(paging ? { limit, offset } : {}),
  }
}

function instant(value: unknown, path: string, issues: ValidationIssue[]): string | undefined {
  if (value === undefined) return undefined
  const ms =
    value instanceof Date ? value.getTime() : typeof value === 'string' ? Date.parse(value) : Number.NaN
  if (!Number.isFinite(ms)) {
    issues.push({ path, message: 'must be a Date or an ISO-8601 time' })
    return undefined
  }
  return new Date(ms).toISOString()
}

function count(
  value: unknown,
  path: string,
  fallback: number,
  min: number,
  issues: ValidationIssue[],
): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
    issues.push({ path, message: `must be an integer ≥ ${min}` })
    return fallback
  }
  if (path === 'limit' && value > AUDIT_QUERY_MAX_LIMIT) {
    issues.push({ path, message: `must be at most ${AUDIT_QUERY_MAX_LIMIT}; page with offset` })
  }
  return value
}

/** Whether a record passes the filter (the in-process stores' WHERE clause). */
export function auditRecordMatches(r: AuditRecord, f: NormalizedAuditFilter): boolean {
  return (
    (f.tenantId === undefined || r.tenantId === f.tenantId) &&
    (f.userId === undefined || r.userId === f.userId) &&
    (f.tool === undefined || r.tool === f.tool) &&
    (f.model === undefined || r.model === f.model) &&
    (f.outcome === undefined || r.outcome === f.outcome) &&
    (f.from === undefined || r.timestamp >= f.from) &&
    (f.to === undefined || r.timestamp <= f.to)
  )
}

/** Newest first: timestamp, then chain, then seq, all descending (the PostgreSQL store's ORDER BY). */
export function newestFirst(a: ChainedRecord, b: ChainedRecord): number {
  if (a.record.timestamp !== b.record.timestamp) return a.record.timestamp < b.record.timestamp ? 1 : -1
  if (a.chain !== b.chain) return a.chain < b.chain ? 1 : -1
  return b.seq - a.seq
}

/** Filter, order and page entries held in process (memory and JSONL stores). */
export function selectEntries(entries: Iterable<ChainedRecord>, query: NormalizedAuditQuery): AuditRecord[] {
  const matches: ChainedRecord[] = []
  for (const e of entries) if (auditRecordMatches(e.record, query)) matches.push(e)
  matches.sort(newestFirst)
  return matches.slice(query.offset, query.offset + query.limit).map((e) => e.record)
}
