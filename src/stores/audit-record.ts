/**
 * One audit record per tool call, success, denial or error (docs/contract.md §6). Records are chained: each carries the
 * hash of the previous one, so an edited or deleted record breaks the chain.
 *
 * Hash definition (stable; stores persist it): `hash = sha256 hex of canonicalJson(record without hash)`, with
 * src/json's canonicalJson (object keys sorted by UTF-16 code units at every level, `undefined` object members
 * dropped, `undefined` array items written as `null`). A record has exactly the fields of `AuditRecord`, so
 * sealing serialises them in their sorted order directly (AUDIT_HASH_FIELDS) and canonicalJson writes each
 * value; a record carrying other members goes through canonicalJson whole. Both give the same text.
 */
import { hash as oneShotHash, randomUUID } from 'node:crypto'
import { canonicalJson } from '../json/index.ts'
import { memberJson, templatedRecordText } from './audit-record-template.ts'
import { argsDigestOf } from './deferred-args-digest.ts'

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
  /**
   * The normalised request after parsing, in full with secrets redacted; the raw arguments sanitised (strings
   * cut, depth bounded) when they did not parse.
   */
  readonly inputs: unknown
  /**
   * HMAC-SHA256 (key derived from the toolset's secret) of the raw arguments' canonical JSON: pins what was
   * submitted even where `inputs` is cut or redacted. Absent on records written before it existed.
   */
  readonly argsDigest?: string | null
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

/** Every member a record's hash covers, in canonical (sorted) order. */
export const AUDIT_HASH_FIELDS = [
  'action',
  'affectedRows',
  'after',
  'argsDigest',
  'before',
  'bypass',
  'durationMs',
  'errorCode',
  'fieldsRedacted',
  'id',
  'inputs',
  'model',
  'outcome',
  'policyVersion',
  'prevHash',
  'reason',
  'requestId',
  'roles',
  'rowCount',
  'rowPolicies',
  'scopesInjected',
  'tenantId',
  'timestamp',
  'tool',
  'traceId',
  'userId',
] as const satisfies readonly (keyof Omit<AuditRecord, 'hash'>)[]

const HASH_FIELD_SET: ReadonlySet<string> = new Set(AUDIT_HASH_FIELDS)

/** sha256 over the record's canonical JSON (without `hash`), chaining `prevHash`. */
export function hashAuditRecord(record: Omit<AuditRecord, 'hash'>): string {
  return oneShotHash(
    'sha256',
    hasOnlyRecordFields(record) ? canonicalRecord(record) : canonicalJson(record),
    'hex',
  )
}

export function sealAuditRecord(
  draft: AuditRecordDraft,
  prevHash: string | null,
  now = new Date(),
): AuditRecord {
  return sealAuditRecordText(draft, prevHash, now).record
}

/** A sealed record and the canonical text its hash covers (the record without `hash`, see the definition). */
export interface SealedAuditText {
  readonly record: AuditRecord
  readonly text: string
}

/** sealAuditRecord, also handing back the canonical text it hashed (what a store can keep instead of the object). */
export function sealAuditRecordText(
  draft: AuditRecordDraft,
  prevHash: string | null,
  now = new Date(),
): SealedAuditText {
  // One object, built from the draft's known fields only, so the fixed-order serialiser applies. One literal
  // (no spread: a conditional spread made every record a slow-mode object): a draft without argsDigest, written
  // before it existed, has the member deleted again.
  const digest = argsDigestOf(draft)
  const record = {
    tool: draft.tool,
    model: draft.model,
    action: draft.action,
    outcome: draft.outcome,
    errorCode: draft.errorCode,
    tenantId: draft.tenantId,
    userId: draft.userId,
    roles: draft.roles,
    requestId: draft.requestId,
    traceId: draft.traceId,
    inputs: draft.inputs,
    argsDigest: digest ?? null,
    scopesInjected: draft.scopesInjected,
    rowPolicies: draft.rowPolicies,
    bypass: draft.bypass,
    fieldsRedacted: draft.fieldsRedacted,
    rowCount: draft.rowCount,
    affectedRows: draft.affectedRows,
    durationMs: draft.durationMs,
    reason: draft.reason,
    before: draft.before,
    after: draft.after,
    policyVersion: draft.policyVersion,
    id: randomUUID(),
    timestamp: isoTimestamp(now),
    prevHash,
    hash: '',
  }
  if (digest === undefined) delete (record as { argsDigest?: string | null }).argsDigest
  // The tool's template when its repeating members are the same as last time (audit-record-template.ts).
  const text = templatedRecordText(record) ?? canonicalRecord(record)
  record.hash = oneShotHash('sha256', text, 'hex')
  return { record, text }
}

/**
 * The record whose canonical text is `text` and whose hash is `hash`, as sealAuditRecordText built it: the same
 * members in the same order (a member that was `undefined` is present and `undefined`, argsDigest absent when
 * the text has none). Exact for records of plain JSON-like data (isDeferrable): JSON.parse gives back what
 * canonicalJson wrote, nested objects with their keys in sorted order.
 */
export function parseSealedRecord(text: string, hash: string): AuditRecord {
  const o = JSON.parse(text) as Omit<AuditRecord, 'hash'>
  const record = {
    tool: o.tool,
    model: o.model,
    action: o.action,
    outcome: o.outcome,
    errorCode: o.errorCode,
    tenantId: o.tenantId,
    userId: o.userId,
    roles: o.roles,
    requestId: o.requestId,
    traceId: o.traceId,
    inputs: o.inputs,
    argsDigest: o.argsDigest ?? null,
    scopesInjected: o.scopesInjected,
    rowPolicies: o.rowPolicies,
    bypass: o.bypass,
    fieldsRedacted: o.fieldsRedacted,
    rowCount: o.rowCount,
    affectedRows: o.affectedRows,
    durationMs: o.durationMs,
    reason: o.reason,
    before: o.before,
    after: o.after,
    policyVersion: o.policyVersion,
    id: o.id,
    timestamp: o.timestamp,
    prevHash: o.prevHash,
    hash,
  }
  if (!('argsDigest' in o)) delete (record as { argsDigest?: string | null }).argsDigest
  return record
}

/** The last timestamp written, and its text: records sealed in a batch often share their millisecond. */
let lastTimestampMs = Number.NaN
let lastTimestamp = ''

/** `date.toISOString()`, remembered for the last millisecond seen (an invalid date still throws). */
function isoTimestamp(date: Date): string {
  const ms = date.getTime()
  if (ms === lastTimestampMs) return lastTimestamp
  const text = date.toISOString()
  lastTimestampMs = ms
  lastTimestamp = text
  return text
}

/**
 * Verifies a chain in order; returns the index of the first broken record, or -1. The first record must link
 * to `anchor`: the genesis (null) for a complete chain, or the hash of the last record before `records` (for a
 * store that dropped its oldest records: the stores record that hash as the chain's signed cut, which their
 * `verify()` checks).
 */
export function verifyAuditChain(
  records: readonly AuditRecord[],
  anchor: string | null = GENESIS_HASH,
): number {
  let prev: string | null = anchor
  for (let i = 0; i < records.length; i++) {
    const r = records[i] as AuditRecord
    const { hash, ...rest } = r
    if (r.prevHash !== prev || hashAuditRecord(rest) !== hash) return i
    prev = hash
  }
  return -1
}

function hasOnlyRecordFields(record: object): boolean {
  for (const key of Object.keys(record)) if (!HASH_FIELD_SET.has(key)) return false
  return true
}

/**
 * canonical(record) for a record whose own members are all AUDIT_HASH_FIELDS (`hash` excluded): every member
 * written in the sorted order by name, straight-line (no loop over names, no keyed reads), skipping an
 * `undefined` one as canonicalJson does. Each member is `,"name":value`; the first comma becomes the brace.
 */
function canonicalRecord(record: Omit<AuditRecord, 'hash'>): string {
  const r = record as Partial<Record<keyof Omit<AuditRecord, 'hash'>, unknown>>
  let out = ''
  if (r.action !== undefined) out += `,"action":${memberJson(r.action)}`
  if (r.affectedRows !== undefined) out += `,"affectedRows":${memberJson(r.affectedRows)}`
  if (r.after !== undefined) out += `,"after":${memberJson(r.after)}`
  if (r.argsDigest !== undefined) out += `,"argsDigest":${memberJson(r.argsDigest)}`
  if (r.before !== undefined) out += `,"before":${memberJson(r.before)}`
  if (r.bypass !== undefined) out += `,"bypass":${memberJson(r.bypass)}`
  if (r.durationMs !== undefined) out += `,"durationMs":${memberJson(r.durationMs)}`
  if (r.errorCode !== undefined) out += `,"errorCode":${memberJson(r.errorCode)}`
  if (r.fieldsRedacted !== undefined) out += `,"fieldsRedacted":${memberJson(r.fieldsRedacted)}`
  if (r.id !== undefined) out += `,"id":${memberJson(r.id)}`
  if (r.inputs !== undefined) out += `,"inputs":${memberJson(r.inputs)}`
  if (r.model !== undefined) out += `,"model":${memberJson(r.model)}`
  if (r.outcome !== undefined) out += `,"outcome":${memberJson(r.outcome)}`
  if (r.policyVersion !== undefined) out += `,"policyVersion":${memberJson(r.policyVersion)}`
  if (r.prevHash !== undefined) out += `,"prevHash":${memberJson(r.prevHash)}`
  if (r.reason !== undefined) out += `,"reason":${memberJson(r.reason)}`
  if (r.requestId !== undefined) out += `,"requestId":${memberJson(r.requestId)}`
  if (r.roles !== undefined) out += `,"roles":${memberJson(r.roles)}`
  if (r.rowCount !== undefined) out += `,"rowCount":${memberJson(r.rowCount)}`
  if (r.rowPolicies !== undefined) out += `,"rowPolicies":${memberJson(r.rowPolicies)}`
  if (r.scopesInjected !== undefined) out += `,"scopesInjected":${memberJson(r.scopesInjected)}`
  if (r.tenantId !== undefined) out += `,"tenantId":${memberJson(r.tenantId)}`
  if (r.timestamp !== undefined) out += `,"timestamp":${memberJson(r.timestamp)}`
  if (r.tool !== undefined) out += `,"tool":${memberJson(r.tool)}`
  if (r.traceId !== undefined) out += `,"traceId":${memberJson(r.traceId)}`
  if (r.userId !== undefined) out += `,"userId":${memberJson(r.userId)}`
  return out === '' ? '{}' : `{${out.slice(1)}}`
}
