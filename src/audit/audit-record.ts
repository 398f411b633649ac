/**
 * One audit record per tool call, success, denial or error (DESIGN §6). Records are chained: each carries the
 * hash of the previous one, so an edited or deleted record breaks the chain.
 */
import { createHash, randomUUID } from 'node:crypto'

export type AuditOutcome = 'success' | 'denied' | 'error'

export type AuditAction = 'describe' | 'read' | 'aggregate' | 'create' | 'update' | 'delete' | 'bulk_update'

export interface AuditRecordDraft {
  readonly tool: string
  readonly model: string | null
  readonly action: AuditAction
  readonly outcome: AuditOutcome
  readonly errorCode: string | null
  readonly tenantId: string | null
  readonly userId: string | null
  readonly roles: readonly string[]
  readonly requestId: string
  readonly traceId: string | null
  /** Tool arguments after sanitising (strings cut, depth bounded). */
  readonly inputs: unknown
  readonly scopesInjected: readonly string[]
  readonly rowPolicies: readonly string[]
  readonly bypass: string | null
  readonly fieldsRedacted: readonly string[]
  readonly rowCount: number | null
  readonly affectedRows: number | null
  readonly durationMs: number
  readonly reason: string | null
  readonly before: unknown
  readonly after: unknown
  readonly policyVersion: string
}

export interface AuditRecord extends AuditRecordDraft {
  readonly id: string
  readonly timestamp: string
  readonly prevHash: string | null
  readonly hash: string
}

export const GENESIS_HASH = null

/** sha256 over the record's canonical JSON (without `hash`), chaining `prevHash`. */
export function hashAuditRecord(record: Omit<AuditRecord, 'hash'>): string {
  return createHash('sha256').update(canonical(record)).digest('hex')
}

export function sealAuditRecord(
  draft: AuditRecordDraft,
  prevHash: string | null,
  now = new Date(),
): AuditRecord {
  const unsealed: Omit<AuditRecord, 'hash'> = {
    ...draft,
    id: randomUUID(),
    timestamp: now.toISOString(),
    prevHash,
  }
  return { ...unsealed, hash: hashAuditRecord(unsealed) }
}

/** Verifies a chain in order; returns the index of the first broken record, or -1. */
export function verifyAuditChain(records: readonly AuditRecord[]): number {
  let prev: string | null = null
  for (let i = 0; i < records.length; i++) {
    const r = records[i] as AuditRecord
    const { hash, ...rest } = r
    if (r.prevHash !== prev || hashAuditRecord(rest) !== hash) return i
    prev = hash
  }
  return -1
}

function canonical(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null'
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`
}

/** Cuts long strings and deep structures so an audit record never stores a whole payload verbatim. */
export function sanitizeAuditInput(value: unknown, depth = 0): unknown {
  if (typeof value === 'string')
    return value.length > 256 ? `${value.slice(0, 256)}…[${value.length} chars]` : value
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) return value
  if (typeof value === 'bigint') return value.toString()
  if (depth >= 6) return '[…]'
  if (Array.isArray(value)) {
    const head = value.slice(0, 50).map((v) => sanitizeAuditInput(v, depth + 1))
    return value.length > 50 ? [...head, `…[${value.length - 50} more]`] : head
  }
  if (typeof value === 'object' && value !== undefined) {
    const out: Record<string, unknown> = {}
    for (const key of Object.keys(value as object).slice(0, 100)) {
      out[key] = sanitizeAuditInput((value as Record<string, unknown>)[key], depth + 1)
    }
    return out
  }
  return null
}
