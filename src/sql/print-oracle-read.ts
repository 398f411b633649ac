/**
 * The eval oracle's one statement (src/eval): every column of a table, plus the row as PostgreSQL's own JSON
 * (`to_jsonb`), optionally narrowed to rows whose key columns equal given text values. It reads through an
 * unscoped connection on purpose — the harness judges visibility itself, in memory — so it takes no plan and
 * applies no policy. The JSON copy lets the harness compare a returned value with the stored one in the same
 * representation the include subqueries use (numbers as JSON numbers, timestamps with their offset).
 */
import { type CompiledQuery, type Kysely, sql } from 'kysely'
import type { TableInfo } from '../schema/index.ts'

/** Name of the extra column holding `to_jsonb(row)`; chosen so it cannot collide with a real column. */
export const ORACLE_JSON_COLUMN = '__tessera_oracle_json'

/**
 * `keyIn`: one column compared as text (`col::text in ($1, …)`), so a value of any type — or a malformed one
 * a broken policy returned — is a harmless string parameter and never a cast error; null reads the whole
 * table. `limit` is a row cap the caller chose; it is validated and written as a literal.
 */
export function printOracleRead<DB>(
  db: Kysely<DB>,
  table: TableInfo,
  keyIn: { readonly column: string; readonly values: readonly string[] } | null,
  limit: number,
): CompiledQuery<Record<string, unknown>> {
  if (!Number.isSafeInteger(limit) || limit <= 0) throw new RangeError(`invalid oracle row cap ${limit}`)
  // `t.*`, not the bare `t`, which a column named `t` would capture (see print-select.ts jsonArrayFrom).
  const t = sql.id('t')
  const where =
    keyIn === null
      ? sql``
      : keyIn.values.length === 0
        ? sql` where false`
        : sql` where ${sql.id('t', keyIn.column)}::text in (${sql.join(keyIn.values.map((v) => sql`${v}`))})`
  return sql<
    Record<string, unknown>
  >`select ${t}.*, to_jsonb(${t}.*) as ${sql.id(ORACLE_JSON_COLUMN)} from ${sql.id(
    table.schema,
    table.name,
  )} as ${t}${where} limit ${sql.lit(limit)}`.compile(db)
}
