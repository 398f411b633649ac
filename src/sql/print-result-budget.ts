/**
 * The result-size budget (`budget.maxResultBytes`, docs/decisions.md "Result bytes"), written into the read
 * statement itself so that it bounds memory rather than reporting on it afterwards. The planner's SELECT runs
 * as a subquery; a window keeps a running sum of each row's size as the rows stream out of it, and the first row
 * that takes the sum past the budget makes the statement fail with an error that carries a fixed marker. Rows
 * are counted in the order they are sent, so at most the budget plus one row is ever sent: node-postgres drops
 * the rows it collected when the error arrives, and PGlite, which runs in this process and hands over a whole
 * result at once, never builds the rest. Included rows count through their JSON column (json_agg's text).
 *
 * The check stays outside the planner's SELECT on purpose: inside its WHERE, PostgreSQL may evaluate it before
 * the visibility predicate, and a refusal would then tell the size of another tenant's row. The subquery has a
 * LIMIT (or, for an ungrouped aggregate, is an aggregate), so PostgreSQL pushes no outer qual into it (at most
 * into the aggregate's HAVING, after aggregation): only rows the caller may see are ever counted.
 *
 * A statement of at most one row (get, an aggregate without groups) checks that row's size in a filter on the
 * subquery instead: no window.
 *
 * A row's size is the length of each value in the text form it leaves the database in (the output expressions
 * of print-select: bytea as base64, big numbers as text), `octet_length(value::text)`, which for text and json
 * reads the stored length without copying; fixed-width classes count their longest text form. What is not
 * bounded here: one row is built whole before it is counted (its includes are aggregated in the database, which
 * bounds a value at 1 GB and the statement by its timeout).
 */
import { type RawBuilder, type SelectQueryBuilder, type SqlBool, sql } from 'kysely'
import type { ColumnTypeClass } from '../schema/index.ts'
import type { AnyDatabase } from '../schema/index.ts'

type AnySelect = SelectQueryBuilder<any, any, any> // eslint-disable-line @typescript-eslint/no-explicit-any -- why: user schemas are only known at run time (introspection); identifiers come from the bound schema

/** The running byte count's column: never selected by the outer statement, so never returned. */
const BYTES_COLUMN = '__tessera_bytes'

/**
 * Start of the value the refusing cast fails on: `tessera:maxResultBytes:<budget>:<bytes so far>`. PostgreSQL
 * quotes the value in its message (22P02, "invalid input syntax for type integer"); the executor recognises
 * the marker there (isResultBytesAbort) and answers QUERY_BUDGET_EXCEEDED.
 */
export const RESULT_BYTES_MARKER = 'tessera:maxResultBytes:'

/** One column of the planner's SELECT, by its output name, and how its size is counted. */
export interface SizedColumn {
  readonly name: string
  /** `text`: the length of the value's text; a number: a fixed-width class, counted at its longest text. */
  readonly size: 'text' | number
}

/**
 * How a column of this class is counted, given the output expression print-select gives it. Numbers are the
 * longest text each fixed-width type prints (uuid 36, int4 11 — int2/int4 share the class —, float8 24,
 * `false` 5); everything else varies and is measured.
 */
export function sizeOf(typeClass: ColumnTypeClass): SizedColumn['size'] {
  switch (typeClass) {
    case 'uuid':
      return 36
    case 'integer':
      return 11
    case 'float':
      return 24
    case 'boolean':
      return 5
    case 'string':
    case 'bigint':
    case 'numeric':
    case 'timestamp':
    case 'bytea':
    case 'json':
    case 'array':
    case 'other':
      return 'text'
    default: {
      const never: never = typeClass
      throw new Error(`unhandled type class ${String(never)}`)
    }
  }
}

function byteLiteral(bytes: number): RawBuilder<number> {
  if (!Number.isSafeInteger(bytes) || bytes <= 0)
    throw new Error('print-result-budget: the byte budget is not a positive integer')
  return sql.lit(bytes)
}

/**
 * `inner` with the same output columns (`columns`, in its order), refusing itself once the rows sent exceed
 * `maxBytes`. The order of the rows is the inner statement's: the outer levels neither sort nor join, and the
 * window has no ORDER BY, so its frame (every row up to the current one) follows the rows as they arrive.
 */
export function boundResultBytes(
  db: AnyDatabase,
  inner: AnySelect,
  columns: readonly SizedColumn[],
  maxBytes: number,
  /** The inner statement returns at most one row (get, an aggregate without groups): no running sum. */
  oneRow = false,
): AnySelect {
  let fixed = 0
  const measured: RawBuilder<unknown>[] = []
  for (const c of columns) {
    if (c.size === 'text') measured.push(sql`coalesce(octet_length(${sql.id('b', c.name)}::text), 0)`)
    else fixed += c.size
  }
  const rowSize = sql.join([...measured, sql.lit(fixed)], sql` + `)
  if (oneRow) {
    // One row: its own size is the sum, checked on the row itself — one filter on the subquery scan instead of
    // a window over it (a get is the hottest statement).
    return db
      .selectFrom(inner.as('b'))
      .select(columns.map((c) => sql.id('b', c.name).as(c.name)))
      .where(refusePast(sql`(${rowSize})`, maxBytes))
  }
  const counted = db
    .selectFrom(inner.as('b'))
    .selectAll('b')
    .select(sql`sum(${rowSize}) over (rows between unbounded preceding and current row)`.as(BYTES_COLUMN))
  return db
    .selectFrom(counted.as('r'))
    .select(columns.map((c) => sql.id('r', c.name).as(c.name)))
    .where(refusePast(sql.id('r', BYTES_COLUMN), maxBytes))
}

/**
 * True while `bytes` is within the budget, else the refusing cast. CASE, not OR: PostgreSQL evaluates a CASE's
 * branches only when reached. The cast depends on the row, so it cannot be folded into a constant (and
 * raised) while planning.
 */
function refusePast(bytes: RawBuilder<unknown>, maxBytes: number): RawBuilder<SqlBool> {
  return sql<SqlBool>`case when ${bytes} <= ${byteLiteral(maxBytes)} then true else (${sql.lit(
    `${RESULT_BYTES_MARKER}${maxBytes}:`,
  )} || ${bytes})::int = 0 end`
}
