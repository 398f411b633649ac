/**
 * The write tools: create, update, delete, bulk_update. Each is parse → plan (every rule that needs no
 * database) → approval gate → the executor's runWrite (one transaction that checks targets and references,
 * writes and re-checks in SQL) → the audit record staged in that transaction; the record commits only after
 * the transaction does (runWriteTool).
 *
 * Approvals: a write whose mode is `approval` and that carries no `approvalId` runs every check that changes
 * nothing (validation, fields, target and reference visibility), stores a pending approval bound to the hash
 * of (tenant, user, roles, tool, arguments without approvalId, policy version) and fails with
 * WRITE_APPROVAL_REQUIRED { approvalId, expiresAt }. Re-submitted with `approvalId`, the approval is consumed
 * (once, atomically) before the transaction starts — a consumed approval whose write then fails is spent.
 * Stable refusals: still pending → WRITE_APPROVAL_REQUIRED 'The approval is still pending'; VALIDATION_ERROR
 * on `approvalId` with 'The approval does not exist or was granted for other arguments' (unknown id, changed
 * payload, another principal), 'The approval has already been used', 'The approval has expired',
 * 'The approval was rejected'.
 */
import { type AuditAction, boundArgs, type ConsumeResult } from '../stores/index.ts'
import type { Principal, RunContext } from '../context/index.ts'
import { TesseraError, validationError } from '../errors/index.ts'
import {
  type EnforcementMode,
  type BulkUpdateResult,
  type DeleteResult,
  type RowResult,
  type WriteCall,
  type WriteResult,
} from '../executor/index.ts'
import {
  planWrite,
  policyOperation,
  redactedFieldsOf,
  type VisibilityPlan,
  type WritePlan,
} from '../planner/index.ts'
import { approvalPayload, parseWriteRequest, type WriteKind, type WriteRequest } from '../request/index.ts'
import { canonicalJson, sha256Hex } from '../json/index.ts'
import { visibilityFacts } from './read-tools.ts'
import { redactData } from './redact-write-data.ts'
import { runWriteTool, type WriteCallScope } from './run-write-tool.ts'
import type { CallFacts, ToolRuntime } from './tool-runtime.ts'
import { describeWrite } from './write-preview.ts'

export type { BulkUpdateResult, DeleteResult, RowResult, WriteResult } from '../executor/index.ts'

export interface WriteResults {
  create: RowResult
  update: RowResult
  delete: DeleteResult
  bulkUpdate: BulkUpdateResult
}

/** Which tool a write runs as: its name (bound into approvals) and its audit action (from the registry). */
export interface WriteToolIdentity {
  readonly name: string
  readonly action: AuditAction
}

export function runWrite<K extends WriteKind>(
  runtime: ToolRuntime,
  tool: WriteToolIdentity,
  kind: K,
  rawCtx: RunContext,
  args: unknown,
): Promise<WriteResults[K]> {
  // why: write() returns the result shape of the plan it ran, which is the one for `kind`. Returned as it is
  // (no async wrapper around it: one promise and one microtask fewer per write).
  return runWriteTool(
    runtime,
    tool.name,
    tool.action,
    rawCtx,
    args,
    (scope) => write(runtime, tool.name, kind, args, scope) as Promise<WriteResults[K]>,
  )
}

async function write(
  runtime: ToolRuntime,
  tool: string,
  kind: WriteKind,
  args: unknown,
  scope: WriteCallScope,
): Promise<WriteResult> {
  const { ctx, facts } = scope
  const request = parseWriteRequest(kind, args, runtime.inputLimits)
  facts.request = request
  facts.reason = request.reason ?? null
  const plan = planWrite(runtime.bound, ctx.principal, request)
  planFacts(plan, facts)
  if (plan.mode === 'approval') await passApproval(runtime, tool, scope, request, plan)
  // Reserved before anything is written: a store that would refuse the record refuses it now.
  const reserved = scope.reserveAudit()
  return runtime.executor.runWrite(
    plan,
    writeCall(runtime, scope, plan),
    async ({ before, outcome }, trx) => {
      const single =
        plan.kind === 'create' || (plan.kind === 'update' && !plan.bulk) || plan.kind === 'delete'
      facts.before = plan.kind === 'create' ? null : single ? (before[0] ?? null) : before
      facts.after = single ? (outcome.after[0] ?? null) : outcome.after
      facts.affectedRows = outcome.affected
      facts.rowCount = outcome.affected
      await scope.stageAudit(trx)
    },
    reserved,
  )
}

/**
 * Whether a write checks, in the planner, that every row it references is visible to the caller. Decided once,
 * here: yes in every enforcement mode — writes keep the planner's targeting, WITH CHECK and referenced-row
 * checks under `rls` too (defence in depth, and the source of their NOT_FOUND / VALIDATION_ERROR / too-many-rows
 * answers; docs/decisions.md). The RLS posture gate reads it: a single-column foreign key between scoped tables
 * (FK checks ignore RLS) is then a warning for a toolset, in either mode.
 */
export function writesCheckReferencedRows(enforcement: EnforcementMode): boolean {
  switch (enforcement) {
    case 'app':
    case 'rls':
    case 'both':
      return true
    default: {
      const never: never = enforcement
      throw new Error(`unhandled enforcement ${String(never)}`)
    }
  }
}

function writeCall(runtime: ToolRuntime, scope: WriteCallScope, plan: WritePlan): WriteCall {
  return {
    requestId: scope.requestId,
    principal: scope.ctx.principal,
    maxConcurrentPerTenant: runtime.bound.models[plan.model]?.policy.budget.maxConcurrentPerTenant ?? 1,
  }
}

function planFacts(plan: WritePlan, facts: CallFacts): void {
  // The written model's visibility, then each referenced model's, each fact once in first-seen order. Sets
  // filled in place: the arrays, spreads and flatMap this used to build cost ~2 µs of every write.
  const scopes = new Set<string>()
  const policies = new Set<string>()
  addVisibilityFacts(plan.visibility, scopes, policies)
  if (plan.kind !== 'delete') {
    for (const fk of plan.foreignKeys) {
      for (const target of fk.targets) addVisibilityFacts(target.visibility, scopes, policies)
    }
  }
  facts.model = plan.model
  facts.scopesInjected = [...scopes]
  facts.rowPolicies = [...policies]
  facts.bypass = plan.visibility.bypass === null ? null : `${plan.model}.${plan.visibility.bypass}`
  facts.fieldsRedacted = redactedFieldsOf(plan.returning)
}

/** visibilityFacts(v), added to the sets. */
function addVisibilityFacts(v: VisibilityPlan, scopes: Set<string>, policies: Set<string>): void {
  const f = visibilityFacts(v)
  for (const scope of f.scopes) scopes.add(scope)
  for (const policy of f.policies) policies.add(policy)
}

/**
 * What an approval is bound to. Roles are a set: their order does not matter. Metadata is part of it, as it is of
 * a cursor's binding: it feeds scoping, row policies and autoSet (an org, a hierarchy), so an approval granted
 * for a write in one org must not run in another org of the same user (it used to: the same create, approved
 * while the user acted in org `main`, landed in `labs` when re-submitted from there).
 */
export function approvalPayloadHash(
  principal: Principal,
  tool: string,
  request: WriteRequest,
  policyVersion: string,
): string {
  return sha256Hex(
    canonicalJson({
      tenantId: principal.tenantId,
      userId: principal.userId ?? null,
      roles: [...(principal.roles ?? [])].sort(),
      metadata: principal.metadata ?? null,
      tool,
      // What the approver reads, bounded; the payload hash above binds the full arguments.
      args: boundArgs(approvalPayload(request)),
      policyVersion,
    }),
  )
}

/** Returns when the write may run now; throws WRITE_APPROVAL_REQUIRED or a refusal otherwise. */
async function passApproval(
  runtime: ToolRuntime,
  tool: string,
  scope: WriteCallScope,
  request: WriteRequest,
  plan: WritePlan,
): Promise<void> {
  const hash = approvalPayloadHash(scope.ctx.principal, tool, request, runtime.bound.policy.versionHash)
  if (request.approvalId === undefined) {
    // Everything that can be refused without writing is refused now, not after someone approved it.
    await runtime.executor.checkWrite(plan, writeCall(runtime, scope, plan))
    // What the approver reads, bounded and with writable masked values redacted; the payload hash above
    // binds the full arguments.
    const shown = boundArgs(approvalArgs(runtime, request))
    const approval = await runtime.approvals.create({
      tenantId: scope.ctx.principal.tenantId,
      userId: scope.ctx.principal.userId ?? null,
      tool,
      model: plan.model,
      payloadHash: hash,
      args: shown,
      expiresAt: new Date(Date.now() + runtime.approvalTtlMs),
    })
    throw approvalRequired(
      `Operation '${policyOperation(request.kind)}' on ${plan.model} needs approval`,
      approval.id,
      approval.expiresAt,
      describeWrite(tool, shown),
    )
  }
  const result = await runtime.approvals.consume(request.approvalId, hash)
  if (result === 'ok') return
  if (result === 'pending') {
    const approval = await runtime.approvals.get(request.approvalId)
    throw approvalRequired(
      'The approval is still pending',
      request.approvalId,
      approval?.expiresAt ?? null,
      describeWrite(tool, approval?.args ?? approvalArgs(runtime, request)),
    )
  }
  throw approvalRefused(result)
}

/** What a pending approval shows its approver: the arguments, with writable masked/hashed values redacted. */
function approvalArgs(runtime: ToolRuntime, request: WriteRequest): unknown {
  const payload = approvalPayload(request)
  const model = Object.hasOwn(runtime.bound.models, request.model)
    ? runtime.bound.models[request.model]
    : undefined
  if (model === undefined || !('data' in request)) return payload
  return { ...payload, data: redactData(model, request.data) }
}

/** `preview` says exactly what will change, in the words `tessera approvals list` shows the approver. */
function approvalRequired(
  message: string,
  approvalId: string,
  expiresAt: string | null,
  preview: string,
): TesseraError {
  return new TesseraError('WRITE_APPROVAL_REQUIRED', message, {
    hints: ['Once the approval is granted, repeat the same call with the same arguments plus approvalId'],
    details: { approvalId, expiresAt, preview },
  })
}

const REFUSALS: Readonly<Record<Exclude<ConsumeResult, 'ok' | 'pending'>, string>> = {
  missing: 'The approval does not exist or was granted for other arguments',
  mismatch: 'The approval does not exist or was granted for other arguments',
  used: 'The approval has already been used',
  expired: 'The approval has expired',
  rejected: 'The approval was rejected',
}

function approvalRefused(result: Exclude<ConsumeResult, 'ok' | 'pending'>): TesseraError {
  const message = REFUSALS[result]
  return validationError(message, [{ path: 'approvalId', message }])
}
