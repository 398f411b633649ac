/**
 * Enforcement `rls` (docs/contract.md §5): the database's row-level security policies, generated from the same Policy
 * (src/rls), decide which rows a statement sees, so the statement carries none of the planner's scope or
 * row-policy predicates. The plan is still made in full first — a principal path that does not resolve is
 * refused (TENANT_SCOPE_REQUIRED) in every mode, and the audit reports the scopes and rules the plan decided,
 * which are the ones RLS applies — and only then is each VisibilityPlan reduced to what is not a boundary:
 * the soft-delete filter, which RLS does not carry.
 */
import type { AggregatePlan, ReadPlan, SelectPlan, VisibilityPlan } from './query-plan.ts'

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
