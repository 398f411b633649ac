/**
 * The keys and indexes of tables, read from the catalog for introspectSchema (introspect-schema.ts): primary
 * keys, foreign keys (composite ones paired by position), indexes (key columns up to the first expression
 * column; an index with an expression or a predicate is not unique as far as its plain columns go), and every
 * unique or exclusion index with the columns it confines a conflict to and the columns it reads — the write
 * checks and the side-channel refusals work from those (docs/threats.md, "Side channels the database creates").
 */
import type { CatalogQuery } from './read-column-dependencies.ts'
import { compareText, groupBy } from './group-rows.ts'
import type { ForeignKeyInfo, IndexInfo, UniqueKeyInfo } from './types.ts'

/** One table's keys and indexes, each list sorted by name. */
export interface TableKeys {
  readonly primaryKey: string[]
  readonly foreignKeys: ForeignKeyInfo[]
  readonly indexes: IndexInfo[]
  readonly uniqueKeys: UniqueKeyInfo[]
}

/** The keys and indexes of each table in `oids`, by table oid; a table with none has an entry of empty lists. */
export async function readTableKeys(
  query: CatalogQuery,
  oids: readonly string[],
): Promise<ReadonlyMap<string, TableKeys>> {
  const keys = new Map<string, TableKeys>()
  if (oids.length === 0) return keys
  const constraintsByTable = groupBy(await readConstraints(query, oids), (c) => c.table_oid)
  const indexesByTable = groupBy(await readIndexes(query, oids), (i) => i.table_oid)
  const uniqueKeysByTable = groupBy(await readUniqueKeys(query, oids), (u) => u.table_oid)
  for (const oid of oids) {
    const constraints = constraintsByTable.get(oid) ?? []
    keys.set(oid, {
      primaryKey: constraints.filter((c) => c.kind === 'p').map((c) => c.column_name),
      foreignKeys: toForeignKeys(constraints.filter((c) => c.kind === 'f')),
      indexes: toIndexes(indexesByTable.get(oid) ?? []),
      uniqueKeys: toUniqueKeys(uniqueKeysByTable.get(oid) ?? []),
    })
  }
  return keys
}

interface ConstraintRow {
  readonly constraint_oid: string
  readonly table_oid: string
  readonly name: string
  readonly kind: 'p' | 'f'
  readonly column_name: string
  readonly referenced_schema: string | null
  readonly referenced_table: string | null
  readonly referenced_column: string | null
}

interface IndexRow {
  readonly index_oid: string
  readonly table_oid: string
  readonly name: string
  readonly is_unique: boolean
  readonly is_primary: boolean
  readonly is_partial: boolean
  /** Null for an expression column. */
  readonly column_name: string | null
}

interface UniqueKeyRow {
  readonly index_oid: string
  readonly table_oid: string
  readonly name: string
  readonly is_primary: boolean
  readonly is_exclusion: boolean
  readonly column_name: string
  readonly is_key: boolean
}

async function readConstraints(
  query: CatalogQuery,
  oids: readonly string[],
): Promise<readonly ConstraintRow[]> {
  // unnest(conkey, confkey) pairs a composite foreign key's columns by position; for a primary key
  // confkey is null and unnest pads it with nulls.
  const rows = await query<ConstraintRow>(
    `
    select con.oid::text as constraint_oid, con.conrelid::text as table_oid, con.conname as name,
           con.contype::text as kind, a.attname as column_name,
           fn.nspname as referenced_schema, fc.relname as referenced_table, fa.attname as referenced_column
    from pg_catalog.pg_constraint con
    cross join lateral unnest(con.conkey, con.confkey) with ordinality as k(attnum, ref_attnum, position)
    join pg_catalog.pg_attribute a on a.attrelid = con.conrelid and a.attnum = k.attnum
    left join pg_catalog.pg_class fc on fc.oid = con.confrelid
    left join pg_catalog.pg_namespace fn on fn.oid = fc.relnamespace
    left join pg_catalog.pg_attribute fa on fa.attrelid = con.confrelid and fa.attnum = k.ref_attnum
    where con.conrelid = any($1::oid[]) and con.contype in ('p', 'f')
    order by con.conrelid, con.conname, con.oid, k.position`,
    [oids],
  )
  return rows
}

async function readIndexes(query: CatalogQuery, oids: readonly string[]): Promise<readonly IndexRow[]> {
  // Only key columns (position <= indnkeyatts): INCLUDE columns cannot be searched through the index.
  const rows = await query<IndexRow>(
    `
    select i.indexrelid::text as index_oid, i.indrelid::text as table_oid, ic.relname as name,
           i.indisunique as is_unique, i.indisprimary as is_primary, i.indpred is not null as is_partial,
           a.attname as column_name
    from pg_catalog.pg_index i
    join pg_catalog.pg_class ic on ic.oid = i.indexrelid
    cross join lateral unnest(i.indkey::int2[]) with ordinality as k(attnum, position)
    left join pg_catalog.pg_attribute a on a.attrelid = i.indrelid and a.attnum = k.attnum and k.attnum > 0
    where i.indrelid = any($1::oid[]) and i.indisvalid and k.position <= i.indnkeyatts
    order by i.indrelid, ic.relname, i.indexrelid, k.position`,
    [oids],
  )
  return rows
}

/**
 * Every valid unique index (constraint-backed or not, partial and expression ones included): its plain key
 * columns, and — for an index with an expression or a predicate — every column it depends on (pg_depend lists
 * the columns an expression or predicate reads; it also lists INCLUDE columns, a harmless over-approximation).
 * An exclusion constraint refuses a row for what another row holds just as a unique index does (23P01), so its
 * index is read too: its key columns are those it compares with `=` (only they confine a conflict to rows with
 * the same value, e.g. the same tenant), and every column it reads is involved (docs/threats.md, "Side
 * channels the database creates").
 */
async function readUniqueKeys(
  query: CatalogQuery,
  oids: readonly string[],
): Promise<readonly UniqueKeyRow[]> {
  const rows = await query<UniqueKeyRow>(
    `
    select i.indexrelid::text as index_oid, i.indrelid::text as table_oid, ic.relname as name,
           i.indisprimary as is_primary, i.indisexclusion as is_exclusion, a.attname as column_name,
           (not i.indisexclusion or coalesce(o.oprname = '=', false)) as is_key
    from pg_catalog.pg_index i
    join pg_catalog.pg_class ic on ic.oid = i.indexrelid
    cross join lateral unnest(i.indkey::int2[]) with ordinality as k(attnum, position)
    join pg_catalog.pg_attribute a on a.attrelid = i.indrelid and a.attnum = k.attnum
    left join pg_catalog.pg_constraint con on i.indisexclusion and con.conindid = i.indexrelid and con.contype = 'x'
    left join pg_catalog.pg_operator o on o.oid = con.conexclop[k.position]
    where i.indrelid = any($1::oid[]) and (i.indisunique or i.indisexclusion) and i.indisvalid
      and k.position <= i.indnkeyatts
    union all
    select i.indexrelid::text, i.indrelid::text, ic.relname, i.indisprimary, i.indisexclusion, a.attname, false
    from pg_catalog.pg_index i
    join pg_catalog.pg_class ic on ic.oid = i.indexrelid
    join pg_catalog.pg_depend d
      on d.classid = 'pg_catalog.pg_class'::regclass and d.objid = i.indexrelid
     and d.refclassid = 'pg_catalog.pg_class'::regclass and d.refobjid = i.indrelid and d.refobjsubid > 0
    join pg_catalog.pg_attribute a on a.attrelid = i.indrelid and a.attnum = d.refobjsubid
    where i.indrelid = any($1::oid[]) and (i.indisunique or i.indisexclusion) and i.indisvalid
      and (i.indexprs is not null or i.indpred is not null)`,
    [oids],
  )
  return rows
}

function toForeignKeys(rows: readonly ConstraintRow[]): ForeignKeyInfo[] {
  const keys: ForeignKeyInfo[] = []
  for (const group of groupBy(rows, (r) => r.constraint_oid).values()) {
    const first = group[0]
    if (first === undefined || first.referenced_schema === null || first.referenced_table === null) continue
    const referencedColumns = group.map((r) => r.referenced_column)
    // A key whose referenced columns cannot all be named is left out rather than paired wrongly.
    if (!referencedColumns.every((c): c is string => c !== null)) continue
    keys.push({
      name: first.name,
      columns: group.map((r) => r.column_name),
      referencedSchema: first.referenced_schema,
      referencedTable: first.referenced_table,
      referencedColumns,
    })
  }
  return keys.sort((a, b) => compareText(a.name, b.name))
}

function toIndexes(rows: readonly IndexRow[]): IndexInfo[] {
  const indexes: IndexInfo[] = []
  for (const group of groupBy(rows, (r) => r.index_oid).values()) {
    const first = group[0]
    if (first === undefined) continue
    const expressionAt = group.findIndex((r) => r.column_name === null)
    const plain = expressionAt === -1 ? group : group.slice(0, expressionAt)
    const columns = plain.map((r) => r.column_name).filter((c): c is string => c !== null)
    if (columns.length === 0) continue
    indexes.push({
      name: first.name,
      columns,
      unique: first.is_unique && !first.is_partial && expressionAt === -1,
      primary: first.is_primary,
    })
  }
  return indexes.sort((a, b) => compareText(a.name, b.name))
}

function toUniqueKeys(rows: readonly UniqueKeyRow[]): UniqueKeyInfo[] {
  const keys: UniqueKeyInfo[] = []
  for (const group of groupBy(rows, (r) => r.index_oid).values()) {
    const first = group[0]
    if (first === undefined) continue
    const sorted = (names: Iterable<string>): string[] => [...new Set(names)].sort(compareText)
    keys.push({
      name: first.name,
      primary: first.is_primary,
      ...(first.is_exclusion ? { exclusion: true as const } : {}),
      keyColumns: sorted(group.filter((r) => r.is_key).map((r) => r.column_name)),
      involvedColumns: sorted(group.map((r) => r.column_name)),
    })
  }
  return keys.sort((a, b) => compareText(a.name, b.name))
}
