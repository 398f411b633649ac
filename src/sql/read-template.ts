/**
 * Read templates for the read fast path (src/tools/read-shape-cache.ts): the statement template of a read
 * plan's shape, held by the caller, and the plan's bound values collected without building a probe plan or
 * its shape key (statement-cache.ts does both for every other read).
 *
 * The values are collected in the order statement-cache.ts's probe puts its slots (filter, includes, then
 * visibility; cursor keys last), with the same JS-type text. A template is handed out only when collecting
 * the plan it was made from gives exactly the probe's slot values and types; binding refuses (undefined) a
 * plan whose value types or NULL cursor keys differ from the template's. The caller's key decides which plans
 * share a template: everything a plan holds besides its bound values must be in it (the caller's docs say
 * how), so this file checks what the values can change and nothing else.
 */
import type { CompiledQuery } from 'kysely'
import type {
  AggregatePlan,
  FilterPlan,
  GetPlan,
  QueryPlan,
  SelectPlan,
  VisibilityPlan,
} from '../planner/index.ts'
import type { ConditionNode, OperandNode } from '../policy/index.ts'
import type { AnyDatabase } from '../schema/index.ts'
import { instantiateTemplate, readPlanTemplate, type StatementTemplate } from './statement-cache.ts'

type ReadPlan = GetPlan | QueryPlan | AggregatePlan

/** A read statement template and what a plan must have to be bound into it. */
export interface ReadTemplate {
  /** The instance it was printed for: a template binds only plans sent there. */
  readonly db: AnyDatabase
  readonly template: StatementTemplate
  /** JS types of the slot values in order (SlotValues.types). */
  readonly types: string
  /** Which cursor keys are NULL (printed verbatim, so part of the statement's shape). */
  readonly after: string
}

/** Marks a plan the probe would not template (a pattern filter): no slots can be collected. */
class Untemplated extends Error {}
const UNTEMPLATED = new Untemplated('untemplated')

function put(value: unknown, values: unknown[]): string {
  values.push(value)
  return `${Array.isArray(value) ? 'array' : typeof value},`
}

function filterSlots(f: FilterPlan, values: unknown[]): string {
  switch (f.kind) {
    case 'and':
    case 'or': {
      let types = ''
      for (const item of f.items) types += filterSlots(item, values)
      return types
    }
    case 'not':
      return filterSlots(f.item, values)
    case 'cmp':
      switch (f.op) {
        case 'is_null':
          return ''
        case 'contains':
        case 'startswith':
        case 'endswith':
          throw UNTEMPLATED
        case 'between': {
          const [lo, hi] = f.value as readonly unknown[]
          return put(lo, values) + put(hi, values)
        }
        case 'eq':
        case 'ne':
        case 'lt':
        case 'lte':
        case 'gt':
        case 'gte':
        case 'in':
        case 'not_in':
          return put(f.value, values)
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

function operandSlots(o: OperandNode, values: unknown[]): string {
  return o.kind === 'claim' && o.value !== null ? put(o.value, values) : ''
}

/** statement-cache.ts's probeCondition with statement-cache.ts's probeOperand, collecting instead of copying. */
function conditionSlots(node: ConditionNode, values: unknown[]): string {
  switch (node.kind) {
    case 'bool':
    case 'is_null':
      return ''
    case 'and':
    case 'or': {
      let types = ''
      for (const o of node.operands) types += conditionSlots(o, values)
      return types
    }
    case 'not':
      return conditionSlots(node.operand, values)
    case 'compare':
      return operandSlots(node.left, values) + operandSlots(node.right, values)
    case 'in': {
      const right = node.right
      const left = operandSlots(node.left, values)
      if (right.kind === 'claimList') return left + put(right.values, values)
      if (right.kind === 'list') {
        let types = left
        for (const item of right.items) types += operandSlots(item, values)
        return types
      }
      return left + operandSlots(right, values)
    }
    default: {
      const never: never = node
      throw new Error(`unhandled condition kind ${String(never)}`)
    }
  }
}

function visibilitySlots(v: VisibilityPlan, values: unknown[]): string {
  let types = ''
  for (const s of v.scopes) types += put(s.value, values)
  for (const r of v.permissive) types += conditionSlots(r.condition, values)
  for (const r of v.restrictive) types += conditionSlots(r.condition, values)
  return types
}

function selectSlots(p: SelectPlan, values: unknown[]): string {
  let types = p.filter === null ? '' : filterSlots(p.filter, values)
  for (const inc of p.includes) types += selectSlots(inc.select, values)
  return types + visibilitySlots(p.visibility, values)
}

/** The plan's slot values in probe order, and their types; undefined for a plan the probe would not template. */
function readSlots(plan: ReadPlan, values: unknown[]): string | undefined {
  try {
    switch (plan.kind) {
      case 'get':
        return selectSlots(plan.root, values)
      case 'query': {
        let types = selectSlots(plan.root, values)
        if (plan.after !== null) for (const v of plan.after) if (v !== null) types += put(v, values)
        return types
      }
      case 'aggregate':
        return (
          (plan.filter === null ? '' : filterSlots(plan.filter, values)) +
          visibilitySlots(plan.visibility, values)
        )
      default: {
        const never: never = plan
        throw new Error(`unhandled plan kind ${String(never)}`)
      }
    }
  } catch (error) {
    if (error === UNTEMPLATED) return undefined
    throw error
  }
}

function afterMask(plan: ReadPlan): string {
  if (plan.kind !== 'query' || plan.after === null) return '-'
  let mask = ''
  for (const v of plan.after) mask += v === null ? 'n' : 'v'
  return mask
}

/**
 * The template of `plan`'s shape as printed on `db` (plan as the executor prints it, after the enforcement
 * mode's reduction), or undefined when its shape is not templated or the slot collection here disagrees with
 * the probe's for this plan.
 */
export function readTemplateOf(db: AnyDatabase, plan: ReadPlan): ReadTemplate | undefined {
  const made = readPlanTemplate(db, plan)
  if (made === undefined) return undefined
  const values: unknown[] = []
  const types = readSlots(plan, values)
  const probed = made.slots.values
  if (types !== made.slots.types || values.length !== probed.length) return undefined
  for (let i = 0; i < values.length; i++) if (!Object.is(values[i], probed[i])) return undefined
  return { db, template: made.template, types, after: afterMask(plan) }
}

/**
 * `plan`'s statement from `template`, or undefined when its values do not fit it (other JS types, other NULL
 * cursor keys, or a plan the probe would not template). The statement is marked printed like every other.
 */
export function bindReadTemplate<R>(
  template: ReadTemplate,
  db: AnyDatabase,
  plan: ReadPlan,
): CompiledQuery<R> | undefined {
  if (template.db !== db || afterMask(plan) !== template.after) return undefined
  const values: unknown[] = []
  if (readSlots(plan, values) !== template.types) return undefined
  return instantiateTemplate<R>(template.template, values)
}
