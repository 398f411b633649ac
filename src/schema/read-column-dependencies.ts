/**
 * Which columns the database computes or checks from other columns: the columns each stored generated column's
 * expression reads, and the columns each CHECK constraint reads. The policy validator refuses a field policy
 * that would reveal a hidden column through them (policy/derived-value-problems.ts): a generated column
 * readable in clear is a function of its inputs, and a CHECK constraint over a column the caller updates and a
 * hidden one answers a guessed value with success or refusal.
 */
import type { CheckConstraintInfo } from './types.ts'

/** Runs one constant catalog statement with bound values (introspect-schema.ts catalogRows). */
export type CatalogQuery = <R>(text: string, parameters: readonly unknown[]) => Promise<R[]>

interface GeneratedSourceRow {
  readonly table_oid: string
  readonly column_name: string
  readonly source: string
}

interface CheckRow {
  readonly table_oid: string
  readonly name: string
  /** Null for a whole-row reference. */
  readonly column_name: string | null
}

export interface ColumnDependencies {
  /** table oid → generated column → the columns its expression reads. */
  readonly generatedFrom: ReadonlyMap<string, ReadonlyMap<string, readonly string[]>>
  /** table oid → its CHECK constraints. */
  readonly checks: ReadonlyMap<string, readonly CheckConstraintInfo[]>
}

/** A whole-row reference in a CHECK constraint: it may read every column. */
export const EVERY_COLUMN = '*'

export async function readColumnDependencies(
  query: CatalogQuery,
  oids: readonly string[],
): Promise<ColumnDependencies> {
  // A generated column's expression is its pg_attrdef entry; PostgreSQL records a dependency of that entry on
  // every column the expression reads (and an internal one on the generated column itself, skipped here). A
  // generation expression may not use a whole-row reference, so every dependency names one column.
  const sources = await query<GeneratedSourceRow>(
    `
    select a.attrelid::text as table_oid, a.attname as column_name, src.attname as source
    from pg_catalog.pg_attribute a
    join pg_catalog.pg_attrdef d on d.adrelid = a.attrelid and d.adnum = a.attnum
    join pg_catalog.pg_depend dep on dep.classid = 'pg_catalog.pg_attrdef'::regclass and dep.objid = d.oid
      and dep.refclassid = 'pg_catalog.pg_class'::regclass and dep.refobjid = a.attrelid
      and dep.refobjsubid > 0 and dep.refobjsubid <> a.attnum
    join pg_catalog.pg_attribute src on src.attrelid = a.attrelid and src.attnum = dep.refobjsubid
    where a.attrelid = any($1::oid[]) and a.attgenerated <> '' and not a.attisdropped
    order by a.attrelid, a.attnum, src.attname`,
    [oids],
  )
  const checks = await query<CheckRow>(
    `
    select con.conrelid::text as table_oid, con.conname as name, a.attname as column_name
    from pg_catalog.pg_constraint con
    cross join lateral unnest(con.conkey) as k(attnum)
    left join pg_catalog.pg_attribute a on a.attrelid = con.conrelid and a.attnum = k.attnum and k.attnum > 0
    where con.contype = 'c' and con.conrelid = any($1::oid[])
    order by con.conrelid, con.conname, a.attname`,
    [oids],
  )
  const generatedFrom = new Map<string, Map<string, string[]>>()
  for (const row of sources) {
    const table = generatedFrom.get(row.table_oid) ?? new Map<string, string[]>()
    generatedFrom.set(row.table_oid, table)
    const list = table.get(row.column_name) ?? []
    table.set(row.column_name, list)
    if (!list.includes(row.source)) list.push(row.source)
  }
  const byTable = new Map<string, Map<string, string[]>>()
  for (const row of checks) {
    const table = byTable.get(row.table_oid) ?? new Map<string, string[]>()
    byTable.set(row.table_oid, table)
    const list = table.get(row.name) ?? []
    table.set(row.name, list)
    const column = row.column_name ?? EVERY_COLUMN
    if (!list.includes(column)) list.push(column)
  }
  const checksByTable = new Map<string, CheckConstraintInfo[]>()
  for (const [oid, constraints] of byTable) {
    checksByTable.set(
      oid,
      [...constraints].map(([name, columns]) => ({ name, columns })),
    )
  }
  return { generatedFrom, checks: checksByTable }
}
