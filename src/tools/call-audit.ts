/**
 * A tool call as the audit sees it, from its start to its one record: what was asked and by whom (before the
 * context is validated), the record's draft for any outcome, storing the record of a call that changed nothing
 * (see ToolRuntime.auditFailure for when that fails), and the call's one log line. Shared by run-read-tool.ts
 * and run-write-tool.ts, so reads and writes record the same way.
 */
import { randomUUID } from 'node:crypto'
import type { Logger } from 'pino'
import {
  type AuditAction,
  type AuditOutcome,
  type AuditRecordDraft,
  auditFailureFacts,
  sanitizeAuditInput,
  digestAuditArgs,
  auditArgsText,
  deferArgsDigest,
  boundRedactedImage,
} from '../stores/index.ts'
import type { RunContext } from '../context/index.ts'
import {
  type ErrorCode,
  internalError,
  isTesseraError,
  storableText,
  type TesseraError,
} from '../errors/index.ts'
import { mapDatabaseError } from '../executor/index.ts'
import { fallbackLogger } from './create-logger.ts'
import type { CallFacts, ToolRuntime } from './tool-runtime.ts'

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

function outcomeOf(error: TesseraError): AuditOutcome {
  return DENIAL_CODES.has(error.code) ? 'denied' : 'error'
}

function toSafeError(runtime: ToolRuntime, error: unknown, requestId: string): TesseraError {
  return isTesseraError(error) ? error : mapDatabaseError(error, requestId, runtime.logger)
}

function modelArg(args: unknown): string | null {
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

export function startCall(
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
export function logCall(call: CallStart, draft: AuditRecordDraft): void {
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
export async function failCall(
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

/** Stores the record of a call that changed nothing; see ToolRuntime.auditFailure for when that fails. */
export async function appendAudit(
  runtime: ToolRuntime,
  call: CallStart,
  draft: AuditRecordDraft,
): Promise<void> {
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
