/**
 * The steps of one write inside its transaction (docs/contract.md §4): (a) the target rows are read — and locked — with
 * the caller's visibility and write scope, so another tenant's id behaves exactly like a missing one; the row
 * as it will be is checked in memory (WITH CHECK); (b) every foreign key in `data` must point at a row the
 * caller can see; (c) the single write statement runs, re-checking the same rules in SQL; (d) the real count is
 * held against maxAffectedRows, and what it returns against maxResultBytes. Any failure throws, and the executor rolls the transaction back.
 */
import type { CompiledQuery } from 'kysely'
import { TesseraError, notFound, validationError } from '../errors/index.ts'
import type { ExecutorDatabase } from './executor.ts'
import { isRowSecurityCheckError, isSqlStateError, isWriteCheckAbort } from './database-error-kind.ts'
import {
  WRITE_CHECK_COLUMN,
  beforeColumnAlias,
  compileCheckedInsert,
  compileLockedUpdate,
  compileWrite,
  rawColumnAlias,
  referenceColumnAlias,
  type ReferenceValues,
  type WriteRow,
} from '../sql/index.ts'
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
import { checkWriteResultBytes } from './write-result-bytes.ts'

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

/** What a write did: its before images (empty for a create) and its outcome. */
export interface PerformedWrite {
  readonly before: Row[]
  readonly outcome: WriteOutcome
}

/**
 * Steps (a)–(d) inside the write's transaction, in as few statements as keep every check: a create checks its
 * references inside its INSERT (printCheckedInsert) and an update that sets no foreign-key column reads and
 * locks its targets inside its UPDATE (printLockedUpdate) — one statement each instead of two or three. Every
 * refusal is the one the separate steps give, in the same order; those found after the statement ran are
 * thrown before commit, so the executor rolls the write back. Delete and an update that sets a reference keep
 * the separate steps (prepareWrite, then executeWrite).
 */
export async function performWrite(
  q: WriteSession,
  plan: WritePlan,
  secret: string | Uint8Array,
): Promise<PerformedWrite> {
  const written = await performSteps(q, plan, secret)
  checkWriteResultBytes(plan, [written.before, written.outcome.after])
  return written
}

async function performSteps(
  q: WriteSession,
  plan: WritePlan,
  secret: string | Uint8Array,
): Promise<PerformedWrite> {
  if (plan.kind === 'create') return performCreate(q, plan, secret)
  if (plan.kind === 'update' && plan.foreignKeys.length === 0) return performLockedUpdate(q, plan, secret)
  const prepared = await prepareWrite(q, plan, secret, true)
  return { before: prepared.before, outcome: await executeWrite(q, plan, secret) }
}

async function performCreate(
  q: WriteSession,
  plan: CreatePlan,
  secret: string | Uint8Array,
): Promise<PerformedWrite> {
  const known = new Set(Object.keys(plan.knownRow))
  if (checkWrittenRow(plan.visibility, plan.knownRow, known) === 'fail') throw outsideScope()
  const { checks, refused } = collectReferences(plan.foreignKeys, [plan.knownRow], known)
  if (refused !== null) {
    // Refused without the database, but only after the references before it were found: checked as before.
    await runReferenceChecks(q, checks)
    throw referenceNotFound(refused)
  }
  return createdWrite(
    await checkedWrite(q, compileCheckedInsert(q.print, plan, checks)),
    plan,
    checks,
    secret,
  )
}

/** A checked insert's outcome: the first reference it did not find, else the row it wrote. */
function createdWrite(
  rows: readonly WriteRow[],
  plan: CreatePlan,
  checks: readonly ReferenceValues[],
  secret: string | Uint8Array,
): PerformedWrite {
  const row = rows[0]
  const missing = checks.findIndex((_, i) => row?.[referenceColumnAlias(i)] !== true)
  const first = checks[missing]
  if (first !== undefined) throw referenceNotFound(first.fk.field)
  return { before: [], outcome: createdOutcome(rows, plan, secret) }
}

async function performLockedUpdate(
  q: WriteSession,
  plan: UpdatePlan,
  secret: string | Uint8Array,
): Promise<PerformedWrite> {
  // A single update reaches one row, so no refusal that Node decides after the statement (maxAffectedRows) can
  // come before its WITH CHECK: it may abort on a failing row. A bulk update returns the check instead.
  const rows = await checkedWrite(q, compileLockedUpdate(q.print, plan, !plan.bulk))
  if (!plan.bulk && rows.length === 0) throw notFound(plan.model)
  // The in-memory WITH CHECK of prepareUpdate, on the same locked rows: only now, so a failure rolls back.
  const known = new Set([...plan.checkColumns, ...Object.keys(plan.data)])
  for (const row of rows) {
    if (checkWrittenRow(plan.visibility, Object.assign(rawValues(plan, row), plan.data), known) === 'fail') {
      throw outsideScope()
    }
  }
  return lockedUpdateWrite(rows, plan, secret)
}

/** A locked update's before images and outcome, once every check on its rows has passed. */
function lockedUpdateWrite(
  rows: readonly WriteRow[],
  plan: UpdatePlan,
  secret: string | Uint8Array,
): PerformedWrite {
  const before = shapeRows(
    rows.map((row) => beforeImage(plan, row)),
    plan.returning,
    secret,
  )
  return { before, outcome: updatedOutcome(rows, plan, secret) }
}

/**
 * A write that may commit together with its one statement, with no BEGIN and no COMMIT (docs/decisions.md, "A
 * write that decides itself commits with its statement"): every refusal it can meet is either made before the
 * statement, or made by the statement itself — which then writes nothing (a missing reference, no target row)
 * or fails as a whole (a row outside the write check aborts it) — so nothing Node decides after the statement
 * could want it undone. `finish` turns the statement's rows into the write's outcome, throwing the refusal of a
 * statement that wrote nothing.
 */
export interface SelfDecidingWrite {
  readonly statement: CompiledQuery<WriteRow>
  finish(rows: readonly WriteRow[]): PerformedWrite
}

/**
 * The self-deciding form of `plan`, or null when the write needs its transaction (performWrite): a delete, a
 * bulk update, an update that sets a reference or whose WITH CHECK in memory needs the row as it is, and any
 * write refused, or whose references are checked, before its statement — those keep their own order of
 * refusals, which the transaction gives them.
 */
export function selfDecidingWrite(
  print: AnyDatabase,
  plan: WritePlan,
  secret: string | Uint8Array,
): SelfDecidingWrite | null {
  switch (plan.kind) {
    case 'create': {
      const known = new Set(Object.keys(plan.knownRow))
      if (checkWrittenRow(plan.visibility, plan.knownRow, known) === 'fail') return null
      const { checks, refused } = collectReferences(plan.foreignKeys, [plan.knownRow], known)
      if (refused !== null) return null
      return {
        statement: compileCheckedInsert(print, plan, checks),
        finish: (rows) => createdWrite(rows, plan, checks, secret),
      }
    }
    case 'update': {
      if (plan.bulk || plan.foreignKeys.length > 0) return null
      // The in-memory WITH CHECK decided from `data` alone holds for every row whatever its current values,
      // exactly as performLockedUpdate's check on the merged row would: it reads only columns `data` sets. Or
      // it needs the row as it is, but only through columns SQL compares exactly as Node would
      // (plan.checkDecidedInSql): then the SQL check, which aborts the statement, decides it alone.
      const decided = checkWrittenRow(plan.visibility, plan.data, new Set(Object.keys(plan.data)))
      if (decided === 'fail' || (decided === 'unknown' && !plan.checkDecidedInSql)) return null
      return {
        statement: compileLockedUpdate(print, plan, true),
        finish: (rows) => {
          if (rows.length === 0) throw notFound(plan.model)
          return lockedUpdateWrite(rows, plan, secret)
        },
      }
    }
    case 'delete':
      return null
    default: {
      const never: never = plan
      throw new Error(`unhandled write plan ${String(never)}`)
    }
  }
}

/**
 * The refusal a write statement's database error stands for, or undefined: a row refused by RLS's WITH CHECK
 * (`rls` and `both` modes, e.g. a column default that puts the row outside the caller's scope, which the planner
 * cannot know in advance) or by the statement's own write check. That is the answer the planner's check gives
 * in `app` mode, and it is given here too; the database's error is dropped, so its text (table and policy names)
 * reaches neither the caller nor a log.
 */
export function writeRefusal(error: unknown): TesseraError | undefined {
  if (isRowSecurityCheckError(error) || isWriteCheckAbort(error)) return outsideScope()
  return undefined
}

/** A locked update's row as it was before the write, under the returning fields' own names. */
function beforeImage(plan: UpdatePlan, row: WriteRow): WriteRow {
  const out: WriteRow = {}
  plan.returning.fields.forEach((f, i) => {
    out[f.name] = row[beforeColumnAlias(i)]
  })
  return out
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
  await checkReferences(q, plan.foreignKeys, [plan.knownRow], known)
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
  // `data` over the row's values (Object.assign on the fresh object: a second spread costs V8 a hidden class per member).
  const merged = rows.map((row) => Object.assign(rawValues(plan, row), plan.data))
  for (const row of merged) {
    if (checkWrittenRow(plan.visibility, row, known) === 'fail') throw outsideScope()
  }
  await checkReferences(q, plan.foreignKeys, merged, known)
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
  foreignKeys: readonly ForeignKeyCheck[],
  rows: readonly RowValues[],
  known: ReadonlySet<string>,
): Promise<void> {
  const { checks, refused } = collectReferences(foreignKeys, rows, known)
  await runReferenceChecks(q, checks)
  if (refused !== null) throw referenceNotFound(refused)
}

/** One statement per reference, in order; the first one not found is refused. */
async function runReferenceChecks(q: WriteSession, checks: readonly ReferenceValues[]): Promise<void> {
  for (const { fk, values } of checks) {
    const found = (await runPrinted(q.q, compileWrite.referenceCheck(q.print, fk, values))).rows
    if (found.length === 0) throw referenceNotFound(fk.field)
  }
}

/**
 * The references the rows make, each once, in the order they are checked (foreign key, then row). `refused`
 * names the first reference refused without the database (a key column not known before the write, or no
 * model through which the caller could see the referenced row); `checks` stops there — the references before it
 * are still checked first, so the error is the one the first failing reference gives.
 */
function collectReferences(
  foreignKeys: readonly ForeignKeyCheck[],
  rows: readonly RowValues[],
  known: ReadonlySet<string>,
): { checks: ReferenceValues[]; refused: string | null } {
  const checks: ReferenceValues[] = []
  const seen = new Set<string>()
  for (const [index, fk] of foreignKeys.entries()) {
    for (const row of rows) {
      if (fk.columns.some((c) => !known.has(c))) return { checks, refused: fk.field }
      const values = fk.columns.map((c) => row[c] ?? null)
      if (values.some((v) => v === null)) continue
      if (fk.targets.length === 0) return { checks, refused: fk.field }
      // One row (every create, every single update) makes each reference once: nothing to deduplicate.
      if (rows.length > 1) {
        const key = JSON.stringify([index, values])
        if (seen.has(key)) continue
        seen.add(key)
      }
      checks.push({ fk, values })
    }
  }
  return { checks, refused: null }
}

/** Step (c) and (d): the write statement, its SQL WITH CHECK and the real affected count. */
export async function executeWrite(
  q: WriteSession,
  plan: WritePlan,
  secret: string | Uint8Array,
): Promise<WriteOutcome> {
  switch (plan.kind) {
    case 'create':
      return createdOutcome(await checkedWrite(q, compileWrite.insert(q.print, plan)), plan, secret)
    case 'update':
      return updatedOutcome(await checkedWrite(q, compileWrite.update(q.print, plan)), plan, secret)
    case 'delete': {
      const rows = await deleteRows(q, plan)
      const most = affectedRowsLimit(plan)
      if (rows.length > most) throw maxAffectedRowsExceeded(most, rows.length)
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

/** An insert or update, whose row the database may refuse (see writeRefusal). */
async function checkedWrite(q: WriteSession, statement: CompiledQuery<WriteRow>): Promise<WriteRow[]> {
  try {
    return (await runPrinted(q.q, statement)).rows
  } catch (error) {
    throw writeRefusal(error) ?? error
  }
}

/** Step (d) of a create: the SQL WITH CHECK on the inserted row. */
function createdOutcome(
  rows: readonly WriteRow[],
  plan: CreatePlan,
  secret: string | Uint8Array,
): WriteOutcome {
  const row = rows[0]
  if (!row || row[WRITE_CHECK_COLUMN] !== true) throw outsideScope()
  const after = shapeRows([row], plan.returning, secret)
  return { result: { row: after[0] as Row }, affected: 1, after }
}

/** Step (d) of an update: the real count against maxAffectedRows, then the SQL WITH CHECK on every row. */
function updatedOutcome(
  rows: readonly WriteRow[],
  plan: UpdatePlan,
  secret: string | Uint8Array,
): WriteOutcome {
  const most = affectedRowsLimit(plan)
  if (rows.length > most) throw maxAffectedRowsExceeded(most, rows.length)
  if (rows.some((row) => row[WRITE_CHECK_COLUMN] !== true)) throw outsideScope()
  const after = shapeRows(rows, plan.returning, secret)
  if (plan.bulk) return { result: { updated: rows.length }, affected: rows.length, after }
  if (rows.length === 0) throw notFound(plan.model)
  return { result: { row: after[0] as Row }, affected: 1, after }
}

/**
 * The most rows an update or delete may change: maxAffectedRows, and never more than the distinct keys it names.
 * A primary key names one row, except on a table with inheritance children, which do not inherit it: there
 * `update … where id = 1` also changes every child row with id 1, and a single update reported one row while it
 * changed several (red team, marketplace schema). Such a write is refused and rolled back, like one over budget.
 */
function affectedRowsLimit(plan: UpdatePlan | DeletePlan): number {
  return Math.min(plan.maxAffectedRows, plan.targets.length)
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
