/**
 * The probe walk over a read plan (statement-cache.ts): the one place that decides which of a plan's values are
 * bound slots and in which order. With `copy` it returns the probe — a copy of the plan with a Slot marker
 * where the plan has a value the printers only bind (scope values, comparison values, `in` lists, `between`
 * bounds, claim values, non-null cursor keys) — whose shape key and compiled template statement-cache.ts
 * keeps; without `copy` it returns the plan's own nodes and only fills `slots`: how the read fast path
 * (read-template.ts) gathers a call's values for a template it already holds. One walk for both, so the fast
 * path binds values in exactly the probe's slot order and with its JS-type text; there is no second walker
 * that could drift from it.
 *
 * Values that *choose* SQL (`is_null`'s true/false, a NULL cursor key, a NULL claim) stay verbatim; LIKE
 * patterns (rewritten before binding) make the plan uncacheable.
 */
import type {
  AggregatePlan,
  BudgetReport,
  AppliedRowPolicy,
  FilterPlan,
  GetPlan,
  QueryPlan,
  SelectPlan,
  VisibilityPlan,
} from '../planner/index.ts'
import type { OperandNode } from '../policy/index.ts'
import { probeCondition, type SlotValues } from './template-slots.ts'

export const UNCACHEABLE = Symbol('uncacheable')
export type Uncacheable = typeof UNCACHEABLE

/** The probe of a read plan: its shape, with Slot markers where the call's plan has bound values. */
export type ProbePlan =
  | { readonly kind: 'get'; readonly root: SelectPlan; readonly budget: ProbeBudget }
  | {
      readonly kind: 'query'
      readonly root: SelectPlan
      readonly after: QueryPlan['after']
      readonly budget: ProbeBudget
    }
  | AggregatePlan

export type CachedPlan = GetPlan | QueryPlan | AggregatePlan

/** The one budget a read statement prints (a literal, like the row limit), so part of its shape. */
type ProbeBudget = Pick<BudgetReport, 'maxResultBytes'>

function probeFilter(f: FilterPlan, slots: SlotValues, copy: boolean): FilterPlan | Uncacheable {
  switch (f.kind) {
    case 'and':
    case 'or': {
      const items: FilterPlan[] | undefined = copy ? [] : undefined
      for (const item of f.items) {
        const probe = probeFilter(item, slots, copy)
        if (probe === UNCACHEABLE) return UNCACHEABLE
        items?.push(probe)
      }
      return items === undefined ? f : { kind: f.kind, items }
    }
    case 'not': {
      const item = probeFilter(f.item, slots, copy)
      return item === UNCACHEABLE ? UNCACHEABLE : copy ? { kind: 'not', item } : f
    }
    case 'cmp':
      switch (f.op) {
        case 'is_null':
          return f
        case 'contains':
        case 'startswith':
        case 'endswith':
          return UNCACHEABLE
        case 'between': {
          const [lo, hi] = f.value as readonly unknown[]
          const value = [slots.put(lo), slots.put(hi)]
          return copy ? { ...f, value } : f
        }
        case 'eq':
        case 'ne':
        case 'lt':
        case 'lte':
        case 'gt':
        case 'gte':
        case 'in':
        case 'not_in': {
          const value = slots.put(f.value)
          return copy ? { ...f, value } : f
        }
        default: {
          const never: never = f.op
          throw new Error(`unhandled filter op ${String(never)}`)
        }
      }
    default: {
      const never: never = f
      throw new Error(`unhandled filter kind ${String(never)}`)
    }
  }
}

/** A claim value becomes a slot; everything else of a bound condition stays verbatim (and so in the key). */
function probeOperand(o: OperandNode, slots: SlotValues, copy: boolean): OperandNode {
  if (o.kind !== 'claim' || o.value === null) return o
  const value = slots.put(o.value)
  return copy ? { ...o, value } : o
}

function probeRules(
  rules: readonly AppliedRowPolicy[],
  slots: SlotValues,
  copy: boolean,
): readonly AppliedRowPolicy[] {
  const probes: AppliedRowPolicy[] | undefined = copy ? [] : undefined
  for (const r of rules) {
    const condition = probeCondition(r.condition, slots, probeOperand, copy)
    probes?.push({ name: r.name, condition })
  }
  return probes ?? rules
}

function probeVisibility(v: VisibilityPlan, slots: SlotValues, copy: boolean): VisibilityPlan {
  const scopes: VisibilityPlan['scopes'][number][] | undefined = copy ? [] : undefined
  for (const s of v.scopes) {
    const value = slots.put(s.value)
    scopes?.push({ ...s, value })
  }
  const permissive = probeRules(v.permissive, slots, copy)
  const restrictive = probeRules(v.restrictive, slots, copy)
  return scopes === undefined ? v : { ...v, scopes, permissive, restrictive }
}

function probeSelect(plan: SelectPlan, slots: SlotValues, copy: boolean): SelectPlan | Uncacheable {
  const filter = plan.filter === null ? null : probeFilter(plan.filter, slots, copy)
  if (filter === UNCACHEABLE) return UNCACHEABLE
  const includes: SelectPlan['includes'][number][] | undefined = copy ? [] : undefined
  for (const inc of plan.includes) {
    const select = probeSelect(inc.select, slots, copy)
    if (select === UNCACHEABLE) return UNCACHEABLE
    includes?.push({ ...inc, select })
  }
  const visibility = probeVisibility(plan.visibility, slots, copy)
  if (includes === undefined) return plan
  return {
    ...plan,
    visibility,
    filter,
    // Kept verbatim: the limit is written into the SQL text (print-select), so it is part of the shape.
    fetchLimit: plan.fetchLimit,
    includes,
  }
}

/** The probe of any read plan (or, without `copy`, the plan itself), filling `slots`; UNCACHEABLE outside. */
export function probeRead(plan: CachedPlan, slots: SlotValues, copy: boolean): ProbePlan | Uncacheable {
  switch (plan.kind) {
    case 'get': {
      const root = probeSelect(plan.root, slots, copy)
      return root === UNCACHEABLE
        ? UNCACHEABLE
        : copy
          ? { kind: 'get', root, budget: { maxResultBytes: plan.budget.maxResultBytes } }
          : plan
    }
    case 'query':
      return probeQuery(plan, slots, copy)
    case 'aggregate':
      return probeAggregate(plan, slots, copy)
    default: {
      const never: never = plan
      throw new Error(`unhandled plan kind ${String(never)}`)
    }
  }
}

/**
 * A read plan's slot values and their types, in the probe's order, gathered by the probe's own walk without
 * building the probe (the read fast path binds them into a template it holds); false when the probe would not
 * template the plan (a pattern filter).
 */
export function collectReadSlots(plan: CachedPlan, slots: SlotValues): boolean {
  return probeRead(plan, slots, false) !== UNCACHEABLE
}

function probeQuery(plan: QueryPlan, slots: SlotValues, copy: boolean): ProbePlan | Uncacheable {
  const root = probeSelect(plan.root, slots, copy)
  if (root === UNCACHEABLE) return UNCACHEABLE
  let after: (string | null)[] | null = null
  if (plan.after !== null) {
    const keys: (string | null)[] | undefined = copy ? [] : undefined
    for (const v of plan.after) {
      const key = v === null ? null : slots.put(v)
      keys?.push(key)
    }
    after = keys ?? null
  }
  return copy ? { kind: 'query', root, after, budget: { maxResultBytes: plan.budget.maxResultBytes } } : plan
}

function probeAggregate(plan: AggregatePlan, slots: SlotValues, copy: boolean): ProbePlan | Uncacheable {
  const filter = plan.filter === null ? null : probeFilter(plan.filter, slots, copy)
  if (filter === UNCACHEABLE) return UNCACHEABLE
  const visibility = probeVisibility(plan.visibility, slots, copy)
  return copy ? { ...plan, visibility, filter } : plan
}
