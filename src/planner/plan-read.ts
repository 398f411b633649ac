/**
 * Planners for the read tools: (request, bound policy, principal) → QueryPlan / GetPlan / AggregatePlan.
 * No connection, no SQL: everything here is decided on plain data, so every decision is unit-testable and
 * recorded in the plan.
 */
import type { Principal } from '../context/index.ts'
import { budgetExceeded, fieldNotAllowed, queryTooBroad, validationError } from '../errors/index.ts'
import type { BoundModel, BoundPolicy, Budget } from '../policy/index.ts'
import { type ColumnTypeClass, findColumn } from '../schema/index.ts'
import { cursorBinding, decodeCursor, type CursorBindingInput } from './cursor.ts'
import { fieldFor } from './field-access.ts'
import { complexityScore } from './plan-filter.ts'
import {
  DEFAULT_PAGE_SIZE,
  modelFor,
  newSelectAccumulator,
  planIncludes,
  planOrder,
  planSelectedFields,
  planWhere,
  SORTABLE,
  type SelectAccumulator,
} from './plan-select.ts'
import { planVisibility } from './plan-visibility.ts'
import { planTable } from './plan-constants.ts'
import type {
  AggregateColumn,
  AggregateOp,
  AggregatePlan,
  BudgetReport,
  FilterPlan,
  GetPlan,
  QueryPlan,
  SelectPlan,
  VisibilityPlan,
} from './query-plan.ts'
import {
  coerceFilterValue,
  type AggregateRequest,
  type GetRequest,
  type QueryRequest,
} from '../request/index.ts'

export interface PlannerOptions {
  /** Key for cursor signatures. */
  readonly cursorKey: string | Uint8Array
}

const newAccumulator = newSelectAccumulator

function finishBudget(acc: SelectAccumulator, limit: number): BudgetReport {
  const complexity = complexityScore({
    selectedFields: acc.selectedFields,
    includes: acc.includes,
    orderKeys: acc.orderKeys,
    filter: acc.cost,
  })
  if (complexity > acc.budget.maxComplexity)
    throw budgetExceeded('max_complexity', acc.budget.maxComplexity, complexity)
  return {
    complexity,
    maxComplexity: acc.budget.maxComplexity,
    limit,
    maxRows: acc.budget.maxRows,
    includeDepth: acc.maxDepth,
    statementTimeoutMs: acc.budget.statementTimeoutMs,
    maxEstimatedCost: acc.budget.maxEstimatedCost,
    maxConcurrentPerTenant: acc.budget.maxConcurrentPerTenant,
    maxResultBytes: acc.budget.maxResultBytes,
  }
}

/**
 * The broad-query guard: a query with no filter over a large table that no tenant scope narrows (a shared
 * table, or any table under a bypass) is refused before it runs, using the table's estimated row count.
 */
function guardBroad(
  model: BoundModel,
  visibility: VisibilityPlan,
  filter: FilterPlan | null,
  budget: Budget,
): void {
  // A filter without a single comparison (`[]`, `{ and: [] }`, `{ not: { or: [] } }`) narrows nothing: it
  // must not switch the guard off.
  if (!budget.broadQueryGuard || (filter !== null && hasComparison(filter))) return
  const unscoped = visibility.bypass !== null || visibility.shared
  if (unscoped && model.table.estimatedRows > budget.broadQueryThreshold) {
    throw queryTooBroad(model.name, Math.round(model.table.estimatedRows))
  }
}

function hasComparison(filter: FilterPlan): boolean {
  switch (filter.kind) {
    case 'cmp':
      return true
    case 'not':
      return hasComparison(filter.item)
    case 'and':
    case 'or':
      return filter.items.some(hasComparison)
    default: {
      const never: never = filter
      throw new Error(`unhandled filter kind ${String(never)}`)
    }
  }
}

/**
 * Type classes min/max are planned for: an allow-list, not a deny-list. `other` (point, xml, tsvector, …) may
 * have no min/max at all, which PostgreSQL reports as an INTERNAL_ERROR-shaped failure; and where it has one
 * (interval, arrays), the value comes back as a driver object that the aggregate result cannot carry
 * faithfully (an interval became "[object Object]", an array its bare elements). uuid and boolean have none.
 */
const MIN_MAX: ReadonlySet<ColumnTypeClass> = new Set<ColumnTypeClass>([
  'string',
  'integer',
  'bigint',
  'numeric',
  'float',
  'timestamp',
])

const SUMMABLE: ReadonlySet<ColumnTypeClass> = new Set<ColumnTypeClass>([
  'integer',
  'bigint',
  'numeric',
  'float',
])

/**
 * The aggregate operations planAggregate accepts on a field of this type (the field must also be allowed and
 * listed in the model's `aggregations.fields`): `count` on any, sum/avg on numbers, min/max on MIN_MAX.
 */
export function aggregateOpsFor(typeClass: ColumnTypeClass): readonly AggregateOp[] {
  const ops: AggregateOp[] = ['count']
  if (SUMMABLE.has(typeClass)) ops.push('sum', 'avg')
  if (MIN_MAX.has(typeClass)) ops.push('min', 'max')
  return ops
}

export function planQuery(
  bound: BoundPolicy,
  principal: Principal,
  req: QueryRequest,
  options: PlannerOptions,
): QueryPlan {
  const model = modelFor(bound, req.model)
  const budget = model.policy.budget
  const limit = req.limit ?? Math.min(DEFAULT_PAGE_SIZE, budget.maxRows)
  if (limit > budget.maxRows) throw budgetExceeded('max_rows', budget.maxRows, limit)
  const acc = newAccumulator(budget)
  const visibility = planVisibility(model, principal)
  const filter = planWhere(model, req.where, acc, 'where')
  const orderBy = planOrder(model, req.orderBy, acc)
  const root: SelectPlan = {
    model: model.name,
    table: planTable(model),
    fields: planSelectedFields(model, req.select, acc),
    visibility,
    filter,
    orderBy,
    fetchLimit: limit + 1,
    includes: planIncludes(bound, model, req.include, principal, acc, 1, limit + 1),
  }
  const cursorScope: CursorBindingInput = {
    tenantId: principal.tenantId,
    userId: principal.userId ?? null,
    roles: principal.roles ?? [],
    // Metadata feeds scoping and row policies (org, hierarchy): a cursor must not survive a change of it.
    metadata: principal.metadata ?? null,
    model: model.name,
    where: req.where ?? null,
    orderBy: orderBy,
    select: req.select ?? null,
    include: req.include ?? null,
    policyVersion: bound.policy.versionHash,
  }
  let after: (string | null)[] | null = null
  let binding: string | null = null
  if (req.cursor !== undefined) {
    binding = cursorBinding(cursorScope)
    const payload = decodeCursor(req.cursor, options.cursorKey, binding)
    const keys: (string | null)[] = payload.k.map((v: unknown) => (v === null ? null : String(v)))
    if (keys.length !== orderBy.length) throw validationError('The cursor does not fit this query')
    after = keys
  } else {
    guardBroad(model, visibility, filter, budget)
  }
  return {
    kind: 'query',
    root,
    limit,
    after,
    cursorScope,
    cursorBinding: binding,
    budget: finishBudget(acc, limit),
  }
}

/** A primary-key value (or object of values for composite keys) → an equality filter on the key columns. */
function idFilter(model: BoundModel, id: GetRequest['id']): FilterPlan {
  const pk = model.primaryKey
  const values: Record<string, unknown> =
    typeof id === 'object' && id !== null ? { ...id } : pk.length === 1 ? { [pk[0] as string]: id } : {}
  const extra = Object.keys(values).filter((k) => !pk.includes(k))
  const missing = pk.filter((k) => !Object.hasOwn(values, k))
  if (extra.length > 0 || missing.length > 0) {
    throw validationError(
      `The id of ${model.name} is ${pk.length === 1 ? 'a single value' : `an object with ${pk.join(', ')}`}`,
      [{ path: 'id', message: 'does not match the primary key' }],
    )
  }
  const items: FilterPlan[] = pk.map((column) => {
    const info = findColumn(model.table, column)
    if (!info) throw validationError('The id does not match the primary key')
    return { kind: 'cmp', column, op: 'eq', value: coerceFilterValue(info, 'eq', values[column], `id`) }
  })
  return items.length === 1 ? (items[0] as FilterPlan) : { kind: 'and', items }
}

export function planGet(bound: BoundPolicy, principal: Principal, req: GetRequest): GetPlan {
  const model = modelFor(bound, req.model)
  const budget = model.policy.budget
  const acc = newAccumulator(budget)
  const root: SelectPlan = {
    model: model.name,
    table: planTable(model),
    fields: planSelectedFields(model, req.select, acc),
    visibility: planVisibility(model, principal),
    filter: idFilter(model, req.id),
    orderBy: [],
    fetchLimit: 1,
    includes: planIncludes(bound, model, req.include, principal, acc, 1, 1),
  }
  return { kind: 'get', root, budget: finishBudget(acc, 1) }
}

export function planAggregate(
  bound: BoundPolicy,
  principal: Principal,
  req: AggregateRequest,
): AggregatePlan {
  const model = modelFor(bound, req.model)
  const budget = model.policy.budget
  const acc = newAccumulator(budget)
  const aggregations = model.policy.aggregations
  let column: AggregateColumn | null = null
  if (req.op !== 'count' && req.field === undefined) {
    throw validationError(`'${req.op}' needs a field`, [{ path: 'field', message: 'required for this op' }])
  }
  if (req.field !== undefined) {
    const field = fieldFor(model, req.field, 'aggregate')
    // Aggregating is its own permission: a readable field is not automatically summable.
    if (!aggregations.fields.includes(field.name)) throw fieldNotAllowed(model.name, req.field, 'aggregation')
    if ((req.op === 'sum' || req.op === 'avg') && !SUMMABLE.has(field.column.typeClass)) {
      throw validationError(`'${req.op}' needs a numeric field`, [{ path: 'field', message: 'not numeric' }])
    }
    if ((req.op === 'min' || req.op === 'max') && !MIN_MAX.has(field.column.typeClass)) {
      throw validationError(`'${req.op}' cannot be used on field '${field.name}'`, [
        { path: 'field', message: `no ${req.op} for this type` },
      ])
    }
    column = { name: field.name, typeClass: field.column.typeClass }
    acc.selectedFields += 1
  }
  const groupBy = (req.groupBy ?? []).map((g) => {
    const field = fieldFor(model, g, 'group')
    if (!aggregations.groupBy.includes(field.name)) throw fieldNotAllowed(model.name, g, 'grouping')
    // Groups are formed with `=` and ordered by their keys (src/sql/print-aggregate.ts), so a key needs a total order:
    // json (not jsonb) and `other` types such as point have no equality operator and failed in PostgreSQL as
    // INTERNAL_ERROR. The same rule as orderBy.
    if (!SORTABLE.has(field.column.typeClass)) {
      throw validationError(`Field '${field.name}' cannot be grouped by`, [
        { path: 'groupBy', message: `a ${field.column.dataType} field has no order` },
      ])
    }
    acc.orderKeys += 1
    return { name: field.name, typeClass: field.column.typeClass }
  })
  const visibility = planVisibility(model, principal)
  const filter = planWhere(model, req.where, acc, 'where')
  guardBroad(model, visibility, filter, budget)
  return {
    kind: 'aggregate',
    model: model.name,
    table: planTable(model),
    op: req.op,
    column,
    groupBy,
    visibility,
    filter,
    maxGroups: budget.maxRows,
    budget: finishBudget(acc, budget.maxRows),
  }
}
