/**
 * Whether an audit draft may be sealed later than it is accepted (AuditStore.record): the memory store seals
 * accepted drafts in batches, the PostgreSQL store in its batched durability stores them in batches. Only a
 * draft whose sealing is certain to succeed and to give the same hash later may wait; any other is sealed at
 * once, so `record()` rejects exactly when `append()` would.
 */
import type { AuditRecordDraft } from './audit-record.ts'
import { dataKind } from './data-kind.ts'

/** Bounds of the deferrability check: deeper or larger values are sealed at once. */
const MAX_DEFERRED_DEPTH = 16
const MAX_DEFERRED_NODES = 2_000

/** Nodes left for the deferrability check of the current draft. */
let deferBudget = 0

/**
 * Whether sealing `draft` later is certain to succeed and give the hash sealing it now would: every member is
 * JSON-like plain data (no bigint, Date, class instances, functions or
 * symbols), within depth and size bounds (so no cycle). Reads each value once, like sealing does.
 */
export function isDeferrable(draft: AuditRecordDraft): boolean {
  deferBudget = MAX_DEFERRED_NODES
  try {
    for (const key of Object.keys(draft)) {
      if (!isPlainData((draft as unknown as Record<string, unknown>)[key], 0)) return false
    }
    return true
  } catch {
    // A getter that throws: seal at once, which fails as append would.
    return false
  }
}

function isPlainData(value: unknown, depth: number): boolean {
  if (--deferBudget < 0) return false
  const kind = dataKind(value)
  if (kind !== 'object') return kind === 'scalar' || kind === 'undefined'
  if (depth >= MAX_DEFERRED_DEPTH) return false
  const proto: unknown = Object.getPrototypeOf(value)
  if (Array.isArray(value)) {
    if (proto !== Array.prototype) return false
    const items: readonly unknown[] = value
    for (let i = 0; i < items.length; i++) if (!isPlainData(items[i], depth + 1)) return false
    return true
  }
  if (proto !== Object.prototype && proto !== null) return false
  const record = value as Record<string, unknown>
  for (const key of Object.keys(record)) if (!isPlainData(record[key], depth + 1)) return false
  return true
}
