/**
 * Kysely expressions for visibility and user filters. Identifiers come from the bound schema via `sql.id`;
 * every value — tenant ids, principal values, filter values — is a bound parameter.
 */
import { type Expression, type RawBuilder, type SqlBool, sql } from 'kysely'
import { conditionPredicate } from './print-condition.ts'
import type { FilterPlan, VisibilityPlan } from '../planner/index.ts'
import { likePatternFor } from './like-pattern.ts'

export type ColumnRef = (column: string) => RawBuilder<unknown>

export function columnRef(alias: string): ColumnRef {
  return (column) => sql.id(alias, column)
}

export function and(parts: readonly Expression<SqlBool>[]): Expression<SqlBool> {
  if (parts.length === 0) return sql<SqlBool>`true`
  if (parts.length === 1) return parts[0] as Expression<SqlBool>
  return sql<SqlBool>`(${sql.join(parts, sql` and `)})`
}

export function or(parts: readonly Expression<SqlBool>[]): Expression<SqlBool> {
  if (parts.length === 0) return sql<SqlBool>`false`
  if (parts.length === 1) return parts[0] as Expression<SqlBool>
  return sql<SqlBool>`(${sql.join(parts, sql` or `)})`
}

/** Every scoped column equals the principal's (bound) value. */
export function scopePredicate(v: VisibilityPlan, col: ColumnRef): Expression<SqlBool> {
  return and(v.scopes.map((s) => sql<SqlBool>`${col(s.column)} = ${s.value}`))
}

/** `(scopes ∧ … ∨ permissive…) ∧ restrictive… ∧ soft-delete IS NULL`; no rule at all means no row. */
export function visibilityPredicate(v: VisibilityPlan, col: ColumnRef): Expression<SqlBool> {
  const parts: Expression<SqlBool>[] = []
  if (v.bypass === null && !v.shared) {
    const alternatives: Expression<SqlBool>[] = []
    if (v.scopes.length > 0) alternatives.push(scopePredicate(v, col))
    for (const rule of v.permissive) alternatives.push(conditionPredicate(rule.condition, { column: col }))
    // or([]) is `false`: a model that somehow has neither scope nor permissive rule shows nothing (fail closed).
    parts.push(or(alternatives))
  }
  for (const rule of v.restrictive) parts.push(conditionPredicate(rule.condition, { column: col }))
  if (v.softDeleteColumn !== null) parts.push(sql<SqlBool>`${col(v.softDeleteColumn)} is null`)
  return and(parts)
}

export function filterPredicate(f: FilterPlan, col: ColumnRef): Expression<SqlBool> {
  switch (f.kind) {
    case 'and':
      return and(f.items.map((i) => filterPredicate(i, col)))
    case 'or':
      return or(f.items.map((i) => filterPredicate(i, col)))
    case 'not':
      return sql<SqlBool>`not (${filterPredicate(f.item, col)})`
    case 'cmp': {
      const c = col(f.column)
      switch (f.op) {
        case 'eq':
          return sql<SqlBool>`${c} = ${f.value}`
        case 'ne':
          return sql<SqlBool>`${c} <> ${f.value}`
        case 'lt':
          return sql<SqlBool>`${c} < ${f.value}`
        case 'lte':
          return sql<SqlBool>`${c} <= ${f.value}`
        case 'gt':
          return sql<SqlBool>`${c} > ${f.value}`
        case 'gte':
          return sql<SqlBool>`${c} >= ${f.value}`
        // One array parameter, however long the list: never more bind parameters than PostgreSQL allows.
        case 'in':
          return sql<SqlBool>`${c} = any(${f.value})`
        case 'not_in':
          return sql<SqlBool>`${c} <> all(${f.value})`
        case 'is_null':
          return f.value === false ? sql<SqlBool>`${c} is not null` : sql<SqlBool>`${c} is null`
        case 'contains':
        case 'startswith':
        case 'endswith':
          return sql<SqlBool>`${c} like ${likePatternFor(f.op, f.value as string)} escape '\\'`
        case 'between': {
          const [lo, hi] = f.value as readonly unknown[]
          return sql<SqlBool>`${c} between ${lo} and ${hi}`
        }
        default: {
          const never: never = f.op
          throw new Error(`unhandled filter op ${String(never)}`)
        }
      }
    }
    default: {
      const never: never = f
      throw new Error(`unhandled filter kind ${String(never)}`)
    }
  }
}
