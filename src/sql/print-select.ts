/**
 * SelectPlan → one Kysely SELECT. Includes become correlated JSON subqueries in the same statement, each with
 * the included model's own visibility; keyset pagination becomes a null-aware "after" predicate.
 */
import { type Expression, type RawBuilder, type SelectQueryBuilder, type SqlBool, sql } from 'kysely'
import {
  and,
  type ColumnRef,
  columnRef,
  filterPredicate,
  or,
  visibilityPredicate,
} from './print-predicates.ts'
import { boundResultBytes, type SizedColumn, sizeOf } from './print-result-budget.ts'
import type { BudgetReport, OrderKey, QueryPlan, SelectedField, SelectPlan } from '../planner/index.ts'
import type { AnyDatabase } from '../schema/index.ts'

/** Hidden columns carrying the order keys as text, for the next page's cursor; stripped before returning. */
export const ORDER_KEY_PREFIX = '__tessera_k'

/**
 * Type classes whose selected output (see outputExpression) is an exact text form, or an integer whose
 * decimal text is one, that PostgreSQL parses back to the same value: such a field can serve as its own
 * cursor key. Floats (shortest round-trip text is not guaranteed across settings), booleans, json, bytea
 * and unknown types keep a hidden `::text` column.
 */
const SELF_KEYED_CLASSES: ReadonlySet<SelectedField['typeClass']> = new Set([
  'string',
  'uuid',
  'integer',
  'bigint',
  'numeric',
  'timestamp',
])

/**
 * For each order key of a root select, the row property its cursor value is read from: the selected field
 * itself when it leaves the database untransformed in an exact, re-parsable text form (saving a column per
 * key), otherwise the hidden `__tessera_k{i}` column. printQuery and the cursor writer both use this, so the
 * SQL and the reader always agree.
 */
export function orderKeySources(plan: Pick<SelectPlan, 'fields' | 'orderBy'>): readonly string[] {
  return plan.orderBy.map((key, i) => {
    const field = plan.fields.find((f) => f.name === key.column)
    return field !== undefined && field.transform === 'none' && SELF_KEYED_CLASSES.has(field.typeClass)
      ? field.name
      : `${ORDER_KEY_PREFIX}${i}`
  })
}

type AnyDb = AnyDatabase
type AnySelect = SelectQueryBuilder<any, any, any> // eslint-disable-line @typescript-eslint/no-explicit-any -- why: user schemas are only known at run time (introspection); identifiers come from the bound schema

/**
 * How a column leaves the database. Values must have the same JSON-safe form at the top level and inside
 * includes (where they pass through JSON): big numbers as exact strings, times in PostgreSQL's ISO form.
 */
export function outputExpression(
  field: Pick<SelectedField, 'name' | 'typeClass'>,
  col: ColumnRef,
): RawBuilder<unknown> {
  const c = col(field.name)
  switch (field.typeClass) {
    case 'bigint':
    case 'numeric':
      return sql`${c}::text`
    case 'timestamp':
      return sql`to_json(${c})`
    case 'bytea':
      return sql`encode(${c}, 'base64')`
    case 'string':
    case 'uuid':
    case 'integer':
    case 'float':
    case 'boolean':
    case 'json':
    case 'array':
    case 'other':
      return c
    default: {
      const never: never = field.typeClass
      throw new Error(`unhandled type class ${String(never)}`)
    }
  }
}

/**
 * No NULLS clause: PostgreSQL's natural null order (last ascending, first descending) is the order a b-tree
 * index yields in either scan direction. `DESC NULLS LAST` cannot be served by an ascending index scanned
 * backwards, so PostgreSQL read a tenant's whole range and sorted it (docs/decisions.md, "Order keys").
 */
function orderExpression(key: OrderKey, col: ColumnRef): Expression<unknown> {
  return key.direction === 'desc' ? sql`${col(key.column)} desc` : sql`${col(key.column)} asc`
}

function selectPlanQuery(
  db: AnyDb,
  plan: SelectPlan,
  depth: number,
  extraWhere: Expression<SqlBool>[],
): AnySelect {
  const alias = `t${depth}`
  const col = columnRef(alias)
  const fields = plan.fields.map((f) => outputExpression(f, col).as(f.name))
  const includes = plan.includes.map((inc) => {
    const childAlias = `t${depth + 1}`
    const correlation = inc.pairs.map((p) => sql<SqlBool>`${sql.id(childAlias, p.remote)} = ${col(p.local)}`)
    const sub = selectPlanQuery(db, inc.select, depth + 1, correlation)
    return inc.cardinality === 'many'
      ? jsonArrayFrom(sub).as(inc.relation)
      : jsonObjectFrom(sub).as(inc.relation)
  })
  const where = [...extraWhere, visibilityPredicate(plan.visibility, col)]
  if (plan.filter !== null) where.push(filterPredicate(plan.filter, col))
  let q: AnySelect = db
    .selectFrom(sql.id(plan.table.schema, plan.table.name).as(alias))
    .select([...fields, ...includes])
    .where(and(where))
  for (const key of plan.orderBy) q = q.orderBy(orderExpression(key, col))
  return q.limit(limitLiteral(plan.fetchLimit))
}

/*
 * Kysely's jsonArrayFrom and jsonObjectFrom, with the row named as a whole (`agg.*`): theirs pass the bare alias
 * (`json_agg(agg)`, `to_json(obj)`), and PostgreSQL reads a bare name as a column before a table — any column
 * called `agg` or `obj` of the included row, or of an enclosing table at any level, allowed or not. The include
 * then aggregated that column instead of its rows: a category's masked `agg` in place of its listings, or a
 * listing's denied jsonb `obj` read as the included category (red team, marketplace schema). A qualified
 * `alias.*` names the nearest FROM item of that name, the subquery itself, whatever the columns are called.
 */
function jsonArrayFrom(sub: AnySelect): RawBuilder<unknown> {
  return sql`(select coalesce(json_agg(agg.*), '[]') from ${sub} as agg)`
}

function jsonObjectFrom(sub: AnySelect): RawBuilder<unknown> {
  return sql`(select to_json(obj.*) from ${sub} as obj)`
}

/**
 * The row limit, written into the SQL as an integer literal rather than bound. A bound LIMIT makes PostgreSQL
 * re-plan a named prepared statement on every execution (its generic plan, costed for an unknown limit,
 * never looks cheaper than a custom one), which cost more than any other part of a 20-row query; a literal
 * lets the plan be cached. It is the planner's own validated integer (budget-checked page size + 1), never
 * request text; anything else is refused.
 */
export function limitLiteral(limit: number): RawBuilder<number> {
  if (!Number.isSafeInteger(limit) || limit < 0)
    throw new Error('print-select: the row limit is not an integer')
  return sql.lit(limit)
}

/**
 * Keyset "after" predicate for keys k1..kn with the previous page's last values v1..vn, in the natural null
 * order (NULLs after every value ascending, before every value descending): OR over i of
 * (k1 = v1 ∧ … ∧ k(i-1) = v(i-1) ∧ ki is after vi). When no key is nullable and all run one way this is the
 * row comparison `(k1, …, kn) > (v1, …, vn)`, which PostgreSQL uses as an index condition.
 */
function afterPredicate(
  keys: readonly OrderKey[],
  values: readonly (string | null)[],
  col: ColumnRef,
): Expression<SqlBool> {
  const first = keys[0]
  if (
    first !== undefined &&
    keys.every((k, i) => !k.nullable && k.direction === first.direction && values[i] != null)
  ) {
    const cmp = first.direction === 'desc' ? sql`<` : sql`>`
    const lhs = sql.join(keys.map((k) => col(k.column)))
    const rhs = sql.join(keys.map((_, i) => sql`${values[i] ?? null}`))
    return sql<SqlBool>`(${lhs}) ${cmp} (${rhs})`
  }
  const branches: Expression<SqlBool>[] = []
  for (let i = 0; i < keys.length; i++) {
    const parts: Expression<SqlBool>[] = []
    for (let j = 0; j < i; j++) {
      const k = keys[j] as OrderKey
      const v = values[j] ?? null
      parts.push(v === null ? sql<SqlBool>`${col(k.column)} is null` : sql<SqlBool>`${col(k.column)} = ${v}`)
    }
    const k = keys[i] as OrderKey
    const branch = keyAfter(k, values[i] ?? null, col)
    if (branch === null) continue
    parts.push(branch)
    branches.push(and(parts))
  }
  return or(branches)
}

/** "ki sorts after vi" in the natural null order, or null when nothing can (only a later key decides). */
function keyAfter(k: OrderKey, v: string | null, col: ColumnRef): Expression<SqlBool> | null {
  const c = col(k.column)
  if (k.direction === 'asc') {
    // Ascending, NULLs last: after a value come greater values, then NULLs; nothing comes after NULL.
    if (v === null) return null
    return k.nullable ? sql<SqlBool>`(${c} > ${v} or ${c} is null)` : sql<SqlBool>`${c} > ${v}`
  }
  // Descending, NULLs first: after NULL comes every value; after a value only smaller values.
  if (v === null) return k.nullable ? sql<SqlBool>`${c} is not null` : null
  return sql<SqlBool>`${c} < ${v}`
}

export function printQuery(db: AnyDb, plan: QueryPlan): AnySelect {
  const col = columnRef('t0')
  const extra: Expression<SqlBool>[] =
    plan.after === null ? [] : [afterPredicate(plan.root.orderBy, plan.after, col)]
  const q = selectPlanQuery(db, plan.root, 0, extra)
  const sources = orderKeySources(plan.root)
  const hidden = plan.root.orderBy.flatMap((k, i) =>
    sources[i] === `${ORDER_KEY_PREFIX}${i}`
      ? [sql`${col(k.column)}::text`.as(`${ORDER_KEY_PREFIX}${i}`)]
      : [],
  )
  const keyColumns = sources.flatMap((source, i) =>
    source === `${ORDER_KEY_PREFIX}${i}` ? [{ name: source, size: 'text' as const }] : [],
  )
  return boundResultBytes(
    db,
    hidden.length === 0 ? q : q.select(hidden),
    [...rootColumns(plan.root), ...keyColumns],
    plan.budget.maxResultBytes,
  )
}

export function printGet(
  db: AnyDb,
  plan: { root: SelectPlan; budget: Pick<BudgetReport, 'maxResultBytes'> },
): AnySelect {
  return boundResultBytes(
    db,
    selectPlanQuery(db, plan.root, 0, []),
    rootColumns(plan.root),
    plan.budget.maxResultBytes,
    plan.root.fetchLimit === 1,
  )
}

/** The root select's output columns in order (fields, then includes as JSON), as the byte budget counts them. */
function rootColumns(plan: SelectPlan): SizedColumn[] {
  return [
    ...plan.fields.map((f) => ({ name: f.name, size: sizeOf(f.typeClass) })),
    ...plan.includes.map((inc) => ({ name: inc.relation, size: 'text' as const })),
  ]
}
