/**
 * Turns the request's filter tree into a FilterPlan: every field checked through field-access, every value
 * type-checked against its column (no casts ever reach SQL), and the filter's share of the complexity score.
 */
import { budgetExceeded, validationError } from '../errors/index.ts'
import type { BoundModel, Budget } from '../policy/index.ts'
import type { ColumnInfo } from '../schema/index.ts'
import { fieldFor } from './field-access.ts'
import type { FilterPlan } from './query-plan.ts'
import { coerceFilterValue, PATTERN_OPS, type FilterNode, type FilterOp } from '../request/index.ts'

const TEXT_TYPES: ReadonlySet<string> = new Set(['text', 'varchar', 'bpchar', 'citext', 'name'])

export interface FilterCost {
  /** Comparison nodes. */
  filters: number
  inItems: number
  stringMatches: number
  /** +1 per 50 pattern characters: an unanchored LIKE costs grow with the pattern (and PGlite cannot time out). */
  patternWeight: number
  betweens: number
}

/** Types that hold only values no comparison but `is_null` applies to (coerce-value refuses them). */
const VALUELESS_TYPES: ReadonlySet<string> = new Set(['json', 'bytea', 'array', 'other'])

/**
 * The operators this planner accepts on a filterable field of this column's type (for some value): the tools'
 * narrowed schemas offer exactly these. The rules are planFilter's and coerceFilterValue's: pattern operators
 * need a text column, ordering operators have no meaning on booleans, and json/bytea/array/other values can
 * only be tested for null. Held to planFilter by test/unit/filter-operators.test.ts.
 */
export function filterOperatorsFor(column: ColumnInfo): readonly FilterOp[] {
  if (VALUELESS_TYPES.has(column.typeClass)) return ['is_null']
  const ops: FilterOp[] = ['eq', 'ne', 'in', 'not_in', 'is_null']
  if (column.typeClass !== 'boolean') ops.push('lt', 'lte', 'gt', 'gte', 'between')
  if (column.typeClass === 'string' && TEXT_TYPES.has(column.udtName)) ops.push(...PATTERN_OPS)
  return ops
}

export function emptyFilterCost(): FilterCost {
  return { filters: 0, inItems: 0, stringMatches: 0, patternWeight: 0, betweens: 0 }
}

export function planFilter(
  model: BoundModel,
  node: FilterNode,
  budget: Budget,
  cost: FilterCost,
  path = 'where',
): FilterPlan {
  switch (node.kind) {
    case 'and':
    case 'or':
      return {
        kind: node.kind,
        items: node.items.map((item, i) =>
          planFilter(model, item, budget, cost, `${path}.${node.kind}[${i}]`),
        ),
      }
    case 'not':
      return { kind: 'not', item: planFilter(model, node.item, budget, cost, `${path}.not`) }
    case 'cmp': {
      const field = fieldFor(model, node.field, 'filter')
      cost.filters += 1
      if (cost.filters > budget.maxFilters)
        throw budgetExceeded('max_filters', budget.maxFilters, cost.filters)
      if (node.op === 'in' || node.op === 'not_in') {
        const n = Array.isArray(node.value) ? node.value.length : 0
        cost.inItems += n
        if (n > budget.maxInItems) throw budgetExceeded('max_in_items', budget.maxInItems, n)
      }
      if (node.op === 'contains' || node.op === 'startswith' || node.op === 'endswith') {
        // LIKE exists for text types only; an enum or domain over another type would fail in the database.
        if (!TEXT_TYPES.has(field.column.udtName)) {
          throw validationError(`Field '${field.name}' does not support '${node.op}'`, [
            { path: `${path}.op`, message: `'${node.op}' needs a text field` },
          ])
        }
        cost.stringMatches += 1
        if (typeof node.value === 'string') {
          cost.patternWeight += patternWeight(node.op, node.value.length, field.column.dataType)
        }
      }
      if (node.op === 'between') cost.betweens += 1
      const value = coerceFilterValue(field.column, node.op, node.value, `${path}.value`)
      return { kind: 'cmp', column: field.name, op: node.op, value }
    }
    default: {
      const never: never = node
      throw new Error(`unhandled filter kind ${String(never)}`)
    }
  }
}

/**
 * What a pattern filter costs beyond the flat +3: its length times the width the column may hold, per 50
 * characters — an unanchored LIKE compares the pattern at every position of every value it scans. A column
 * with a declared length (`varchar(n)`, `char(n)`) weighs n/256 (at least 1); an unbounded text column
 * weighs 8 (values of kilobytes are ordinary there). `startswith` compares once per value: weight 1.
 */
export function patternWeight(op: string, length: number, dataType: string): number {
  if (op === 'startswith') return Math.floor(length / 50)
  const declared = /\((\d+)\)$/.exec(dataType)
  const width = declared ? Math.max(1, Math.ceil(Number(declared[1]) / 256)) : 8
  return Math.floor((length * width) / 50)
}

/** Complexity score (issue #3): base 1, +1 per selected field, +2 per filter, +10 per include, +1 per order key, +3 per string match (+1 per 50 pattern characters), +2 per `in` item, +2 per between. */
export function complexityScore(parts: {
  selectedFields: number
  includes: number
  orderKeys: number
  filter: FilterCost
}): number {
  const f = parts.filter
  return (
    1 +
    parts.selectedFields +
    2 * f.filters +
    10 * parts.includes +
    parts.orderKeys +
    3 * f.stringMatches +
    f.patternWeight +
    2 * f.inItems +
    2 * f.betweens
  )
}
