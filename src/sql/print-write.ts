/**
 * WritePlan → the statements of one write transaction, each a single parameterised statement. Identifiers
 * come only from the bound schema (through `sql.id`); every value — data, keys, principal values — is a bound
 * parameter. UPDATE and DELETE reach a row only through `key ∧ visibility ∧ write check`, so another tenant's
 * id matches nothing; INSERT and UPDATE return the write check evaluated on the new row (WITH CHECK in SQL).
 */
import { type CompiledQuery, type Expression, type RawBuilder, type SqlBool, sql } from 'kysely'
import {
  and,
  type ColumnRef,
  columnRef,
  or,
  scopePredicate,
  visibilityPredicate,
} from './print-predicates.ts'
import {
  writeGrants,
  type VisibilityPlan,
  type CreatePlan,
  type DeletePlan,
  type ForeignKeyCheck,
  type KeyValue,
  type UpdatePlan,
  type WriteValue,
  type ColumnWrite,
  type SelectPlan,
  type TableRef,
} from '../planner/index.ts'
import { outputExpression } from './print-select.ts'
import { conditionPredicate } from './print-condition.ts'
import { markPrinted } from './printed-statement.ts'
import type { AnyDatabase } from '../schema/index.ts'

export type WriteRow = Record<string, unknown>

const ALIAS = 't0'
/** Boolean column every INSERT/UPDATE returns: the write check on the row as written. */
export const WRITE_CHECK_COLUMN = '__tessera_check'

/** Alias under which the i-th raw check column is selected (positional: column names may be 63 bytes long). */
export function rawColumnAlias(i: number): string {
  return `__tessera_raw${i}`
}

/** Alias under which a locked update returns the i-th returning field as it was before the write. */
export function beforeColumnAlias(i: number): string {
  return `__tessera_before${i}`
}

/** Alias of the i-th reference's visibility flag in a checked insert's row. */
export function referenceColumnAlias(i: number): string {
  return `__tessera_ref${i}`
}

/** One reference a write must find visible: a foreign key and the key values the written row gives it. */
export interface ReferenceValues {
  readonly fk: ForeignKeyCheck
  readonly values: readonly unknown[]
}

/*
 * What the printers of the cached write statements read of a plan (write-statement-cache.ts keys on exactly
 * these members, so they may read nothing else). A CreatePlan or UpdatePlan is one.
 */
/** The part of a foreign key a reference check is printed from. */
export type ReferenceShape = Pick<ForeignKeyCheck, 'table' | 'remoteColumns' | 'targets'>

export interface ReferenceValuesShape {
  readonly fk: ReferenceShape
  readonly values: readonly unknown[]
}

/** What printCheckedInsert reads of a CreatePlan. */
export interface InsertShape {
  readonly table: TableRef
  readonly writes: readonly ColumnWrite[]
  readonly visibility: VisibilityPlan
  readonly returning: Pick<SelectPlan, 'fields'>
}

/** What printLockedUpdate reads of an UpdatePlan. */
export interface LockedUpdateShape extends InsertShape {
  readonly primaryKey: readonly string[]
  readonly targets: readonly KeyValue[]
  readonly checkColumns: readonly string[]
}

/**
 * The write check (write-check.ts) as SQL: restrictive rules, and — unless a bypass holds or the model is
 * shared — every scope, or, for a model with no scoping, every permissive rule that can grant a write.
 */
export function writeCheckPredicate(v: VisibilityPlan, col: ColumnRef): Expression<SqlBool> {
  const parts: Expression<SqlBool>[] = []
  if (v.bypass === null && !v.shared) {
    if (v.scopes.length > 0) {
      parts.push(scopePredicate(v, col))
    } else {
      // Every rule that can grant a write must hold (see write-check.ts): one permissive rule alone could let a
      // caller plant a row into another tenant by satisfying a different rule (e.g. owner_id = me).
      const grants = writeGrants(v)
      parts.push(
        grants.length === 0
          ? sql<SqlBool>`false`
          : and(grants.map((r) => conditionPredicate(r.condition, { column: col }))),
      )
    }
  }
  for (const rule of v.restrictive) parts.push(conditionPredicate(rule.condition, { column: col }))
  return and(parts)
}

function table(plan: { table: { schema: string; name: string } }): RawBuilder<unknown> {
  return sql`${sql.id(plan.table.schema, plan.table.name)} as ${sql.id(ALIAS)}`
}

function keyPredicate(
  primaryKey: readonly string[],
  targets: readonly KeyValue[],
  col: ColumnRef,
): Expression<SqlBool> {
  const [only] = primaryKey
  if (primaryKey.length === 1 && only !== undefined) {
    if (targets.length === 1) return sql<SqlBool>`${col(only)} = ${sql.val(targets[0]?.[only])}`
    // One array parameter however many ids (docs/threats.md fact 9).
    return sql<SqlBool>`${col(only)} = any(${sql.val(targets.map((t) => t[only]))})`
  }
  return or(targets.map((t) => and(primaryKey.map((c) => sql<SqlBool>`${col(c)} = ${sql.val(t[c])}`))))
}

/** The rows an UPDATE or DELETE may touch: key ∧ visible ∧ within the caller's write scope. */
function targetPredicate(
  plan: Pick<LockedUpdateShape, 'primaryKey' | 'targets' | 'visibility'>,
  col: ColumnRef,
): Expression<SqlBool> {
  return and([
    keyPredicate(plan.primaryKey, plan.targets, col),
    visibilityPredicate(plan.visibility, col),
    writeCheckPredicate(plan.visibility, col),
  ])
}

function returningList(plan: Pick<InsertShape, 'returning'>, col: ColumnRef): RawBuilder<unknown>[] {
  return plan.returning.fields.map((f) => sql`${outputExpression(f, col)} as ${sql.id(f.name)}`)
}

/**
 * The write check on the row as written, returned under WRITE_CHECK_COLUMN. With `abort`, a row that fails it
 * does not come back false: it fails the whole statement with WRITE_CHECK_ABORT's error, so the statement can
 * never leave such a row written, whatever happens after it (docs/decisions.md, "A write that decides itself
 * commits with its statement"). The error comes from a scalar subquery of two rows, in the CASE branch only
 * such a row reaches: SQL has no way to raise an error of its own without a function, and a subquery is never
 * folded at plan time (`1/0` would be, and would fail every call), so it runs exactly when a row fails.
 */
function checkColumn(
  plan: Pick<InsertShape, 'visibility'>,
  col: ColumnRef,
  abort: boolean,
): RawBuilder<unknown> {
  const check = writeCheckPredicate(plan.visibility, col)
  if (!abort) return sql`coalesce(${check}, false) as ${sql.id(WRITE_CHECK_COLUMN)}`
  return sql`case when coalesce(${check}, false) then true else (select false union all select false) end as ${sql.id(WRITE_CHECK_COLUMN)}`
}

function valueOf(value: WriteValue): RawBuilder<unknown> {
  switch (value.kind) {
    case 'param':
      return sql`${sql.val(value.value)}`
    case 'now':
      return sql`now()`
    default: {
      const never: never = value
      throw new Error(`unhandled write value ${String(never)}`)
    }
  }
}

/**
 * The current target rows, in the read shape (returning fields) plus the raw check columns under
 * rawColumnAlias(i); `lock` adds FOR UPDATE so nothing changes them before the write.
 */
export function printTargetSelect(plan: UpdatePlan | DeletePlan, lock: boolean): RawBuilder<WriteRow> {
  const col = columnRef(ALIAS)
  const raw = plan.checkColumns.map((c, i) => sql`${col(c)} as ${sql.id(rawColumnAlias(i))}`)
  const list = sql.join([...returningList(plan, col), ...raw])
  return sql<WriteRow>`select ${list} from ${table(plan)} where ${targetPredicate(plan, col)}${sql.raw(lock ? ' for update' : '')}`
}

/** A row of the referenced table with these key values that the caller can see through some target model. */
function referencedRowPredicate(fk: ReferenceShape, values: readonly unknown[]): Expression<SqlBool> {
  const col = columnRef(ALIAS)
  const match = fk.remoteColumns.map((c, i) => sql<SqlBool>`${col(c)} = ${sql.val(values[i])}`)
  const visible = or(fk.targets.map((t) => visibilityPredicate(t.visibility, col)))
  return and([...match, visible])
}

/** One row of the referenced table with these key values that the caller can see through some target model. */
export function printReferenceCheck(fk: ForeignKeyCheck, values: readonly unknown[]): RawBuilder<WriteRow> {
  return sql<WriteRow>`select 1 as found from ${sql.id(fk.table.schema, fk.table.name)} as ${sql.id(ALIAS)} where ${referencedRowPredicate(fk, values)} limit 1`
}

export function printInsert(plan: InsertShape, abort = false): RawBuilder<WriteRow> {
  const col = columnRef(ALIAS)
  const returning = sql.join([...returningList(plan, col), checkColumn(plan, col, abort)])
  if (plan.writes.length === 0)
    return sql<WriteRow>`insert into ${table(plan)} default values returning ${returning}`
  const columns = sql.join(plan.writes.map((w) => sql.id(w.column)))
  const values = sql.join(plan.writes.map((w) => valueOf(w.value)))
  return sql<WriteRow>`insert into ${table(plan)} (${columns}) values (${values}) returning ${returning}`
}

/**
 * The insert and its reference checks as one statement, so a create is one round trip: the references are
 * looked up first (one `exists` flag each, under referenceColumnAlias(i)), and the row is inserted only when
 * every flag holds. The one row returned always carries the flags — which reference was missing is told
 * exactly as the separate checks told it — and, when the insert ran, the written row and its write check.
 * Flags and insert see the same snapshot, as the separate statements inside the write's transaction did.
 */
export function printCheckedInsert(
  plan: InsertShape,
  references: readonly ReferenceValuesShape[],
): RawBuilder<WriteRow> {
  if (references.length === 0) return printInsert(plan, true)
  const col = columnRef(ALIAS)
  const refs = sql.id('__tessera_refs')
  const inserted = sql.id('__tessera_insert')
  const flags = sql.join(
    references.map(
      (r, i) =>
        sql`exists (select 1 from ${sql.id(r.fk.table.schema, r.fk.table.name)} as ${sql.id(ALIAS)} where ${referencedRowPredicate(r.fk, r.values)}) as ${sql.id(referenceColumnAlias(i))}`,
    ),
  )
  const allFound = and(references.map((_, i) => sql<SqlBool>`${sql.id(referenceColumnAlias(i))}`))
  const returning = sql.join([...returningList(plan, col), checkColumn(plan, col, true)])
  // A create that writes no column has no FK column in `data`, so it never has references to check.
  const columns = sql.join(plan.writes.map((w) => sql.id(w.column)))
  const values = sql.join(plan.writes.map((w) => valueOf(w.value)))
  return sql<WriteRow>`with ${refs} as (select ${flags}), ${inserted} as (insert into ${table(plan)} (${columns}) select ${values} from ${refs} where ${allFound} returning ${returning}) select * from ${refs} left join ${inserted} on true`
}

/**
 * The target rows read, locked and updated in one statement: the `__tessera_before` CTE is printTargetSelect's
 * read (returning fields under beforeColumnAlias(i), raw check columns under rawColumnAlias(i), FOR UPDATE), and
 * the UPDATE reaches exactly the rows it locked — joined on the primary key, under the same target predicate.
 * Each returned row holds the row as written (returning fields and the write check) next to its before image.
 */
export function printLockedUpdate(plan: LockedUpdateShape, abort: boolean): RawBuilder<WriteRow> {
  const col = columnRef(ALIAS)
  const before = sql.id('__tessera_before')
  const b = (alias: string) => sql.id('__tessera_before', alias)
  const keyAlias = (i: number) => `__tessera_key${i}`
  const read = sql.join([
    ...plan.returning.fields.map(
      (f, i) => sql`${outputExpression(f, col)} as ${sql.id(beforeColumnAlias(i))}`,
    ),
    ...plan.checkColumns.map((c, i) => sql`${col(c)} as ${sql.id(rawColumnAlias(i))}`),
    ...plan.primaryKey.map((c, i) => sql`${col(c)} as ${sql.id(keyAlias(i))}`),
  ])
  const set = sql.join(plan.writes.map((w) => sql`${sql.id(w.column)} = ${valueOf(w.value)}`))
  const joined = and([
    targetPredicate(plan, col),
    ...plan.primaryKey.map((c, i) => sql<SqlBool>`${col(c)} = ${b(keyAlias(i))}`),
    // A statement that decides itself (abort) commits with no transaction to undo it, so it writes nothing when
    // it locked more rows than the keys it names: a table whose inheritance children (created after start-up;
    // bind-policy.ts refuses them before) repeat the key (red team, marketplace schema). Nothing updated answers
    // NOT_FOUND; the count is one InitPlan over the already materialised CTE.
    ...(abort ? [sql<SqlBool>`(select count(*) from ${before}) <= ${sql.lit(plan.targets.length)}`] : []),
  ])
  const returning = sql.join([
    ...returningList(plan, col),
    checkColumn(plan, col, abort),
    ...plan.returning.fields.map((_, i) => sql`${b(beforeColumnAlias(i))}`),
    ...plan.checkColumns.map((_, i) => sql`${b(rawColumnAlias(i))}`),
  ])
  return sql<WriteRow>`with ${before} as (select ${read} from ${table(plan)} where ${targetPredicate(plan, col)} for update) update ${table(plan)} set ${set} from ${before} where ${joined} returning ${returning}`
}

export function printUpdate(plan: UpdatePlan): RawBuilder<WriteRow> {
  const col = columnRef(ALIAS)
  // SET names bare columns: PostgreSQL does not accept the table alias there.
  const set = sql.join(plan.writes.map((w) => sql`${sql.id(w.column)} = ${valueOf(w.value)}`))
  const returning = sql.join([...returningList(plan, col), checkColumn(plan, col, false)])
  return sql<WriteRow>`update ${table(plan)} set ${set} where ${targetPredicate(plan, col)} returning ${returning}`
}

/** A soft delete sets the soft-delete column to now(); a hard delete removes the row. */
export function printDelete(plan: DeletePlan): RawBuilder<WriteRow> {
  const col = columnRef(ALIAS)
  const list = returningList(plan, col)
  const returning = list.length > 0 ? sql` returning ${sql.join(list)}` : sql` returning 1 as deleted`
  const where = targetPredicate(plan, col)
  if (plan.softDeleteColumn !== null) {
    return sql<WriteRow>`update ${table(plan)} set ${sql.id(plan.softDeleteColumn)} = now() where ${where}${returning}`
  }
  return sql<WriteRow>`delete from ${table(plan)} where ${where}${returning}`
}

/**
 * The write's statements compiled for sending: compiled on `db` (the host's instance, never the guarded one the
 * executor runs on) and marked as printed here.
 */
export const compileWrite = {
  targetSelect: (db: AnyDatabase, plan: UpdatePlan | DeletePlan, lock: boolean): CompiledQuery<WriteRow> =>
    markPrinted(printTargetSelect(plan, lock).compile(db)),
  referenceCheck: (
    db: AnyDatabase,
    fk: ForeignKeyCheck,
    values: readonly unknown[],
  ): CompiledQuery<WriteRow> => markPrinted(printReferenceCheck(fk, values).compile(db)),
  insert: (db: AnyDatabase, plan: CreatePlan): CompiledQuery<WriteRow> =>
    markPrinted(printInsert(plan).compile(db)),
  update: (db: AnyDatabase, plan: UpdatePlan): CompiledQuery<WriteRow> =>
    markPrinted(printUpdate(plan).compile(db)),
  delete: (db: AnyDatabase, plan: DeletePlan): CompiledQuery<WriteRow> =>
    markPrinted(printDelete(plan).compile(db)),
} as const
