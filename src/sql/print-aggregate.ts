/** AggregatePlan → one Kysely SELECT with the same visibility as `query`. */
import { type Expression, type SelectQueryBuilder, type SqlBool, sql } from 'kysely'
import { and, columnRef, filterPredicate, visibilityPredicate } from './print-predicates.ts'
import { boundResultBytes, sizeOf } from './print-result-budget.ts'
import { limitLiteral, outputExpression } from './print-select.ts'
import type { AggregatePlan } from '../planner/index.ts'
import type { AnyDatabase } from '../schema/index.ts'

type AnyDb = AnyDatabase
type AnySelect = SelectQueryBuilder<any, any, any> // eslint-disable-line @typescript-eslint/no-explicit-any -- why: user schemas are only known at run time (introspection); identifiers come from the bound schema

export const AGGREGATE_VALUE = '__tessera_value'

export function printAggregate(db: AnyDb, plan: AggregatePlan): AnySelect {
  const col = columnRef('t0')
  const where: Expression<SqlBool>[] = [visibilityPredicate(plan.visibility, col)]
  if (plan.filter !== null) where.push(filterPredicate(plan.filter, col))
  const target = plan.column === null ? sql`*` : col(plan.column.name)
  // Exact text for every numeric result: sums of numeric columns must not pass through a float; min/max keep
  // the column's own output form (the same as `query` returns).
  const value = (() => {
    switch (plan.op) {
      case 'count':
        return sql`count(${target})::text`
      case 'sum':
        return sql`sum(${target})::text`
      case 'avg':
        return sql`avg(${target})::text`
      case 'min':
      case 'max': {
        const column = plan.column
        if (column === null) throw new Error('min/max need a column')
        const fn = plan.op === 'min' ? sql`min` : sql`max`
        return outputExpression(
          { name: column.name, typeClass: column.typeClass },
          () => sql`${fn}(${col(column.name)})`,
        )
      }
      default: {
        const never: never = plan.op
        throw new Error(`unhandled aggregate ${String(never)}`)
      }
    }
  })()
  let q: AnySelect = db
    .selectFrom(sql.id(plan.table.schema, plan.table.name).as('t0'))
    .select([value.as(AGGREGATE_VALUE), ...plan.groupBy.map((g) => outputExpression(g, col).as(g.name))])
    .where(and(where))
  if (plan.groupBy.length > 0) {
    q = q.groupBy(plan.groupBy.map((g) => col(g.name)))
    for (const g of plan.groupBy) q = q.orderBy(sql`${col(g.name)} asc nulls last`)
    // One more than allowed, so an over-large result is detected rather than silently cut. A literal, as for
    // query pages: a bound LIMIT makes PostgreSQL re-plan a prepared statement on every execution.
    q = q.limit(limitLiteral(plan.maxGroups + 1))
  }
  // Group keys (and min/max of a text column) can be as large as any value: the result is counted like a page.
  return boundResultBytes(
    db,
    q,
    [
      { name: AGGREGATE_VALUE, size: 'text' },
      ...plan.groupBy.map((g) => ({ name: g.name, size: sizeOf(g.typeClass) })),
    ],
    plan.budget.maxResultBytes,
    plan.groupBy.length === 0,
  )
}
