/**
 * What every tool needs at run time, assembled once by createToolset, and what a call hands its tool body: the
 * validated context, the request id and the facts the tool reports for its audit record. The wrappers that
 * give every call the same life cycle (validate the context, run, map unknown errors to safe ones, audit) are
 * run-read-tool.ts and run-write-tool.ts; the record itself is call-audit.ts.
 */
import type { Logger } from 'pino'
import type { ApprovalStore, AuditStore } from '../stores/index.ts'
import type { RunContext } from '../context/index.ts'
import type { InputLimits } from '../request/index.ts'
import type { PlanExecutor } from '../executor/index.ts'
import type { BoundPolicy } from '../policy/index.ts'
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
