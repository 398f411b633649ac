/**
 * The steps of one write inside its transaction (docs/contract.md §4): (a) the target rows are read — and locked — with
 * the caller's visibility and write scope, so another tenant's id behaves exactly like a missing one; the row
 * as it will be is checked in memory (WITH CHECK); (b) every foreign key in `data` must point at a row the
 * caller can see; (c) the single write statement runs, re-checking the same rules in SQL; (d) the real count is
 * held against maxAffectedRows. Any failure throws, and the executor rolls the transaction back.
 */
import type { CompiledQuery } from 'kysely'
import { TesseraError, notFound, validationError } from '../errors/index.ts'
import type { ExecutorDatabase } from './executor.ts'
import { isRowSecurityCheckError, isSqlStateError } from './database-error-kind.ts'
import { WRITE_CHECK_COLUMN, compileWrite, rawColumnAlias, type WriteRow } from '../sql/index.ts'
import type { AnyDatabase } from '../schema/index.ts'
import { runPrinted } from './statement-guard.ts'
import {
  maxAffectedRowsExceeded,
  checkWrittenRow,
  outsideScope,
  type CreatePlan,
  type DeletePlan,
  type ForeignKeyCheck,
  type RowValues,
  type UpdatePlan,
  type WritePlan,
} from '../planner/index.ts'
import { shapeRows, type Row } from './shape-rows.ts'

export interface RowResult {
  row: Row
}

export interface DeleteResult {
  deleted: 1
  soft: boolean
}

export interface BulkUpdateResult {
  updated: number
}

export type WriteResult = RowResult | DeleteResult | BulkUpdateResult

/**
 * Where a write's statements come from and go: printed (compiled) on `print`, the host's own Kysely instance,
 * and sent on `q`, the call's transaction on the guarded instance (statement-guard.ts).
 */
export interface WriteSession {
  readonly print: AnyDatabase
  readonly q: ExecutorDatabase
}

export interface PreparedWrite {
  /** The target rows before the write, in the read shape (audit image). */
  readonly before: Row[]
}

export interface WriteOutcome {
  readonly result: WriteResult
  readonly affected: number
  /** The written rows in the read shape (audit image); empty after a hard delete. */
  readonly after: Row[]
}

/** A reference to a row the caller cannot see, and one to a row that does not exist, share this error. */
export function referenceNotFound(field: string): TesseraError {
  return new TesseraError('NOT_FOUND', 'A referenced record does not exist', { details: { field } })
}

function stillReferenced(): TesseraError {
  return validationError('The record is still referenced by other records and cannot be deleted')
}

/**
 * Steps (a) and (b) and the in-memory WITH CHECK: everything that needs the database but changes nothing.
 * `lock` takes FOR UPDATE on the targets (inside the write's transaction); the approval path runs it unlocked.
 */
export async function prepareWrite(
  q: WriteSession,
  plan: WritePlan,
  secret: string | Uint8Array,
  lock: boolean,
): Promise<PreparedWrite> {
  switch (plan.kind) {
    case 'create':
      return prepareCreate(q, plan)
    case 'update':
      return prepareUpdate(q, plan, secret, lock)
    case 'delete': {
      const rows = (await runPrinted(q.q, compileWrite.targetSelect(q.print, plan, lock))).rows
      if (rows.length === 0) throw notFound(plan.model)
      return { before: shapeRows(rows, plan.returning, secret) }
    }
    default: {
      const never: never = plan
      throw new Error(`unhandled write plan ${String(never)}`)
    }
  }
}

async function prepareCreate(q: WriteSession, plan: CreatePlan): Promise<PreparedWrite> {
  const known = new Set(Object.keys(plan.knownRow))
  if (checkWrittenRow(plan.visibility, plan.knownRow, known) === 'fail') throw outsideScope()
  await checkReferences(q, plan, plan.foreignKeys, [plan.knownRow], known)
  return { before: [] }
}

async function prepareUpdate(
  q: WriteSession,
  plan: UpdatePlan,
  secret: string | Uint8Array,
  lock: boolean,
): Promise<PreparedWrite> {
  const rows = (await runPrinted(q.q, compileWrite.targetSelect(q.print, plan, lock))).rows
  if (!plan.bulk && rows.length === 0) throw notFound(plan.model)
  const known = new Set([...plan.checkColumns, ...Object.keys(plan.data)])
  const merged = rows.map((row) => ({ ...rawValues(plan, row), ...plan.data }))
  for (const row of merged) {
    if (checkWrittenRow(plan.visibility, row, known) === 'fail') throw outsideScope()
  }
  await checkReferences(q, plan, plan.foreignKeys, merged, known)
  return { before: shapeRows(rows, plan.returning, secret) }
}

/** The raw check columns of a selected row, by column name. */
function rawValues(plan: UpdatePlan | DeletePlan, row: WriteRow): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  plan.checkColumns.forEach((column, i) => {
    out[column] = row[rawColumnAlias(i)] ?? null
  })
  return out
}

/**
 * Every foreign key in `data` must point at a row visible through a model the caller can use — PostgreSQL's
 * own FK check ignores row security (docs/threats.md fact 6). A null in the key is no reference (MATCH SIMPLE). A key
 * column whose value is not known before the write (a database default) cannot be vouched for: refused.
 */
async function checkReferences(
  q: WriteSession,
  plan: WritePlan,
  foreignKeys: readonly ForeignKeyCheck[],
  rows: readonly RowValues[],
  known: ReadonlySet<string>,
): Promise<void> {
  const checked = new Set<string>()
  for (const [index, fk] of foreignKeys.entries()) {
    for (const row of rows) {
      if (fk.columns.some((c) => !known.has(c))) throw referenceNotFound(fk.field)
      const values = fk.columns.map((c) => row[c] ?? null)
      if (values.some((v) => v === null)) continue
      if (fk.targets.length === 0) throw referenceNotFound(fk.field)
      const key = JSON.stringify([index, values])
      if (checked.has(key)) continue
      const found = (await runPrinted(q.q, compileWrite.referenceCheck(q.print, fk, values))).rows
      if (found.length === 0) throw referenceNotFound(fk.field)
      checked.add(key)
    }
  }
}

/** Step (c) and (d): the write statement, its SQL WITH CHECK and the real affected count. */
export async function executeWrite(
  q: WriteSession,
  plan: WritePlan,
  secret: string | Uint8Array,
): Promise<WriteOutcome> {
  switch (plan.kind) {
    case 'create': {
      const rows = await checkedWrite(q, compileWrite.insert(q.print, plan))
      const row = rows[0]
      if (!row || row[WRITE_CHECK_COLUMN] !== true) throw outsideScope()
      const after = shapeRows([row], plan.returning, secret)
      return { result: { row: after[0] as Row }, affected: 1, after }
    }
    case 'update': {
      const rows = await checkedWrite(q, compileWrite.update(q.print, plan))
      if (rows.length > plan.maxAffectedRows) throw maxAffectedRowsExceeded(plan.maxAffectedRows, rows.length)
      if (rows.some((row) => row[WRITE_CHECK_COLUMN] !== true)) throw outsideScope()
      const after = shapeRows(rows, plan.returning, secret)
      if (plan.bulk) return { result: { updated: rows.length }, affected: rows.length, after }
      if (rows.length === 0) throw notFound(plan.model)
      return { result: { row: after[0] as Row }, affected: 1, after }
    }
    case 'delete': {
      const rows = await deleteRows(q, plan)
      if (rows.length > plan.maxAffectedRows) throw maxAffectedRowsExceeded(plan.maxAffectedRows, rows.length)
      if (rows.length === 0) throw notFound(plan.model)
      const soft = plan.softDeleteColumn !== null
      const after = soft ? shapeRows(rows, plan.returning, secret) : []
      return { result: { deleted: 1, soft }, affected: rows.length, after }
    }
    default: {
      const never: never = plan
      throw new Error(`unhandled write plan ${String(never)}`)
    }
  }
}

/**
 * An insert or update, whose row RLS may refuse (`rls` and `both` modes) before the statement's own WITH CHECK
 * column is read — e.g. a column default that puts the row outside the caller's scope, which the planner cannot
 * know in advance. That is the answer the planner's check gives in `app` mode, and it is given here too; the
 * database's text (table and policy names) goes nowhere but the log.
 */
async function checkedWrite(q: WriteSession, statement: CompiledQuery<WriteRow>): Promise<WriteRow[]> {
  try {
    return (await runPrinted(q.q, statement)).rows
  } catch (error) {
    if (isRowSecurityCheckError(error)) throw outsideScope()
    throw error
  }
}

async function deleteRows(q: WriteSession, plan: DeletePlan): Promise<WriteRow[]> {
  try {
    return (await runPrinted(q.q, compileWrite.delete(q.print, plan))).rows
  } catch (error) {
    // Rows of this or another table still point at the record. Saying so names neither them nor their tenant.
    if (isSqlStateError(error) && error.code === '23503') throw stillReferenced()
    throw error
  }
}
