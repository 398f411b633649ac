/**
 * What an invariant is (docs/contract.md §7): a named check of one tool call against the database. It may take a
 * snapshot before the call (`before`) and returns violations after it. A user's own invariant can be a plain
 * function; `toInvariant` gives it the same shape.
 */
import type { Principal } from '../context/index.ts'
import type { BoundPolicy } from '../policy/index.ts'
import type { Toolset, ToolResult } from '../tools/index.ts'
import type { RowOracle } from './row-oracle.ts'

export interface EvalCall {
  readonly tool: string
  readonly args: unknown
  readonly principal: Principal
  /** Sent as the call's requestId, so the audit record of exactly this call can be found. */
  readonly requestId: string
  /** The suite case or fuzz run this call belongs to, for messages. */
  readonly label?: string
}

export interface EvalOutcome {
  readonly call: EvalCall
  readonly result: ToolResult
}

export interface Violation {
  readonly invariant: string
  /** Names the call, the row and the field. */
  readonly message: string
  readonly tool: string
  readonly label?: string
  readonly model?: string
  /** Where in the result (`rows[2].customer`). */
  readonly path?: string
  /** The stored row's key (and scoping columns) as the oracle read them, when known. */
  readonly row?: Readonly<Record<string, unknown>>
  readonly field?: string
}

export interface InvariantContext {
  /** The policy the result is judged by (the contract), bound to the live schema. */
  readonly reference: BoundPolicy
  /** Unscoped reads of the database, cached for the duration of one call's checks. */
  readonly oracle: RowOracle
  readonly toolset: Toolset
}

export interface Invariant<State = unknown> {
  readonly name: string
  before?(ctx: InvariantContext, call: EvalCall): Promise<State>
  check(
    ctx: InvariantContext,
    outcome: EvalOutcome,
    state: State | undefined,
  ): Promise<readonly Violation[]> | readonly Violation[]
}

export type InvariantFunction = (
  ctx: InvariantContext,
  outcome: EvalOutcome,
) => Promise<readonly Violation[]> | readonly Violation[]

export type InvariantLike = Invariant<never> | Invariant | InvariantFunction

/** A function becomes an invariant named after the function (or `custom`). */
export function toInvariant(i: InvariantLike): Invariant {
  if (typeof i === 'function') {
    const name = i.name === '' ? 'custom' : i.name
    return { name, check: (ctx, outcome) => i(ctx, outcome) }
  }
  return i as Invariant
}

/** `db_query Order as tenant a000… [case name]`: the call part of every violation message. */
export function describeCall(call: EvalCall): string {
  const model =
    typeof call.args === 'object' && call.args !== null && 'model' in call.args
      ? ` ${String((call.args as { model: unknown }).model)}`
      : ''
  const label = call.label === undefined ? '' : ` [${call.label}]`
  return `${call.tool}${model} as tenant ${JSON.stringify(call.principal.tenantId)}${label}`
}

export function violation(
  invariant: string,
  call: EvalCall,
  message: string,
  extra: Omit<Violation, 'invariant' | 'message' | 'tool' | 'label'> = {},
): Violation {
  return {
    invariant,
    message: `${describeCall(call)}: ${message}`,
    tool: call.tool,
    ...(call.label === undefined ? {} : { label: call.label }),
    ...extra,
  }
}
