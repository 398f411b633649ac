/**
 * What every tool needs at run time, assembled once by createToolset, plus the wrappers that give every call
 * the same life cycle: validate the context, run, map unknown errors to safe ones, and audit — success, denial
 * or error alike. Reads append their record afterwards; writes stage it inside their transaction.
 */
import { randomUUID } from 'node:crypto'
import type { Logger } from 'pino'
import {
  type AuditAction,
  type AuditOutcome,
  type AuditRecordDraft,
  type AuditReservation,
  type AuditStore,
  type StagedAudit,
  auditFailureFacts,
  sanitizeAuditInput,
  digestAuditArgs,
  auditArgsText,
  deferArgsDigest,
  boundRedactedImage,
  type ApprovalStore,
  type StoreTransaction,
} from '../stores/index.ts'
import { parseRunContext, type RunContext } from '../context/index.ts'
import type { InputLimits } from '../request/index.ts'
import {
  type ErrorCode,
  internalError,
  isTesseraError,
  storableText,
  type TesseraError,
} from '../errors/index.ts'
import { type PlanExecutor, mapDatabaseError } from '../executor/index.ts'
import type { BoundPolicy } from '../policy/index.ts'
import { fallbackLogger } from './create-logger.ts'
import type { ReadShapeCache } from './read-shape-cache.ts'

export interface ToolRuntime {
  readonly bound: BoundPolicy
  /** Runs the plans: prints their statements, opens the session the enforcement mode asks for, guards cost. */
  readonly executor: PlanExecutor
  /** The read fast path's statement templates and audit facts per request shape; null when turned off. */
  readonly readShapes: ReadShapeCache | null
  readonly audit: AuditStore
  readonly secret: string | Uint8Array
  readonly logger: Logger | undefined
  readonly approvals: ApprovalStore
  /** Time to live of a pending approval. */
  readonly approvalTtlMs: number
  /**
   * What a call that changes nothing does when its audit record cannot be stored: `closed` fails it with
   * INTERNAL_ERROR (nothing is returned that was not recorded); `open` returns the result and logs the
   * failure. Writes always fail closed.
   */
  readonly auditFailure: AuditFailureMode
  /** Field names whose values never reach the audit (denied, masked or hashed somewhere in the policy). */
  readonly auditSensitiveFields: ReadonlySet<string>
  /** Key of the records' `argsDigest` (HMAC of the raw arguments), derived from `secret`. */
  readonly auditDigestKey: Uint8Array
  /**
   * The audit store seals through sealAuditRecord (one of this package's stores), so a draft's argsDigest can be
   * computed there, off the call path (src/stores/deferred-args-digest.ts); a host's own store gets it computed.
   */
  readonly auditSealsDigests: boolean
  /** Input-guard limits every tool's arguments are checked against (the whole-request size among them). */
  readonly inputLimits: Partial<InputLimits>
}

export type AuditFailureMode = 'closed' | 'open'

/** Facts a tool reports for its audit record. */
export interface CallFacts {
  model?: string | null
  scopesInjected?: readonly string[]
  rowPolicies?: readonly string[]
  bypass?: string | null
  fieldsRedacted?: readonly string[]
  rowCount?: number | null
  affectedRows?: number | null
  reason?: string | null
  before?: unknown
  after?: unknown
  /** The audit's copy of the arguments when the tool redacted them (writable masked fields); else sanitised args. */
  inputs?: unknown
  /** The normalised request once the arguments parsed: audited in full (secrets redacted), not cut. */
  request?: unknown
}

export interface CallScope {
  readonly ctx: RunContext
  readonly requestId: string
  readonly facts: CallFacts
}

const DENIAL_CODES: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'MODEL_NOT_ALLOWED',
  'FIELD_NOT_ALLOWED',
  'RELATION_NOT_ALLOWED',
  'TENANT_SCOPE_REQUIRED',
  'NOT_FOUND',
  'QUERY_TOO_BROAD',
  'QUERY_BUDGET_EXCEEDED',
  'WRITE_DISABLED',
  'WRITE_APPROVAL_REQUIRED',
  'MAX_AFFECTED_ROWS_EXCEEDED',
  'RATE_LIMITED',
  'AUTHENTICATION_REQUIRED',
  'INVALID_CURSOR',
])

export function outcomeOf(error: TesseraError): AuditOutcome {
  return DENIAL_CODES.has(error.code) ? 'denied' : 'error'
}

export function toSafeError(runtime: ToolRuntime, error: unknown, requestId: string): TesseraError {
  return isTesseraError(error) ? error : mapDatabaseError(error, requestId, runtime.logger)
}

export function modelArg(args: unknown): string | null {
  if (typeof args !== 'object' || args === null) return null
  // Read the data property only: an accessor (or a Proxy trap) on untrusted arguments must never run here.
  let model: unknown
  try {
    model = Object.getOwnPropertyDescriptor(args, 'model')?.value
  } catch {
    return null
  }
  if (typeof model !== 'string') return null
  // The model lands in a text column of the PostgreSQL store: see storableText.
  return storableText(model, 63)
}

export function auditDraft(
  runtime: ToolRuntime,
  call: CallStart,
  ctx: RunContext | null,
  error: TesseraError | null,
): AuditRecordDraft {
  const { tool, action, rawCtx, args, requestId, facts, started } = call
  const principal = ctx?.principal
  const rawPrincipal = (rawCtx as { principal?: { tenantId?: unknown } } | null)?.principal
  const deferDigest = runtime.auditSealsDigests
  const draft: AuditRecordDraft = {
    tool,
    model: facts.model ?? modelArg(args),
    action,
    outcome: error ? outcomeOf(error) : 'success',
    errorCode: error?.code ?? null,
    tenantId:
      principal?.tenantId ??
      (typeof rawPrincipal?.tenantId === 'string' ? storableText(rawPrincipal.tenantId, 256) : null),
    userId: principal?.userId ?? null,
    roles: principal?.roles ?? [],
    requestId,
    traceId: ctx?.traceId ?? null,
    inputs:
      facts.inputs !== undefined
        ? facts.inputs
        : facts.request !== undefined
          ? sanitizeAuditInput(facts.request, { sensitiveFields: runtime.auditSensitiveFields, full: true })
          : sanitizeAuditInput(args, { sensitiveFields: runtime.auditSensitiveFields }),
    // Deferred: the arguments' text is read now, its HMAC computed when the store seals the record.
    argsDigest: deferDigest ? null : digestAuditArgs(args, runtime.auditDigestKey),
    scopesInjected: facts.scopesInjected ?? [],
    rowPolicies: facts.rowPolicies ?? [],
    bypass: facts.bypass ?? null,
    fieldsRedacted: facts.fieldsRedacted ?? [],
    rowCount: facts.rowCount ?? null,
    affectedRows: facts.affectedRows ?? null,
    durationMs: Math.round((performance.now() - started) * 1000) / 1000,
    reason: facts.reason ?? null,
    // Images are bounded (long values cut, ending with the digest of the whole): a 1 MB value written 20 times
    // must not keep 20 MB in an in-memory audit. Secret-looking keys are redacted first, as in `inputs`.
    before: facts.before == null ? null : boundRedactedImage(facts.before),
    after: facts.after == null ? null : boundRedactedImage(facts.after),
    policyVersion: runtime.bound.policy.versionHash,
  }
  return deferDigest ? deferArgsDigest(draft, auditArgsText(args), runtime.auditDigestKey) : draft
}

/** One call as the audit sees it: what was asked, by whom (unvalidated), when, and the facts gathered. */
export interface CallStart {
  readonly tool: string
  readonly action: AuditAction
  readonly rawCtx: unknown
  readonly args: unknown
  readonly started: number
  readonly requestId: string
  readonly facts: CallFacts
  /** The host's logger bound to this call (request id and tool), when there is one. */
  readonly log: Logger | undefined
}

function startCall(
  runtime: ToolRuntime,
  tool: string,
  action: AuditAction,
  rawCtx: unknown,
  args: unknown,
): CallStart {
  const requestId =
    typeof (rawCtx as { requestId?: unknown } | null)?.requestId === 'string'
      ? (rawCtx as { requestId: string }).requestId.slice(0, 256)
      : randomUUID()
  const log = runtime.logger?.child({ requestId, tool })
  return { tool, action, rawCtx, args, started: performance.now(), requestId, facts: {}, log }
}

/**
 * The call's one log line: who, what, outcome and duration — never its arguments or rows, so nothing the
 * audit redacts can leak through the logs.
 */
function logCall(call: CallStart, draft: AuditRecordDraft): void {
  const log = call.log
  if (log === undefined) return
  const line = {
    tenantId: draft.tenantId,
    userId: draft.userId,
    model: draft.model,
    action: draft.action,
    outcome: draft.outcome,
    errorCode: draft.errorCode,
    rowCount: draft.rowCount,
    affectedRows: draft.affectedRows,
    durationMs: draft.durationMs,
  }
  if (draft.outcome === 'error') log.warn(line, 'tool call failed')
  else log.info(line, 'tool call')
}

/** Maps what a call threw to a safe error, records the failure, and returns the error to throw. */
async function failCall(
  runtime: ToolRuntime,
  call: CallStart,
  ctx: RunContext | null,
  error: unknown,
): Promise<TesseraError> {
  const safe = toSafeError(runtime, error, call.requestId)
  const draft = auditDraft(runtime, call, ctx, safe)
  await appendAudit(runtime, call, draft)
  logCall(call, draft)
  return safe
}

/**
 * Runs a read-style tool (one that changes nothing): the audit record is appended after the outcome is known.
 * An audit failure turns a successful read into INTERNAL_ERROR: nothing is returned that was not recorded.
 */
export async function runReadTool<T>(
  runtime: ToolRuntime,
  tool: string,
  action: AuditAction,
  rawCtx: unknown,
  args: unknown,
  body: (scope: CallScope) => Promise<T>,
): Promise<T> {
  const call = startCall(runtime, tool, action, rawCtx, args)
  let ctx: RunContext | null = null
  let result: T
  try {
    ctx = parseRunContext(rawCtx)
    result = await body({ ctx, requestId: call.requestId, facts: call.facts })
  } catch (error) {
    throw await failCall(runtime, call, ctx, error)
  }
  const draft = auditDraft(runtime, call, ctx, null)
  await appendAudit(runtime, call, draft)
  logCall(call, draft)
  return result
}

export interface WriteCallScope extends CallScope {
  /**
   * Asks the store to reserve this call's record (AuditStore.reserve) before the write: true when it did, and
   * the write may then commit before its record is staged (`stageAudit(null)`); false when the store stages
   * only inside the transaction. Throws INTERNAL_ERROR when the store refuses, before anything is written.
   */
  reserveAudit(): boolean
  /**
   * Stages the success record of this call inside the write's transaction (`trx`), or, with a reservation,
   * after the write committed by itself (`null`); call it last, once the facts are complete. Throws
   * INTERNAL_ERROR when the store refuses, which rolls the write back.
   */
  stageAudit(trx: StoreTransaction | null): Promise<void>
}

/**
 * Runs a write tool. The success record is staged inside the write's transaction and committed only after the
 * transaction has committed; when anything fails the staged record is aborted and a failure record appended
 * instead. So a write never reports success without its audit record, and no record claims a write that
 * rolled back.
 */
export async function runWriteTool<T>(
  runtime: ToolRuntime,
  tool: string,
  action: AuditAction,
  rawCtx: unknown,
  args: unknown,
  body: (scope: WriteCallScope) => Promise<T>,
): Promise<T> {
  const call = startCall(runtime, tool, action, rawCtx, args)
  const { requestId, log } = call
  let ctx: RunContext | null = null
  const audit: {
    staged: StagedAudit | null
    /** The draft `staged` holds. */
    draft: AuditRecordDraft | null
    reservation: AuditReservation | null
    /** The write committed by itself before its record was staged (stageAudit(null)). */
    afterCommit: boolean
  } = { staged: null, draft: null, reservation: null, afterCommit: false }
  let result: T
  try {
    const parsed = parseRunContext(rawCtx)
    ctx = parsed
    const reserveAudit = (): boolean => {
      const store = runtime.audit
      if (store.reserve === undefined) return false
      try {
        audit.reservation = store.reserve()
      } catch (error) {
        log?.error(auditFailureFacts(error), 'audit reserve failed; nothing was written')
        throw internalError(requestId)
      }
      return true
    }
    const stageAudit = async (trx: StoreTransaction | null): Promise<void> => {
      const reservation = audit.reservation
      if (trx === null) {
        if (reservation === null) throw new Error('a write committed by itself without an audit reservation')
        audit.afterCommit = true
      }
      const draft = auditDraft(runtime, call, parsed, null)
      try {
        audit.staged =
          reservation !== null ? reservation.stage(draft) : await runtime.audit.stage(draft, trx ?? undefined)
        audit.draft = draft
      } catch (error) {
        log?.error(
          auditFailureFacts(error),
          audit.afterCommit
            ? 'audit stage failed after the write committed'
            : 'audit stage failed; rolling the write back',
        )
        throw internalError(requestId)
      }
    }
    result = await body({ ctx: parsed, requestId, facts: call.facts, reserveAudit, stageAudit })
  } catch (error) {
    if (audit.afterCommit) {
      // The write committed by itself: no failure record may deny it (as when `commit` fails below), and a
      // record already staged for it is kept.
      await audit.staged?.commit().catch((commitError: unknown) => {
        log?.error(auditFailureFacts(commitError), 'audit commit failed after the write committed')
      })
      throw internalError(requestId)
    }
    const staged = audit.staged
    if (staged !== null) {
      await staged.abort().catch((abortError: unknown) => {
        log?.error(auditFailureFacts(abortError), 'audit abort failed')
      })
    }
    // Nothing was written: the failure record must not carry images or counts of a write that rolled back.
    delete call.facts.before
    delete call.facts.after
    delete call.facts.affectedRows
    delete call.facts.rowCount
    throw await failCall(runtime, call, ctx, error)
  }
  if (audit.staged === null) {
    // A body that staged nothing changed nothing: record it like a read.
    const draft = auditDraft(runtime, call, ctx, null)
    await appendAudit(runtime, call, draft)
    logCall(call, draft)
    return result
  }
  let committed: AuditRecordDraft
  try {
    // `accept` (when the store has it) takes the record as committed but may seal it later, off the call's path,
    // as `record` does for reads: the sealed copy `commit` returns is only logged, and the draft logs the same.
    const staged = audit.staged
    if (staged.accept !== undefined && audit.draft !== null) {
      await staged.accept()
      committed = audit.draft
    } else committed = await staged.commit()
  } catch (error) {
    log?.error(auditFailureFacts(error), 'audit commit failed after the write committed')
    throw internalError(requestId)
  }
  logCall(call, committed)
  return result
}

/** Stores the record of a call that changed nothing; see ToolRuntime.auditFailure for when that fails. */
async function appendAudit(runtime: ToolRuntime, call: CallStart, draft: AuditRecordDraft): Promise<void> {
  const audit = runtime.audit
  try {
    // `record` accepts the record like `append` but lets the store seal it off this call's path.
    if (audit.record !== undefined) await audit.record(draft)
    else await audit.append(draft)
  } catch (error) {
    const open = runtime.auditFailure === 'open'
    // Logged even without a host logger: an unrecorded call must never pass silently.
    const log = call.log ?? fallbackLogger()
    log.error(
      {
        requestId: call.requestId,
        tool: call.tool,
        ...auditFailureFacts(error),
        auditFailure: runtime.auditFailure,
      },
      open ? 'audit append failed; answering anyway (auditFailure: open)' : 'audit append failed',
    )
    if (!open) throw internalError(call.requestId)
  }
}
