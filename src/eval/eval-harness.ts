/**
 * EvalHarness (docs/contract.md §7): runs tool calls through a toolset and checks each against the database with an
 * unscoped oracle connection. `policy` is the contract the results are judged by; it defaults to the
 * toolset's own policy, and differs from it when a test proves that a broken policy is caught.
 */
import { randomUUID } from 'node:crypto'
import type { RunContext } from '../context/index.ts'
import { bindPolicy, type BoundPolicy, type Policy } from '../policy/index.ts'
import type { AnyDatabase } from '../schema/index.ts'
import type { Toolset, ToolResult } from '../tools/index.ts'
import {
  type EvalCall,
  type InvariantContext,
  type InvariantLike,
  type Violation,
  toInvariant,
} from './invariant.ts'
import { maskedFieldsMasked, noCrossTenantData, noDeniedFields, withinBudget } from './read-invariants.ts'
import { everyCallAudited, writesStayInScope } from './write-invariants.ts'
import { RowOracle } from './row-oracle.ts'

export const ALL_INVARIANTS = [
  noCrossTenantData,
  noDeniedFields,
  maskedFieldsMasked,
  withinBudget,
  writesStayInScope,
  everyCallAudited,
] as const

export type InvariantName = (typeof ALL_INVARIANTS)[number]['name']

export const INVARIANT_NAMES = ALL_INVARIANTS.map((i) => i.name) as readonly InvariantName[]

export function invariantByName(name: InvariantName): (typeof ALL_INVARIANTS)[number] {
  const found = ALL_INVARIANTS.find((i) => i.name === name)
  if (!found) throw new Error(`unknown invariant ${name}`)
  return found
}

export interface EvalHarnessOptions {
  readonly toolset: Toolset
  /** Unscoped connection to the same database (the oracle). Never hand it to an agent. */
  readonly db: AnyDatabase
  /** The policy results are judged by (default: the toolset's). */
  readonly policy?: Policy
}

export interface EvalRequest {
  readonly tool: string
  readonly args?: unknown
  /** Default: every built-in invariant. */
  readonly invariants?: readonly InvariantLike[]
  /** Shown in violation messages (a case name, a fuzz run). */
  readonly label?: string
}

export interface EvalRunResult {
  readonly call: EvalCall
  readonly result: ToolResult
  readonly violations: readonly Violation[]
}

export class EvalHarness {
  readonly toolset: Toolset
  readonly #db: AnyDatabase
  readonly #policy: Policy | undefined
  #reference: BoundPolicy | undefined
  #sequence = 0

  constructor(options: EvalHarnessOptions) {
    this.toolset = options.toolset
    this.#db = options.db
    this.#policy = options.policy
  }

  /** The reference policy bound to the schema the toolset introspected. */
  get reference(): BoundPolicy {
    this.#reference ??=
      this.#policy === undefined ? this.toolset.bound : bindPolicy(this.#policy, this.toolset.bound.schema)
    return this.#reference
  }

  /** A fresh oracle (empty cache) over the harness's unscoped connection, judging by the reference policy. */
  oracle(): RowOracle {
    return new RowOracle(this.#db, this.reference)
  }

  async run(ctx: RunContext, request: EvalRequest): Promise<EvalRunResult> {
    const requestId = `eval-${++this.#sequence}-${randomUUID()}`
    const call: EvalCall = {
      tool: request.tool,
      args: request.args ?? {},
      principal: ctx.principal,
      requestId,
      ...(request.label === undefined ? {} : { label: request.label }),
    }
    const invariants = (request.invariants ?? ALL_INVARIANTS).map(toInvariant)
    const context: InvariantContext = {
      reference: this.reference,
      oracle: this.oracle(),
      toolset: this.toolset,
    }
    const states: unknown[] = []
    for (const inv of invariants) states.push(inv.before ? await inv.before(context, call) : undefined)
    const result = await this.toolset.call({ ...ctx, requestId }, request.tool, call.args)
    // Reads made before the call are stale now: the checks get an oracle with an empty cache.
    const after: InvariantContext = { ...context, oracle: context.oracle.fresh() }
    const violations: Violation[] = []
    for (const [i, inv] of invariants.entries()) {
      try {
        violations.push(...(await inv.check(after, { call, result }, states[i])))
      } catch (error) {
        violations.push({
          invariant: inv.name,
          message: `${call.tool}: invariant ${inv.name} could not check this call: ${error instanceof Error ? error.message : String(error)}`,
          tool: call.tool,
          ...(call.label === undefined ? {} : { label: call.label }),
        })
      }
    }
    return { call, result, violations }
  }
}
