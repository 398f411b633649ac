/**
 * Maps a PostgreSQL type to the broad family the request DSL type-checks values against. Kept pure (no
 * catalog access) so the mapping is unit-tested on its own; introspection resolves domains to their base
 * type before calling it.
 */
import type { CanonicalText, ColumnTypeClass, LooseEquality } from './types.ts'

/** The `pg_type` facts the mapping needs, for the domain-resolved base type of a column. */
export interface PgTypeDescriptor {
  /** `pg_type.typname`, e.g. `int4`, `_text`. */
  readonly typname: string
  /** Schema of the type: built-in names only count when they come from `pg_catalog`. */
  readonly typschema: string
  /** `pg_type.typtype`: `b` base, `c` composite, `d` domain, `e` enum, `m` multirange, `p` pseudo, `r` range. */
  readonly typtype: string
  /** `pg_type.typcategory`, e.g. `A` for arrays. */
  readonly typcategory: string
}

const BUILT_IN_CLASSES: ReadonlyMap<string, ColumnTypeClass> = new Map<string, ColumnTypeClass>([
  ['text', 'string'],
  ['varchar', 'string'],
  ['bpchar', 'string'],
  ['name', 'string'],
  ['uuid', 'uuid'],
  ['int2', 'integer'],
  ['int4', 'integer'],
  ['int8', 'bigint'],
  ['numeric', 'numeric'],
  ['float4', 'float'],
  ['float8', 'float'],
  ['bool', 'boolean'],
  ['timestamp', 'timestamp'],
  ['timestamptz', 'timestamp'],
  ['date', 'timestamp'],
  ['time', 'timestamp'],
  ['timetz', 'timestamp'],
  ['json', 'json'],
  ['jsonb', 'json'],
  ['bytea', 'bytea'],
])

/**
 * Anything not recognised is `other`: a type is never guessed, so a value is never type-checked against the
 * wrong family. A domain that could not be resolved to its base type is `other` for the same reason, and a
 * type that merely borrows a built-in name from another schema does not count as the built-in.
 */
export function columnTypeClass(type: PgTypeDescriptor): ColumnTypeClass {
  if (type.typtype === 'e') return 'string'
  if (type.typcategory === 'A' || (type.typtype === 'b' && type.typname.startsWith('_'))) return 'array'
  if (type.typtype !== 'b') return 'other'
  // citext is an extension, installed into whatever schema the user chose.
  if (type.typname === 'citext') return 'string'
  if (type.typschema !== 'pg_catalog') return 'other'
  return BUILT_IN_CLASSES.get(type.typname) ?? 'other'
}

/** Built-in types whose `=` is exact equality whatever the collation (they have none). */
const EXACT_WITHOUT_COLLATION = new Set(['int2', 'int4', 'uuid', 'bool'])
/** Built-in string types whose `=` is exact equality under a deterministic collation. */
const EXACT_UNDER_DETERMINISTIC_COLLATION = new Set(['text', 'varchar'])

/**
 * Whether PostgreSQL's `=` on a column of this domain-resolved base type, under the column's collation, is exact
 * equality of the values Node reads back (ColumnInfo.exactEquality). `deterministicCollation` is
 * `pg_collation.collisdeterministic` of the column's own collation (`attcollation`, which a domain's collation
 * already went into), null when it has none. A deterministic collation compares text byte for byte (texteq's
 * memcmp); a nondeterministic one (ICU `und-u-ks-level2`) can call 'ACME' and 'acme' equal. char(n) is left out
 * (trailing blanks do not count), and so is int8 (its values reach Node through whatever parser the pool set,
 * parseInt is common and rounds).
 */
export function hasExactEquality(type: PgTypeDescriptor, deterministicCollation: boolean | null): boolean {
  if (type.typschema !== 'pg_catalog' || type.typtype !== 'b') return false
  if (EXACT_WITHOUT_COLLATION.has(type.typname)) return true
  return EXACT_UNDER_DETERMINISTIC_COLLATION.has(type.typname) && deterministicCollation === true
}

/** Built-in types whose `=` calls distinct texts of one value equal, and why (see LooseEquality). */
const LOOSE_BUILT_INS: ReadonlyMap<string, LooseEquality> = new Map<string, LooseEquality>([
  ['bpchar', 'blank-padded'],
  ['numeric', 'numeric'],
  ['float4', 'float'],
  ['float8', 'float'],
  ['timestamp', 'time'],
  ['timestamptz', 'time'],
  ['date', 'time'],
  ['time', 'time'],
  ['timetz', 'time'],
  // `name` (the catalog's identifier type) cuts its input at 63 bytes: a principal of 64 bytes reads the tenant
  // its first 63 name (red team, marketplace schema).
  ['name', 'truncating'],
])

/**
 * Why PostgreSQL's `=` on a column calls some distinct values equal (ColumnInfo.looseEquality), or undefined when
 * nothing is known to: a nondeterministic collation (ICU `und-u-ks-level2`: 'ACME' = 'acme'), citext (compares
 * lower-cased), char(n) (trailing blanks do not count: 'acme' = 'acme '), numeric (`1.0 = 1`), real and double
 * precision (decimal texts that round to one binary value) or a date or time type (`'2024-05-01'` =
 * `'2024-05-01 00:00'`). Such a column cannot carry a tenant boundary (docs/decisions.md, "A tenant column
 * compares exactly or the policy does not load"). The integer types and uuid also read several texts as one
 * value, but each value has one canonical text, so a principal is held to it at call time instead
 * (canonicalText). Types that merely lack exactEquality (a type from another schema, a domain not resolved) are
 * not loose in this sense.
 */
export function looseEquality(
  type: PgTypeDescriptor | undefined,
  deterministicCollation: boolean | null,
): LooseEquality | undefined {
  if (deterministicCollation === false) return 'nondeterministic-collation'
  if (type === undefined || type.typtype !== 'b') return undefined
  // citext is an extension, installed into whatever schema the user chose.
  if (type.typname === 'citext') return 'citext'
  if (type.typschema !== 'pg_catalog') return undefined
  return LOOSE_BUILT_INS.get(type.typname)
}

/**
 * The canonical text a principal value must have to meet a tenant column of this type family, or undefined when
 * the column's `=` already compares the text the principal holds (text, varchar, enums) or no principal text is
 * a value of it (the value is then refused as not fitting the column). int2, int4 and int8 read `01`, `+1`,
 * ` 1` as 1; uuid reads upper case, no hyphens and braces as one uuid: a principal spelling its tenant so would
 * read that tenant's rows while the audit, rate limits, approval caps and cursors key it apart
 * (docs/decisions.md, "A principal names its tenant in the column's canonical text").
 */
export function canonicalText(typeClass: ColumnTypeClass): CanonicalText | undefined {
  switch (typeClass) {
    case 'integer':
    case 'bigint':
      return 'integer'
    case 'uuid':
      return 'uuid'
    default:
      return undefined
  }
}

/** Compiled once: the check runs on every call that meets a tenant column. */
const CANONICAL_TEXT: Readonly<Record<CanonicalText, RegExp>> = Object.freeze({
  integer: /^(?:0|-?[1-9][0-9]*)$/,
  uuid: /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/,
})

/**
 * Whether `text` is the canonical text of its value (canonicalText). Range is not checked here: a canonical
 * integer out of the column's range is no value of it, which the caller's type check refuses.
 */
export function isCanonicalText(kind: CanonicalText, text: string): boolean {
  return CANONICAL_TEXT[kind].test(text)
}
