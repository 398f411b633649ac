/**
 * What every tool needs at run time, assembled once by createToolset, plus the wrapper that gives every call
 * the same life cycle: validate the context, run, map unknown errors to safe ones, and audit — success, denial
 * or error alike.
 */
import { randomUUID } from 'node:crypto'
import type { Kysely } from 'kysely'
import type { Logger } from 'pino'
import type { AuditAction, AuditOutcome, AuditRecordDraft, AuditStore } from '../audit/index.ts'
import { sanitizeAuditInput } from '../audit/index.ts'
import { parseRunContext, type RunContext } from '../context/index.ts'
import type { ErrorCode } from '../errors/index.ts'
import { internalError, isTesseraError, type TesseraError } from '../errors/index.ts'
import type { Executor } from '../executor/executor.ts'
import { mapDatabaseError } from '../executor/map-database-error.ts'
import type { BoundPolicy } from '../policy/types.ts'

export type EnforcementMode = 'app' | 'rls' | 'both'

export interface ToolRuntime {
  // why: the toolset works over any user database, whose table types are unknown at compile time.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly db: Kysely<any>
  readonly bound: BoundPolicy
  readonly executor: Executor
  readonly audit: AuditStore
  readonly secret: string | Uint8Array
  readonly enforcement: EnforcementMode
  readonly costGuard: boolean
  readonly logger: Logger | undefined
}

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
  if (typeof args === 'object' && args !== null && typeof (args as { model?: unknown }).model === 'string') {
    const model = (args as { model: string }).model
    return model.length <= 63 ? model : model.slice(0, 63)
  }
  return null
}

export function auditDraft(
  runtime: ToolRuntime,
  tool: string,
  action: AuditAction,
  rawCtx: unknown,
  ctx: RunContext | null,
  requestId: string,
  args: unknown,
  facts: CallFacts,
  started: number,
  error: TesseraError | null,
): AuditRecordDraft {
  const principal = ctx?.principal
  const rawPrincipal = (rawCtx as { principal?: { tenantId?: unknown } } | null)?.principal
  return {
    tool,
    model: facts.model ?? modelArg(args),
    action,
    outcome: error ? outcomeOf(error) : 'success',
    errorCode: error?.code ?? null,
    tenantId: principal?.tenantId ?? (typeof rawPrincipal?.tenantId === 'string' ? rawPrincipal.tenantId.slice(0, 256) : null),
    userId: principal?.userId ?? null,
    roles: principal?.roles ?? [],
    requestId,
    traceId: ctx?.traceId ?? null,
    inputs: sanitizeAuditInput(args),
    scopesInjected: facts.scopesInjected ?? [],
    rowPolicies: facts.rowPolicies ?? [],
    bypass: facts.bypass ?? null,
    fieldsRedacted: facts.fieldsRedacted ?? [],
    rowCount: facts.rowCount ?? null,
    affectedRows: facts.affectedRows ?? null,
    durationMs: Math.round((performance.now() - started) * 1000) / 1000,
    reason: facts.reason ?? null,
    before: facts.before ?? null,
    after: facts.after ?? null,
    policyVersion: runtime.bound.policy.versionHash,
  }
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
  const started = performance.now()
  const requestId =
    typeof (rawCtx as { requestId?: unknown } | null)?.requestId === 'string'
      ? (rawCtx as { requestId: string }).requestId.slice(0, 256)
      : randomUUID()
  const facts: CallFacts = {}
  let ctx: RunContext | null = null
  let result: T
  try {
    ctx = parseRunContext(rawCtx)
    result = await body({ ctx, requestId, facts })
  } catch (error) {
    const safe = toSafeError(runtime, error, requestId)
    await appendAudit(runtime, auditDraft(runtime, tool, action, rawCtx, ctx, requestId, args, facts, started, safe), requestId)
    throw safe
  }
  await appendAudit(runtime, auditDraft(runtime, tool, action, rawCtx, ctx, requestId, args, facts, started, null), requestId)
  return result
}

async function appendAudit(runtime: ToolRuntime, draft: AuditRecordDraft, requestId: string): Promise<void> {
  try {
    await runtime.audit.append(draft)
  } catch (error) {
    runtime.logger?.error({ requestId, err: error instanceof Error ? error.message : 'unknown' }, 'audit append failed')
    throw internalError(requestId)
  }
}
