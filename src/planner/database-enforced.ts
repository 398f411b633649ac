/**
 * Enforcement `rls` (docs/contract.md §5): the database's row-level security policies, generated from the same Policy
 * (src/rls), decide which rows a statement sees, so the statement carries none of the planner's scope or
 * row-policy predicates. The plan is still made in full first — a principal path that does not resolve is
 * refused (TENANT_SCOPE_REQUIRED) in every mode, and the audit reports the scopes and rules the plan decided,
 * which are the ones RLS applies — and only then is each VisibilityPlan reduced to what is not a boundary:
 * the soft-delete filter, which RLS does not carry.
 */
import type { BoundModel, ConditionNode } from '../policy/index.ts'
import { bindConditionToClaims } from './bind-principal-values.ts'
import type { AggregatePlan, ReadPlan, SelectPlan, VisibilityPlan } from './query-plan.ts'
import { writeGrantCondition } from './write-grant.ts'

/** Every row passes the planner; RLS filters. Soft-deleted rows stay hidden. */
export function databaseEnforcedVisibility(v: VisibilityPlan): VisibilityPlan {
  return {
    model: v.model,
    scopes: [],
    permissive: [],
    restrictive: [],
    bypass: null,
    softDeleteColumn: v.softDeleteColumn,
    shared: true,
  }
}

function databaseEnforcedSelect(p: SelectPlan): SelectPlan {
  return {
    ...p,
    visibility: databaseEnforcedVisibility(p.visibility),
    includes: p.includes.map((i) => ({ ...i, select: databaseEnforcedSelect(i.select) })),
  }
}

/** The read plan as a statement under `rls` enforcement prints it: no scope or row-policy predicate anywhere. */
export function databaseEnforcedRead<P extends ReadPlan>(plan: P): P {
  switch (plan.kind) {
    case 'query':
    case 'get':
      return { ...plan, root: databaseEnforcedSelect(plan.root) }
    case 'aggregate': {
      const aggregate: AggregatePlan = { ...plan, visibility: databaseEnforcedVisibility(plan.visibility) }
      return aggregate as P
    }
    default: {
      const never: never = plan
      throw new Error(`unhandled read plan ${String(never)}`)
    }
  }
}

/** A named rule in claim form (bindConditionToClaims). */
export interface DatabaseRule {
  readonly name: string
  readonly condition: ConditionNode
}

/**
 * A model's visibility as the database enforces it under RLS — the same composition planVisibility makes,
 * `(scope ∨ permissive ∨ bypass) ∧ restrictive`, with the same rules, but bound to claims instead of one
 * principal, so src/rls prints the generated policies from the planner's nodes rather than re-deriving them.
 */
export interface DatabaseRules {
  /** Every scoped column equals its claim (one `and`), or null when the model has no scoping. */
  readonly scope: ConditionNode | null
  /** Permissive rules: what each lets a caller read, and its write grant (write-grant.ts). */
  readonly permissive: readonly (DatabaseRule & { readonly writeGrant: ConditionNode })[]
  readonly bypass: readonly DatabaseRule[]
  readonly restrictive: readonly DatabaseRule[]
  /** A shared model with neither scoping nor permissive rules: every row passes (restrictive rules aside). */
  readonly shared: boolean
  /**
   * The model's tenant pins (policy/tenant-pins.ts), one rule per pinned column: the column equals its claim.
   * Writes only, lifted by a bypass — withTenantPins (write-grant.ts) adds them to the write visibility so.
   */
  readonly pins: readonly DatabaseRule[]
}

export function databaseRules(model: BoundModel): DatabaseRules {
  const policy = model.policy
  const scopeParts: ConditionNode[] = policy.scoping.map((s) => ({
    kind: 'compare',
    op: '=',
    left: { kind: 'field', name: s.column },
    right: { kind: 'principal', path: s.path },
  }))
  const scope =
    scopeParts.length === 0
      ? null
      : bindConditionToClaims(
          scopeParts.length === 1 ? (scopeParts[0] as ConditionNode) : { kind: 'and', operands: scopeParts },
        )
  const permissive = policy.rowPolicies
    .filter((r) => r.mode === 'permissive' && !r.bypass)
    .map((r) => ({
      name: r.name,
      condition: bindConditionToClaims(r.condition),
      // Reduced before binding: the reduction keeps the parts that mention the principal, which binding erases.
      writeGrant: bindConditionToClaims(writeGrantCondition(r.condition)),
    }))
  const named = (r: { name: string; condition: ConditionNode }) => ({
    name: r.name,
    condition: bindConditionToClaims(r.condition),
  })
  return {
    scope,
    permissive,
    bypass: policy.rowPolicies.filter((r) => r.bypass).map(named),
    restrictive: policy.rowPolicies.filter((r) => r.mode === 'restrictive' && !r.bypass).map(named),
    shared: policy.shared && scope === null && permissive.length === 0,
    pins: model.tenantPins.map((pin) => ({
      name: pin.column,
      condition: bindConditionToClaims({
        kind: 'compare',
        op: '=',
        left: { kind: 'field', name: pin.column },
        right: { kind: 'principal', path: pin.path },
      }),
    })),
  }
}
