/**
 * What introspection reports about the live database. Plain, JSON-serialisable data: the policy validator
 * and the planner read it, nothing here talks to a database.
 */

/** Broad type families the request DSL type-checks values against. */
export type ColumnTypeClass =
  | 'string' // text, varchar, char, citext, name
  | 'uuid'
  | 'integer' // int2, int4
  | 'bigint' // int8 (values travel as strings)
  | 'numeric' // numeric/decimal (values travel as strings or finite numbers)
  | 'float' // float4, float8
  | 'boolean'
  | 'timestamp' // timestamp, timestamptz, date, time (ISO strings)
  | 'json' // json, jsonb
  | 'bytea'
  | 'array'
  | 'other'

export interface ColumnInfo {
  readonly name: string
  /** PostgreSQL type name as `format_type` prints it, e.g. `uuid`, `text`, `numeric(12,2)`, `timestamp with time zone`. */
  readonly dataType: string
  /** `pg_type.typname`, e.g. `uuid`, `int4`, `_text` for arrays. */
  readonly udtName: string
  readonly typeClass: ColumnTypeClass
  readonly nullable: boolean
  readonly hasDefault: boolean
  readonly defaultExpression: string | null
  readonly generated: boolean
  readonly ordinal: number
  /**
   * For a stored generated column, the columns its expression reads: its value is a function of theirs, so the
   * policy validator refuses to show it more plainly than they are shown. Absent otherwise and on schemas built
   * by hand.
   */
  readonly computedFrom?: readonly string[]
  /**
   * The labels of an enum column (also through domains over an enum), in the type's sort order: values are
   * checked against them before any SQL exists, so the database never rejects one with an unexplained error.
   * Absent for other types and on schemas built by hand.
   */
  readonly enumValues?: readonly string[]
  /**
   * Present when PostgreSQL's `=` on this column is exact equality of the values Node reads back — text and
   * varchar under a deterministic collation (compared byte for byte), int2, int4, uuid and boolean, also through
   * domains — so a comparison with a constant cannot come out differently in SQL and in memory
   * (docs/decisions.md, "A write that decides itself commits with its statement"). Absent for every other type and
   * on schemas built by hand: char(n) ignores trailing blanks, citext and nondeterministic collations ignore case,
   * int8 reaches Node through whatever parser the host's pool set.
   */
  readonly exactEquality?: true
  /**
   * Present when PostgreSQL's `=` on this column is known to call distinct values equal: under a nondeterministic
   * collation, for citext (both ignore case), for char(n) (trailing blanks), for numeric (scale), real and double
   * precision (rounding) and the date and time types (spellings of one value). A scope or tenant pin on such a
   * column would let tenant 'acme' read 'ACME''s rows, so the policy validator refuses it (docs/decisions.md,
   * "A tenant column compares exactly or the policy does not load"). Absent otherwise and on schemas built by hand.
   */
  readonly looseEquality?: LooseEquality
}

/**
 * Why a column's `=` is looser than identity (ColumnInfo.looseEquality): case (a nondeterministic collation,
 * citext), trailing blanks (char(n)), scale (numeric: `1.0 = 1`), rounding (real, double precision: two decimal
 * texts name one binary value), spelling of one instant or day (timestamp, timestamptz, date, time, timetz) or
 * truncation (name keeps the first 63 bytes of its input).
 */
export type LooseEquality =
  'nondeterministic-collation' | 'citext' | 'blank-padded' | 'numeric' | 'float' | 'time' | 'truncating'

/**
 * The one text a principal value must be when it meets a tenant column of a type whose input reads several
 * texts as one value (canonicalText in column-type-class.ts): `integer` — `0` or `-?[1-9][0-9]*` (int2, int4,
 * int8 read `01`, `+1`, ` 1` as 1); `uuid` — lower-case, hyphenated 8-4-4-4-12 (uuid reads upper case, no
 * hyphens and braces as the same uuid).
 */
export type CanonicalText = 'integer' | 'uuid'

export interface ForeignKeyInfo {
  readonly name: string
  /** Columns of this table, in constraint order. */
  readonly columns: readonly string[]
  readonly referencedSchema: string
  readonly referencedTable: string
  /** Columns of the referenced table, paired by position with `columns`. */
  readonly referencedColumns: readonly string[]
}

export type ReferentialAction = 'cascade' | 'set_null' | 'set_default'

/**
 * A foreign key of ANY table (readable by the role or not) that points at this table with an action that changes
 * the referencing rows when this table's rows are deleted or their keys updated. Such a write reaches beyond
 * the rows a policy scoped, so the policy validator refuses hard deletes (and key updates) over them.
 */
export interface CascadingReference {
  readonly name: string
  /** `schema.table` of the referencing table. */
  readonly fromTable: string
  /** Columns of THIS table that the key references. */
  readonly referencedColumns: readonly string[]
  readonly onDelete: ReferentialAction | null
  readonly onUpdate: ReferentialAction | null
}

export interface IndexInfo {
  readonly name: string
  readonly columns: readonly string[]
  readonly unique: boolean
  readonly primary: boolean
}

/**
 * Anything that makes the database refuse a duplicate: unique constraints, the primary key and unique indexes,
 * partial and expression ones included, and exclusion constraints (IndexInfo reports those as not unique, because their plain columns
 * alone are not). A write that collides answers differently from one that does not, so the policy validator
 * asks whether such a key spans tenants (see policy/write-oracle-problems.ts).
 */
export interface UniqueKeyInfo {
  readonly name: string
  readonly primary: boolean
  /** An exclusion constraint's index: key columns are those it compares with `=`. */
  readonly exclusion?: true
  /** Plain key columns, in no particular order. */
  readonly keyColumns: readonly string[]
  /** Every column the key depends on: key columns plus those an expression or predicate reads. */
  readonly involvedColumns: readonly string[]
}

export interface TableInfo {
  readonly schema: string
  readonly name: string
  /** Key used in `DbSchema.tables`: `name` for the `public` schema, `schema.name` otherwise. */
  readonly key: string
  readonly columns: readonly ColumnInfo[]
  readonly primaryKey: readonly string[]
  readonly foreignKeys: readonly ForeignKeyInfo[]
  readonly indexes: readonly IndexInfo[]
  readonly uniqueKeys: readonly UniqueKeyInfo[]
  /** `pg_class.reltuples` (after ANALYZE), or a count for small tables never analysed; never negative. */
  readonly estimatedRows: number
  readonly rlsEnabled: boolean
  readonly rlsForced: boolean
  /**
   * The table (not partitioned) has inheritance children, which do not inherit its primary key or unique
   * constraints: a statement naming it reaches their rows too, so one key value can name several rows.
   */
  readonly inheritanceChildren?: true
  readonly cascadingReferences: readonly CascadingReference[]
  /**
   * Table-level write privileges of the introspecting role (column grants alone do not count). Absent on a
   * schema built by hand: then nothing is known and nothing is reported.
   */
  readonly privileges?: TablePrivileges
  /**
   * CHECK constraints and the columns each reads: updating one column answers whether the new value passes a
   * comparison with the others, so the policy validator refuses such a pair when one is hidden. Absent on a
   * schema built by hand.
   */
  readonly checks?: readonly CheckConstraintInfo[]
}

export interface CheckConstraintInfo {
  readonly name: string
  /** Columns the constraint reads; `*` for a whole-row reference (every column). */
  readonly columns: readonly string[]
}

export interface TablePrivileges {
  readonly insert: boolean
  readonly update: boolean
  readonly delete: boolean
  /**
   * Sequences behind serial columns (a `nextval` default owned by the column; identity columns need no grant)
   * that the role may not use: an INSERT taking such a default fails with "permission denied for sequence".
   * Absent when there are none.
   */
  readonly unusableSequences?: readonly UnusableSequence[]
}

export interface UnusableSequence {
  readonly column: string
  /** Schema-qualified, as PostgreSQL prints it (`public.notes_id_seq`). */
  readonly sequence: string
}

export interface DbSchema {
  readonly tables: Readonly<Record<string, TableInfo>>
  /** The role the snapshot was read as (`current_user`), when introspected. */
  readonly role?: string
  /**
   * Keys of tables in the introspected schemas that exist but the role may not SELECT (or lacks USAGE on the
   * schema): not in `tables`, named so a policy naming one is told "cannot SELECT", not "unknown table".
   */
  readonly unreadableTables?: readonly string[]
}

export function findColumn(table: TableInfo, name: string): ColumnInfo | undefined {
  return table.columns.find((c) => c.name === name)
}
