/**
 * Plans the SELECT part shared by query, get and includes: the model lookup, the fields returned (and how they
 * are transformed), the filter, the order, and the includes with each target's OWN visibility and field policy.
 */
import type { Principal } from '../context/index.ts'
import { budgetExceeded, modelNotAllowed, relationNotAllowed, validationError } from '../errors/index.ts'
import type { BoundModel, BoundPolicy, Budget } from '../policy/index.ts'
import type { ColumnTypeClass } from '../schema/index.ts'
import { fieldFor, readableFields } from './field-access.ts'
import { emptyFilterCost, type FilterCost, planFilter } from './plan-filter.ts'
import { planVisibility } from './plan-visibility.ts'
import { planDefaultFields, planTable } from './plan-constants.ts'
import type { FilterPlan, IncludePlan, OrderKey, SelectedField, SelectPlan } from './query-plan.ts'
import type { FilterNode, IncludeRequest, OrderByItem } from '../request/index.ts'

export const DEFAULT_PAGE_SIZE = 50
/** Type classes with a total order PostgreSQL can sort and compare in a keyset cursor. */
export const SORTABLE: ReadonlySet<ColumnTypeClass> = new Set([
  'string',
  'uuid',
  'integer',
  'bigint',
  'numeric',
  'float',
  'boolean',
  'timestamp',
])
export const DEFAULT_INCLUDE_LIMIT = 20

export function modelFor(bound: BoundPolicy, name: string): BoundModel {
  const model = Object.hasOwn(bound.models, name) ? bound.models[name] : undefined
  if (!model) throw modelNotAllowed(name)
  return model
}

export interface SelectAccumulator {
  readonly budget: Budget
  readonly cost: FilterCost
  selectedFields: number
  includes: number
  orderKeys: number
  maxDepth: number
  /** Rows the statement may return at most: the page plus every include's fan-out. */
  resultRows: number
}

export function newSelectAccumulator(budget: Budget): SelectAccumulator {
  return {
    budget,
    cost: emptyFilterCost(),
    selectedFields: 0,
    includes: 0,
    orderKeys: 0,
    maxDepth: 0,
    resultRows: 0,
  }
}

export function planSelectedFields(
  model: BoundModel,
  select: readonly string[] | undefined,
  acc: SelectAccumulator,
): readonly SelectedField[] {
  // Without `select` every call on the model returns the same fields: one shared, frozen list (plan-constants.ts).
  if (select === undefined) return planDefaultFields(model, () => readableFields(model).map(selectedField))
  if (select.length > acc.budget.maxSelectFields) {
    throw budgetExceeded('max_select_fields', acc.budget.maxSelectFields, select.length)
  }
  acc.selectedFields += select.length
  return [...new Set(select)].map((f) => selectedField(fieldFor(model, f, 'select')))
}

function selectedField(f: ReturnType<typeof readableFields>[number]): SelectedField {
  return {
    name: f.name,
    typeClass: f.column.typeClass,
    transform: f.rule.action === 'mask' ? 'mask' : f.rule.action === 'hash' ? 'hash' : 'none',
    rule: f.rule,
  }
}

export function planWhere(
  model: BoundModel,
  where: FilterNode | undefined,
  acc: SelectAccumulator,
  path: string,
): FilterPlan | null {
  if (where === undefined) return null
  return planFilter(model, where, acc.budget, acc.cost, path)
}

/**
 * User order first, then the primary key, so the order is total and keyset pagination is deterministic. The
 * primary-key tie-break takes the direction of the last user key: `created_at desc, id desc` is one backward
 * scan of an index on (…, created_at, id), where a mixed `desc, asc` would need a sort step.
 */
export function planOrder(
  model: BoundModel,
  orderBy: readonly OrderByItem[] | undefined,
  acc: SelectAccumulator,
): OrderKey[] {
  const keys: OrderKey[] = []
  for (const spec of orderBy ?? []) {
    const field = fieldFor(model, spec.field, 'sort')
    if (!SORTABLE.has(field.column.typeClass)) {
      throw validationError(`Field '${field.name}' cannot be sorted`, [
        { path: 'orderBy', message: `a ${field.column.dataType} field has no order` },
      ])
    }
    if (keys.some((k) => k.column === field.name)) continue
    keys.push({ column: field.name, direction: spec.direction, nullable: field.column.nullable })
    acc.orderKeys += 1
  }
  const tieBreak = keys.at(-1)?.direction ?? 'asc'
  for (const pk of model.primaryKey) {
    if (!keys.some((k) => k.column === pk)) keys.push({ column: pk, direction: tieBreak, nullable: false })
  }
  return keys
}

export function planIncludes(
  bound: BoundPolicy,
  model: BoundModel,
  include: Readonly<Record<string, IncludeRequest>> | undefined,
  principal: Principal,
  acc: SelectAccumulator,
  depth: number,
  parentRows: number,
): IncludePlan[] {
  if (include === undefined) return []
  const plans: IncludePlan[] = []
  for (const [name, spec] of Object.entries(include)) {
    const relation = Object.hasOwn(model.relations, name) ? model.relations[name] : undefined
    const target =
      relation && Object.hasOwn(bound.models, relation.target) ? bound.models[relation.target] : undefined
    if (!relation || !target) throw relationNotAllowed(model.name, name)
    if (depth > acc.budget.maxIncludeDepth)
      throw budgetExceeded('max_include_depth', acc.budget.maxIncludeDepth, depth)
    acc.includes += 1
    acc.maxDepth = Math.max(acc.maxDepth, depth)
    if (
      relation.cardinality === 'one' &&
      (spec.where !== undefined || spec.orderBy !== undefined || spec.limit !== undefined)
    ) {
      throw validationError(`Include '${name}' returns one row: where, orderBy and limit do not apply`, [
        { path: `include.${name}`, message: 'only select and include are allowed on a to-one relation' },
      ])
    }
    const limit =
      relation.cardinality === 'one'
        ? 1
        : (spec.limit ?? Math.min(DEFAULT_INCLUDE_LIMIT, target.policy.budget.maxRows))
    if (limit > target.policy.budget.maxRows)
      throw budgetExceeded('max_rows', target.policy.budget.maxRows, limit)
    // Fan-out: every parent row may bring `limit` included rows, so one statement could otherwise return
    // page × include × include… rows. What includes add is bounded by the root model's maxResultRows.
    const rows = parentRows * limit
    acc.resultRows += rows
    const cap = acc.budget.maxResultRows
    if (acc.resultRows > cap) {
      throw budgetExceeded(
        'max_result_rows',
        cap,
        acc.resultRows,
        `Include '${name}' brings up to ${limit} rows for each of ${parentRows} parent rows: lower the query ` +
          `limit or give include '${name}' a smaller limit, or include fewer to-many relations`,
      )
    }
    const select: SelectPlan = {
      model: target.name,
      table: planTable(target),
      fields: planSelectedFields(target, spec.select, acc),
      visibility: planVisibility(target, principal),
      filter: planWhere(target, spec.where, acc, `include.${name}.where`),
      orderBy: planOrder(target, spec.orderBy, acc),
      fetchLimit: limit,
      includes: planIncludes(bound, target, spec.include, principal, acc, depth + 1, rows),
    }
    plans.push({ relation: name, cardinality: relation.cardinality, pairs: relation.pairs, select })
  }
  return plans
}
