/**
 * createToolset (docs/contract.md §4): binds the policy to the live schema (refusing to start on any mismatch), then
 * exposes the tools as methods and through `call`, which never throws. Write tools exist on every toolset;
 * `tools(ctx)` lists them only where the policy allows that write for the principal, and a call where it does
 * not fails with WRITE_DISABLED.
 */
import { createHmac, randomBytes } from 'node:crypto'
import type { Logger } from 'pino'
import {
  auditSensitiveFields,
  type AuditStore,
  defaultAuditStore,
  type ApprovalStore,
  DEFAULT_APPROVAL_TTL_MS,
  JsonlAuditStore,
  MemoryApprovalStore,
  MemoryAuditStore,
  PostgresAuditStore,
} from '../stores/index.ts'
import { type RunContext, parseRunContext } from '../context/index.ts'
import { printable, TesseraError, type SerializedError } from '../errors/index.ts'
import { createPlanExecutor, ENFORCEMENT_MODES, isPglite, type EnforcementMode } from '../executor/index.ts'
import { bindPolicy, type BoundPolicy, type Policy, type TypedPolicy } from '../policy/index.ts'
import { DEFAULT_INPUT_LIMITS } from '../request/index.ts'
import { introspectSchema, type AnyDatabase } from '../schema/index.ts'
import type { ToolDefinition } from './tool-definitions.ts'
import { runReadTool } from './run-read-tool.ts'
import type { AuditFailureMode, ToolRuntime } from './tool-runtime.ts'
import { ReadShapeCache } from './read-shape-cache.ts'
import { buildDomainTool, type DataApi, type DomainTool, type DomainToolSpec } from './domain-tool.ts'
import type { z } from 'zod'
import type { TypedReads, TypedWrites } from './typed-toolset.ts'
import { toolDefinitions, toolMethods, TOOLS, type ToolMethods } from './tool-registry.ts'
import { toolKeyOf } from './tool-names.ts'

/** The audit's argsDigest key is derived from `secret`, so a digest is never a key or hash valid elsewhere. */
const AUDIT_DIGEST_KEY_LABEL = 'tessera/audit-args/v1'

export interface ToolsetOptions {
  readonly db: AnyDatabase
  readonly policy: Policy
  /**
   * Where audit records go. Default: the PostgreSQL store when `tessera_audit` exists in this database and the
   * connecting role and `role` may insert into it (create it with `ensureAuditTables`), else in memory.
   */
  readonly audit?: AuditStore
  /** Key for cursor signatures and field hashing; required unless the policy's profile is DEV. */
  readonly secret?: string | Uint8Array
  readonly enforcement?: EnforcementMode
  /**
   * The host application's pino logger (or createTesseraLogger()): one line per call from a child logger
   * bound to the request id and tool. Without one, Tessera logs only audit failures, to stderr.
   */
  readonly logger?: Logger
  /**
   * When a read's (or any call's that changes nothing) audit record cannot be stored: `closed` (default) fails
   * the call with INTERNAL_ERROR; `open` answers and logs the failure. Writes always fail closed.
   */
  readonly auditFailure?: AuditFailureMode
  /** Role to assume inside every transaction (`set_config('role', …, true)`), e.g. on PGlite's single session. */
  readonly role?: string
  /** Schemas to introspect (default `['public']`). */
  readonly schemas?: readonly string[]
  /**
   * Refuse statements whose EXPLAIN cost exceeds the budget before running them. `auto` (default) turns it on
   * for PGlite, which ignores statement_timeout and blocks the event loop while a query runs.
   */
  readonly costGuard?: 'auto' | 'always' | 'never'
  /** Where writes that need approval wait for it (default: in memory, lost on restart). */
  readonly approvals?: ApprovalStore
  /** Time to live of a pending approval in milliseconds (default 15 minutes). */
  readonly approvalTtlMs?: number
  /**
   * Largest tool request accepted, in bytes of its JSON form (default 1 MiB); a larger one is a
   * VALIDATION_ERROR before anything else reads it.
   */
  readonly maxRequestBytes?: number
  /**
   * Judges the database's row-level security for `rls` / `both` enforcement before the toolset starts. The
   * package root's createToolset supplies the generated-RLS posture check (src/rls); a toolset asked for `rls`
   * or `both` without one refuses to start, because RLS that is off, not forced or bypassed by the role would
   * leave `rls` unscoped.
   */
  readonly rlsPosture?: RlsPostureGate
  /**
   * TEST-ONLY SEAM: print read statements without the planner's scope and row-policy predicates whatever the
   * enforcement, to show which wall holds. Refused unless the environment sets TESSERA_TEST_SEAMS=1.
   */
  readonly testOnlyOmitPlannerPredicates?: boolean
  /**
   * Keep, per read request shape, its statement template and audit facts (default true; src/tools/
   * read-shape-cache.ts): every call is still parsed and planned in full. `false` compiles every read's
   * statement through the plan-shape cache alone — the reference the fast path is tested against.
   */
  readonly readShapeCache?: boolean
}

/** What the posture gate is given, and what it answers: `problems` empty means RLS stands for this role. */
export type RlsPostureGate = (input: {
  readonly db: AnyDatabase
  readonly bound: BoundPolicy
  readonly enforcement: 'rls' | 'both'
  readonly role: string | undefined
}) => Promise<{ readonly problems: readonly string[] }>

export type ToolResult<T = unknown> = { ok: true; data: T } | { ok: false; error: SerializedError }

/**
 * The typed methods come from the tool registry (tool-registry.ts), one per tool: `describeSchema(ctx, args?)`,
 * `query`, `get`, `aggregate`, `create`, `update`, `delete`, `bulkUpdate` — each `(ctx, args) => result`, throwing
 * TesseraError.
 */
export interface Toolset extends ToolMethods {
  readonly bound: BoundPolicy
  readonly audit: AuditStore
  /** Approve or reject pending writes here (`toolset.approvals.approve(id, approver)`). */
  readonly approvals: ApprovalStore
  /** Dispatches by tool name; never throws. */
  call(ctx: RunContext, toolName: string, args: unknown): Promise<ToolResult>
  /** Tool definitions with JSON Schemas narrowed to what `ctx` may use. */
  tools(ctx: RunContext): ToolDefinition[]
  /**
   * Registers a typed domain tool: listed by `tools(ctx)` for the principals it allows, dispatched by `call`,
   * validated and audited like the generic tools; its handler reaches data only through the policy-checked
   * data API bound to the caller's context.
   */
  defineTool<I extends z.ZodObject, O extends z.ZodObject>(spec: DomainToolSpec<I, O>): void
}

/** A toolset whose reads and writes are typed from a TypedPolicy (typed-toolset.ts). */
export type TypedToolset<DB, M> = Omit<
  Toolset,
  'query' | 'get' | 'aggregate' | 'create' | 'update' | 'delete' | 'bulkUpdate'
> &
  TypedReads<DB, M> &
  TypedWrites<DB, M>

export interface TypedToolsetOptions<DB, M> extends Omit<ToolsetOptions, 'policy'> {
  readonly policy: TypedPolicy<DB, M>
}

/** With a policy from `definePolicy<DB>()`: model names, fields and rows typed (see typed-toolset.ts). */
export function createToolset<DB, M>(options: TypedToolsetOptions<DB, M>): Promise<TypedToolset<DB, M>>
export function createToolset(options: ToolsetOptions): Promise<Toolset>
export async function createToolset(options: ToolsetOptions): Promise<Toolset> {
  const enforcement = options.enforcement ?? 'app'
  if (!(ENFORCEMENT_MODES as readonly unknown[]).includes(enforcement)) {
    throw new TesseraError(
      'VALIDATION_ERROR',
      `Unknown enforcement mode '${printable(String(enforcement))}'`,
      {
        hints: [`Use one of ${ENFORCEMENT_MODES.join(', ')}`],
      },
    )
  }
  if (enforcement !== 'app' && options.rlsPosture === undefined) {
    throw new TesseraError(
      'VALIDATION_ERROR',
      `Enforcement mode '${enforcement}' needs the RLS posture check; use createToolset from the package root`,
      { details: { enforcement } },
    )
  }
  if (options.testOnlyOmitPlannerPredicates === true && process.env['TESSERA_TEST_SEAMS'] !== '1') {
    throw new TesseraError('VALIDATION_ERROR', 'testOnlyOmitPlannerPredicates is a test-only seam')
  }
  const secret = options.secret ?? (options.policy.profile === 'DEV' ? randomBytes(32) : undefined)
  if (secret === undefined || secret.length < 16) {
    throw new TesseraError(
      'VALIDATION_ERROR',
      'A secret of at least 16 characters is required outside the DEV profile',
      {
        hints: ['Pass createToolset({ secret }) from a secret store; it signs cursors and keys field hashes'],
      },
    )
  }
  const introspectOptions = {
    ...(options.schemas === undefined ? {} : { schemas: options.schemas }),
    ...(options.role === undefined ? {} : { role: options.role }),
  }
  const schema = await introspectSchema(options.db, introspectOptions)
  const bound = bindPolicy(options.policy, schema)
  if (enforcement !== 'app' && options.rlsPosture !== undefined) {
    const { problems } = await options.rlsPosture({ db: options.db, bound, enforcement, role: options.role })
    if (problems.length > 0) {
      throw new TesseraError(
        'VALIDATION_ERROR',
        `Row-level security does not stand for enforcement '${enforcement}':\n  ${problems.join('\n  ')}`,
        {
          hints: [
            "Run 'tessera rls generate' as the tables' owner and 'tessera check --rls' as the app role",
          ],
          details: { enforcement, problems: [...problems] },
        },
      )
    }
  }
  const costGuardMode = options.costGuard ?? 'auto'
  const costGuard = costGuardMode === 'always' || (costGuardMode === 'auto' && (await isPglite(options.db)))
  const approvalTtlMs = options.approvalTtlMs ?? DEFAULT_APPROVAL_TTL_MS
  if (!Number.isSafeInteger(approvalTtlMs) || approvalTtlMs <= 0) {
    throw new TesseraError('VALIDATION_ERROR', 'approvalTtlMs must be a positive integer', {
      details: { approvalTtlMs },
    })
  }
  const auditFailure = options.auditFailure ?? 'closed'
  if (auditFailure !== 'closed' && auditFailure !== 'open') {
    throw new TesseraError('VALIDATION_ERROR', "auditFailure must be 'closed' or 'open'", {
      details: { auditFailure: String(auditFailure) },
    })
  }
  const maxRequestBytes = options.maxRequestBytes ?? DEFAULT_INPUT_LIMITS.maxRequestBytes
  if (!Number.isSafeInteger(maxRequestBytes) || maxRequestBytes <= 0) {
    throw new TesseraError('VALIDATION_ERROR', 'maxRequestBytes must be a positive integer', {
      details: { maxRequestBytes },
    })
  }
  const audit = options.audit ?? (await chooseAuditStore(options))
  const executor = createPlanExecutor({
    db: options.db,
    enforcement,
    costGuard,
    secret,
    ...(options.role === undefined ? {} : { role: options.role }),
    ...(options.logger === undefined ? {} : { logger: options.logger }),
    omitPlannerPredicates: options.testOnlyOmitPlannerPredicates === true,
  })
  const runtime: ToolRuntime = {
    bound,
    executor,
    readShapes: options.readShapeCache === false ? null : new ReadShapeCache(executor),
    audit,
    secret,
    logger: options.logger,
    approvals: options.approvals ?? new MemoryApprovalStore(),
    approvalTtlMs,
    auditFailure,
    auditSensitiveFields: auditSensitiveFields(bound),
    auditDigestKey: createHmac('sha256', secret).update(AUDIT_DIGEST_KEY_LABEL).digest(),
    auditSealsDigests:
      audit instanceof MemoryAuditStore ||
      audit instanceof PostgresAuditStore ||
      audit instanceof JsonlAuditStore,
    inputLimits: maxRequestBytes === DEFAULT_INPUT_LIMITS.maxRequestBytes ? {} : { maxRequestBytes },
  }
  return buildToolset(runtime)
}

/** No store named: the PostgreSQL store where its tables are ready for this toolset, else memory. */
async function chooseAuditStore(options: ToolsetOptions): Promise<AuditStore> {
  const { store, kind } = await defaultAuditStore(options.db, options.role, options.logger)
  options.logger?.info(
    { audit: kind },
    kind === 'postgres'
      ? 'audit records go to the tessera_audit table (no audit store was given)'
      : 'audit records are kept in memory: no audit store was given and tessera_audit is missing or not writable',
  )
  return store
}

function buildToolset(runtime: ToolRuntime): Toolset {
  const methods = toolMethods(runtime)
  const domainTools = new Map<string, DomainTool>()

  const dataApi = (ctx: RunContext): DataApi =>
    Object.freeze({
      describeSchema: (args?: { model?: string }) => methods.describeSchema(ctx, args),
      query: (args: unknown) => methods.query(ctx, args),
      get: (args: unknown) => methods.get(ctx, args),
      aggregate: (args: unknown) => methods.aggregate(ctx, args),
      create: (args: unknown) => methods.create(ctx, args),
      update: (args: unknown) => methods.update(ctx, args),
      delete: (args: unknown) => methods.delete(ctx, args),
      bulkUpdate: (args: unknown) => methods.bulkUpdate(ctx, args),
    })

  /** Audited as one call of its own; each data API call inside it is audited as well. */
  const runDomainTool = (tool: DomainTool, ctx: RunContext, args: unknown): Promise<unknown> =>
    runReadTool(runtime, tool.definition.name, 'read', ctx, args, async ({ ctx: c }) => {
      // A principal the tool does not serve is told the tool does not exist, as for any unknown name.
      if (!tool.allow(c.principal)) {
        throw new TesseraError('VALIDATION_ERROR', `Unknown tool '${tool.definition.name}'`, {
          hints: ['Call tools() for the list of tools you may use'],
        })
      }
      return tool.run(c, args, dataApi(c))
    })

  const call = async (ctx: RunContext, toolName: string, args: unknown): Promise<ToolResult> => {
    try {
      // A programmatic caller may pass anything as the name; only a registered tool of a string name runs.
      const name: unknown = toolName
      const key = typeof name === 'string' ? toolKeyOf(name) : undefined
      if (key !== undefined) {
        const run = TOOLS[key].run as (rt: ToolRuntime, ctx: RunContext, args: unknown) => Promise<unknown>
        return { ok: true, data: await run(runtime, ctx, args) }
      }
      const domain = typeof name === 'string' ? domainTools.get(name) : undefined
      if (domain !== undefined) return { ok: true, data: await runDomainTool(domain, ctx, args) }
      const shown = printable(typeof name === 'string' ? name : `(${typeof name})`)
      // Every call is audited, a call of a tool that does not exist included (it is often a probe).
      return await runReadTool(runtime, shown, 'read', ctx, args, async () => {
        throw new TesseraError('VALIDATION_ERROR', `Unknown tool '${shown}'`, {
          hints: ['Call tools() for the list of tools you may use'],
        })
      })
    } catch (error) {
      const safe =
        error instanceof TesseraError ? error : new TesseraError('INTERNAL_ERROR', 'Internal error')
      return { ok: false, error: safe.toJSON() }
    }
  }

  // Not frozen: wrappers (eval's recordingToolset) proxy a toolset and hand out their own `call`, which a
  // Proxy may not do for a frozen object's members.
  return {
    ...methods,
    bound: runtime.bound,
    audit: runtime.audit,
    approvals: runtime.approvals,
    call,
    tools(ctx: RunContext): ToolDefinition[] {
      const c = parseRunContext(ctx)
      return [
        ...toolDefinitions(runtime.bound, c.principal),
        ...[...domainTools.values()].filter((t) => t.allow(c.principal)).map((t) => t.definition),
      ]
    },
    defineTool<I extends z.ZodObject, O extends z.ZodObject>(spec: DomainToolSpec<I, O>): void {
      const tool = buildDomainTool(spec, (name) => toolKeyOf(name) !== undefined || domainTools.has(name))
      domainTools.set(tool.definition.name, tool)
    },
  }
}
