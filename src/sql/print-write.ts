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
function targetPredicate(plan: UpdatePlan | DeletePlan, col: ColumnRef): Expression<SqlBool> {
  return and([
    keyPredicate(plan.primaryKey, plan.targets, col),
    visibilityPredicate(plan.visibility, col),
    writeCheckPredicate(plan.visibility, col),
  ])
}

function returningList(plan: CreatePlan | UpdatePlan | DeletePlan, col: ColumnRef): RawBuilder<unknown>[] {
  return plan.returning.fields.map((f) => sql`${outputExpression(f, col)} as ${sql.id(f.name)}`)
}

function checkColumn(plan: CreatePlan | UpdatePlan, col: ColumnRef): RawBuilder<unknown> {
  const check = writeCheckPredicate(plan.visibility, col)
  return sql`coalesce(${check}, false) as ${sql.id(WRITE_CHECK_COLUMN)}`
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

/** One row of the referenced table with these key values that the caller can see through some target model. */
export function printReferenceCheck(fk: ForeignKeyCheck, values: readonly unknown[]): RawBuilder<WriteRow> {
  const col = columnRef(ALIAS)
  const match = fk.remoteColumns.map((c, i) => sql<SqlBool>`${col(c)} = ${sql.val(values[i])}`)
  const visible = or(fk.targets.map((t) => visibilityPredicate(t.visibility, col)))
  return sql<WriteRow>`select 1 as found from ${sql.id(fk.table.schema, fk.table.name)} as ${sql.id(ALIAS)} where ${and([...match, visible])} limit 1`
}

export function printInsert(plan: CreatePlan): RawBuilder<WriteRow> {
  const col = columnRef(ALIAS)
  const returning = sql.join([...returningList(plan, col), checkColumn(plan, col)])
  if (plan.writes.length === 0)
    return sql<WriteRow>`insert into ${table(plan)} default values returning ${returning}`
  const columns = sql.join(plan.writes.map((w) => sql.id(w.column)))
  const values = sql.join(plan.writes.map((w) => valueOf(w.value)))
  return sql<WriteRow>`insert into ${table(plan)} (${columns}) values (${values}) returning ${returning}`
}

export function printUpdate(plan: UpdatePlan): RawBuilder<WriteRow> {
  const col = columnRef(ALIAS)
  // SET names bare columns: PostgreSQL does not accept the table alias there.
  const set = sql.join(plan.writes.map((w) => sql`${sql.id(w.column)} = ${valueOf(w.value)}`))
  const returning = sql.join([...returningList(plan, col), checkColumn(plan, col)])
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
