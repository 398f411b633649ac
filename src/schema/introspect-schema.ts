/**
 * Reads the live database's catalog into a `DbSchema` (see types.ts). Everything runs in one read-only
 * transaction so the result is one consistent snapshot, and, when `role` is given, with the privileges of
 * that role: a table the toolset's role may not SELECT is not reported, so a policy cannot bind to it.
 *
 * Decisions worth knowing:
 * - Partitions (`relispartition`) are not reported, only their partitioned parent: querying a partition
 *   directly would skip the parent's row-level security policies.
 * - A table needs table-level SELECT and USAGE on its schema; column-level grants alone do not count. Tables
 *   without them are only named (`unreadableTables`), so binding can say "cannot SELECT" instead of "unknown".
 * - Each table carries the role's table-level INSERT/UPDATE/DELETE privileges, which binding compares with
 *   the writes the policy allows.
 * - System schemas (`pg_*`, `information_schema`) cannot be requested.
 * - `hasDefault` is true for identity and generated columns too (the database supplies the value);
 *   `defaultExpression` is only set for a real `DEFAULT` clause.
 * - Indexes report their key columns (not INCLUDE columns) up to the first expression column; an index with
 *   an expression column or a predicate is reported as not unique, because its plain columns alone are not.
 * - `estimatedRows` falls back to a capped count when the table was never analysed; if that count fails
 *   (e.g. a row-level security policy errors without its settings) the cap is reported, so an unknown size
 *   is treated as large.
 */
import { CompiledQuery, type Transaction } from 'kysely'
import { internalError, isTesseraError, validationError } from '../errors/index.ts'
import {
  columnTypeClass,
  hasExactEquality,
  looseEquality,
  type PgTypeDescriptor,
} from './column-type-class.ts'
import type { ColumnInfo, DbSchema, ReferentialAction, TableInfo, TablePrivileges } from './types.ts'
import type { AnyDatabase } from './any-database.ts'
import { type CatalogQuery, readColumnDependencies } from './read-column-dependencies.ts'
import { compareText, groupBy } from './group-rows.ts'
import { readTableKeys } from './read-table-keys.ts'
import { connectionTargetOf, setupFailure } from './setup-failure.ts'

export interface IntrospectOptions {
  /** Schemas to read; default `['public']`. */
  readonly schemas?: readonly string[]
  /** Role to assume for the snapshot (`set_config('role', …, true)`), for a session that is not that role. */
  readonly role?: string
}

/** Upper bound of the exact count used for tables that were never analysed. */
export const ROW_COUNT_CAP = 100_000

const DEFAULT_SCHEMA = 'public'
const MAX_DOMAIN_DEPTH = 32

type AnyDb = AnyDatabase
type AnyTransaction = Transaction<any> // eslint-disable-line @typescript-eslint/no-explicit-any -- why: only catalog tables are read, through compiled statements

/**
 * One catalog statement: constant text with `$n` placeholders and bound values, sent as a compiled query.
 * Introspection builds no query with Kysely's builders (those live in src/sql/ only); its text is fixed.
 */
async function catalogRows<R>(
  trx: AnyTransaction,
  text: string,
  parameters: readonly unknown[],
): Promise<R[]> {
  return (await trx.executeQuery<R>(CompiledQuery.raw(text, [...parameters]))).rows
}

/** A catalog name as a quoted SQL identifier (`"` doubled), as Kysely's sql.id writes it. */
function quoteIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`
}

export async function introspectSchema(db: AnyDb, options: IntrospectOptions = {}): Promise<DbSchema> {
  const schemas = checkSchemas(options.schemas ?? [DEFAULT_SCHEMA])
  const role = options.role
  if (role !== undefined) checkName('role', role)
  try {
    return await db
      .transaction()
      .setAccessMode('read only')
      .execute(async (trx) => {
        if (role !== undefined) await catalogRows(trx, `select set_config('role', $1, true)`, [role])
        return await readCatalog(trx, schemas)
      })
  } catch (error) {
    if (isTesseraError(error)) throw error
    // A setup mistake (server down, missing database or role, missing grant) says what to fix; anything else
    // is ours, and database text must not travel further than the log (the cause keeps it for the operator).
    throw setupFailure(error, connectionTargetOf(db), role) ?? internalError(undefined, error)
  }
}

function checkSchemas(schemas: readonly string[]): readonly string[] {
  if (schemas.length === 0) throw validationError('At least one schema must be introspected')
  for (const schema of schemas) {
    checkName('schema', schema)
    if (schema.startsWith('pg_') || schema === 'information_schema') {
      throw validationError(`System schema '${schema}' cannot be introspected`)
    }
  }
  return [...new Set(schemas)]
}

function checkName(what: string, name: unknown): void {
  if (typeof name !== 'string' || name.length === 0 || name.includes('\u0000')) {
    throw validationError(`The ${what} name must be a non-empty string without NUL characters`)
  }
}

interface TableRow {
  readonly oid: string
  readonly schema: string
  readonly name: string
  readonly reltuples: number
  readonly rls_enabled: boolean
  readonly rls_forced: boolean
  readonly has_children: boolean
  readonly can_select: boolean
  readonly can_insert: boolean
  readonly can_update: boolean
  readonly can_delete: boolean
}

interface ColumnRow {
  readonly table_oid: string
  readonly name: string
  readonly data_type: string
  readonly type_oid: string
  readonly udt_name: string
  readonly nullable: boolean
  readonly has_default: boolean
  readonly default_expression: string | null
  readonly generated: boolean
  readonly ordinal: number
  /** `pg_collation.collisdeterministic` of the column's collation; null for a type without one. */
  readonly deterministic_collation: boolean | null
}

interface BaseTypeRow extends PgTypeDescriptor {
  readonly type_oid: string
  /** An enum's labels in sort order; null for any other type. */
  readonly enum_labels: readonly string[] | null
}

async function readCatalog(trx: AnyTransaction, schemas: readonly string[]): Promise<DbSchema> {
  const all = await readTables(trx, schemas)
  const tables = all.filter((t) => t.can_select)
  const unreadableTables = all.filter((t) => !t.can_select).map((t) => tableKey(t.schema, t.name))
  const role = (await catalogRows<{ role: string }>(trx, 'select current_user::text as role', []))[0]?.role
  const oids = tables.map((t) => t.oid)
  const columns = oids.length === 0 ? [] : await readColumns(trx, oids)
  const baseTypes = await readBaseTypes(trx, [...new Set(columns.map((c) => c.type_oid))])
  const query: CatalogQuery = (text, parameters) => catalogRows(trx, text, parameters)
  const keysByTable = await readTableKeys(query, oids)
  const cascades = oids.length === 0 ? [] : await readCascadingReferences(trx, oids)
  const cascadesByTable = groupBy(cascades, (c) => c.table_oid)
  const sequences = oids.length === 0 ? [] : await readUnusableSequences(trx, oids)
  const sequencesByTable = groupBy(sequences, (s) => s.table_oid)
  const dependencies = oids.length === 0 ? undefined : await readColumnDependencies(query, oids)

  const columnsByTable = groupBy(columns, (c) => c.table_oid)

  const infos: TableInfo[] = []
  for (const table of tables) {
    const key = tableKey(table.schema, table.name)
    const keys = keysByTable.get(table.oid)
    infos.push({
      schema: table.schema,
      name: table.name,
      key,
      columns: (columnsByTable.get(table.oid) ?? []).map((c) =>
        toColumnInfo(c, baseTypes, dependencies?.generatedFrom.get(table.oid)?.get(c.name)),
      ),
      primaryKey: keys?.primaryKey ?? [],
      foreignKeys: keys?.foreignKeys ?? [],
      indexes: keys?.indexes ?? [],
      uniqueKeys: keys?.uniqueKeys ?? [],
      estimatedRows:
        table.reltuples >= 0 ? Math.round(table.reltuples) : await countRows(trx, table.schema, table.name),
      rlsEnabled: table.rls_enabled,
      rlsForced: table.rls_forced,
      ...(table.has_children ? { inheritanceChildren: true } : {}),
      privileges: privilegesOf(table, sequencesByTable.get(table.oid) ?? []),
      checks: dependencies?.checks.get(table.oid) ?? [],
      cascadingReferences: (cascadesByTable.get(table.oid) ?? []).map((c) => ({
        name: c.name,
        fromTable: c.from_table,
        referencedColumns: c.referenced_columns,
        onDelete: referentialAction(c.on_delete),
        onUpdate: referentialAction(c.on_update),
      })),
    })
  }
  infos.sort((a, b) => compareText(a.key, b.key))

  // A null prototype: a table key such as `constructor` must not resolve to an Object.prototype member.
  const record = Object.create(null) as Record<string, TableInfo>
  for (const info of infos) {
    if (Object.hasOwn(record, info.key)) {
      throw validationError(`Two tables map to the key '${info.key}'; rename one or drop its schema`)
    }
    record[info.key] = info
  }
  return deepFreeze({ tables: record, unreadableTables, ...(role === undefined ? {} : { role }) })
}

function tableKey(schema: string, name: string): string {
  return schema === DEFAULT_SCHEMA ? name : `${schema}.${name}`
}

async function readTables(trx: AnyTransaction, schemas: readonly string[]): Promise<readonly TableRow[]> {
  const rows = await catalogRows<TableRow>(
    trx,
    `
    select c.oid::text as oid, n.nspname as schema, c.relname as name, c.reltuples::float8 as reltuples,
           c.relrowsecurity as rls_enabled, c.relforcerowsecurity as rls_forced,
           (c.relkind = 'r' and exists (
             select 1 from pg_catalog.pg_inherits i where i.inhparent = c.oid
           )) as has_children,
           (has_schema_privilege(n.oid, 'USAGE') and has_table_privilege(c.oid, 'SELECT')) as can_select,
           has_table_privilege(c.oid, 'INSERT') as can_insert,
           has_table_privilege(c.oid, 'UPDATE') as can_update,
           has_table_privilege(c.oid, 'DELETE') as can_delete
    from pg_catalog.pg_class c
    join pg_catalog.pg_namespace n on n.oid = c.relnamespace
    where c.relkind in ('r', 'p')
      and not c.relispartition
      and n.nspname = any($1::text[])
    order by n.nspname, c.relname`,
    [schemas],
  )
  return rows
}

async function readColumns(trx: AnyTransaction, oids: readonly string[]): Promise<readonly ColumnRow[]> {
  const rows = await catalogRows<ColumnRow>(
    trx,
    `
    select a.attrelid::text as table_oid, a.attname as name,
           pg_catalog.format_type(a.atttypid, a.atttypmod) as data_type,
           a.atttypid::text as type_oid, t.typname as udt_name,
           not a.attnotnull as nullable,
           (a.atthasdef or a.attidentity <> '') as has_default,
           case when a.attgenerated = '' then pg_catalog.pg_get_expr(d.adbin, d.adrelid) end
             as default_expression,
           (a.attgenerated <> '' or a.attidentity = 'a') as generated,
           a.attnum::int as ordinal,
           co.collisdeterministic as deterministic_collation
    from pg_catalog.pg_attribute a
    join pg_catalog.pg_type t on t.oid = a.atttypid
    left join pg_catalog.pg_attrdef d on d.adrelid = a.attrelid and d.adnum = a.attnum
    left join pg_catalog.pg_collation co on co.oid = a.attcollation
    where a.attrelid = any($1::oid[]) and a.attnum > 0 and not a.attisdropped
    order by a.attrelid, a.attnum`,
    [oids],
  )
  return rows
}

/** Resolves each type through any chain of domains to the base type the type class is derived from. */
async function readBaseTypes(
  trx: AnyTransaction,
  typeOids: readonly string[],
): Promise<ReadonlyMap<string, BaseTypeRow>> {
  if (typeOids.length === 0) return new Map()
  const rows = await catalogRows<BaseTypeRow>(
    trx,
    `
    with recursive chain (type_oid, current_oid, depth) as (
      select t.oid, t.oid, 0 from pg_catalog.pg_type t where t.oid = any($1::oid[])
      union all
      select chain.type_oid, t.typbasetype, chain.depth + 1
      from chain join pg_catalog.pg_type t on t.oid = chain.current_oid
      where t.typtype = 'd' and chain.depth < $2
    )
    select distinct on (chain.type_oid) chain.type_oid::text as type_oid, t.typname, n.nspname as typschema,
           t.typtype::text as typtype, t.typcategory::text as typcategory,
           case when t.typtype = 'e' then array(
             select e.enumlabel::text from pg_catalog.pg_enum e
             where e.enumtypid = t.oid order by e.enumsortorder) end as enum_labels
    from chain
    join pg_catalog.pg_type t on t.oid = chain.current_oid
    join pg_catalog.pg_namespace n on n.oid = t.typnamespace
    order by chain.type_oid, chain.depth desc`,
    [typeOids, MAX_DOMAIN_DEPTH],
  )
  return new Map(rows.map((r) => [r.type_oid, r]))
}

interface CascadeRow {
  readonly table_oid: string
  readonly name: string
  readonly from_table: string
  readonly referenced_columns: string[]
  readonly on_delete: string
  readonly on_update: string
}

/**
 * Foreign keys from any table (the catalog is readable even where the table is not) that point at these tables
 * with ON DELETE / ON UPDATE CASCADE, SET NULL or SET DEFAULT.
 */
async function readCascadingReferences(
  trx: AnyTransaction,
  oids: readonly string[],
): Promise<readonly CascadeRow[]> {
  const rows = await catalogRows<CascadeRow>(
    trx,
    `
    select con.confrelid::text as table_oid, con.conname as name,
           fn.nspname || '.' || fc.relname as from_table,
           array(select a.attname::text from unnest(con.confkey) with ordinality as k(attnum, position)
                 join pg_catalog.pg_attribute a on a.attrelid = con.confrelid and a.attnum = k.attnum
                 order by k.position) as referenced_columns,
           con.confdeltype::text as on_delete, con.confupdtype::text as on_update
    from pg_catalog.pg_constraint con
    join pg_catalog.pg_class fc on fc.oid = con.conrelid
    join pg_catalog.pg_namespace fn on fn.oid = fc.relnamespace
    where con.contype = 'f' and con.confrelid = any($1::oid[])
      and (con.confdeltype in ('c', 'n', 'd') or con.confupdtype in ('c', 'n', 'd'))
    order by con.confrelid, con.conname`,
    [oids],
  )
  return rows
}

interface SequenceRow {
  readonly table_oid: string
  readonly column_name: string
  readonly sequence: string
}

function privilegesOf(table: TableRow, unusable: readonly SequenceRow[]): TablePrivileges {
  const base = { insert: table.can_insert, update: table.can_update, delete: table.can_delete }
  if (unusable.length === 0) return base
  return {
    ...base,
    unusableSequences: unusable.map((s) => ({ column: s.column_name, sequence: s.sequence })),
  }
}

/** Serial columns whose sequence the role may not use (INSERT privilege alone does not cover nextval). */
async function readUnusableSequences(
  trx: AnyTransaction,
  oids: readonly string[],
): Promise<readonly SequenceRow[]> {
  return catalogRows<SequenceRow>(
    trx,
    `
    select a.attrelid::text as table_oid, a.attname as column_name, sn.nspname || '.' || sc.relname as sequence
    from pg_catalog.pg_attribute a
    join pg_catalog.pg_depend d
      on d.refclassid = 'pg_catalog.pg_class'::regclass and d.refobjid = a.attrelid and d.refobjsubid = a.attnum
     and d.classid = 'pg_catalog.pg_class'::regclass and d.deptype = 'a'
    join pg_catalog.pg_class sc on sc.oid = d.objid and sc.relkind = 'S'
    join pg_catalog.pg_namespace sn on sn.oid = sc.relnamespace
    where a.attrelid = any($1::oid[]) and a.attnum > 0 and not a.attisdropped and a.attidentity = ''
      -- CASE, not AND: the planner may test the privilege before the relkind, and it raises on a non-sequence
      -- (an index also depends on the column).
      and case when sc.relkind = 'S' then not has_sequence_privilege(sc.oid, 'USAGE') else false end
    order by a.attrelid, a.attnum`,
    [oids],
  )
}

function referentialAction(code: string): ReferentialAction | null {
  return code === 'c' ? 'cascade' : code === 'n' ? 'set_null' : code === 'd' ? 'set_default' : null
}

/**
 * Exact count for a table never analysed, capped so a large unanalysed table costs at most one bounded
 * scan. The identifiers come from the catalog and are quoted (quoteIdentifier), never spliced unquoted; a savepoint
 * keeps a failing count from aborting the snapshot transaction.
 */
async function countRows(trx: AnyTransaction, schema: string, name: string): Promise<number> {
  await catalogRows(trx, 'savepoint tessera_row_count', [])
  try {
    const rows = await catalogRows<{ n: string }>(
      trx,
      `select count(*)::text as n from (select 1 from ${quoteIdentifier(schema)}.${quoteIdentifier(name)} limit $1) as capped`,
      [ROW_COUNT_CAP],
    )
    await catalogRows(trx, 'release savepoint tessera_row_count', [])
    return Number(rows[0]?.n ?? ROW_COUNT_CAP)
  } catch {
    await catalogRows(trx, 'rollback to savepoint tessera_row_count', [])
    return ROW_COUNT_CAP
  }
}

function toColumnInfo(
  row: ColumnRow,
  baseTypes: ReadonlyMap<string, BaseTypeRow>,
  computedFrom: readonly string[] | undefined,
): ColumnInfo {
  const base = baseTypes.get(row.type_oid)
  const enumValues = base?.enum_labels
  const loose = looseEquality(base, row.deterministic_collation)
  return {
    name: row.name,
    dataType: row.data_type,
    udtName: row.udt_name,
    typeClass: base === undefined ? 'other' : columnTypeClass(base),
    nullable: row.nullable,
    hasDefault: row.has_default,
    defaultExpression: row.default_expression,
    generated: row.generated,
    ordinal: row.ordinal,
    ...(Array.isArray(enumValues) ? { enumValues: [...enumValues] } : {}),
    ...(base !== undefined && hasExactEquality(base, row.deterministic_collation)
      ? { exactEquality: true }
      : {}),
    ...(loose === undefined ? {} : { looseEquality: loose }),
    ...(computedFrom === undefined ? {} : { computedFrom: [...computedFrom] }),
  }
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    for (const child of Object.values(value)) deepFreeze(child)
    Object.freeze(value)
  }
  return value
}
