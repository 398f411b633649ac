/**
 * Planner for the write tools: (request, bound policy, principal) → WritePlan. Every rule that needs no
 * database is decided here, before any SQL: the operation's mode, which fields `data` may carry, values against
 * column types, autoSet values from the principal, required fields, the reason, the bulk limit, soft or hard
 * delete, and which foreign keys must point at rows the caller can see. No connection, no SQL.
 */
import type { Principal } from '../context/index.ts'
import {
  TesseraError,
  isTesseraError,
  tenantScopeRequired,
  validationError,
  writeDisabled,
} from '../errors/index.ts'
import {
  type PrincipalPath,
  evaluateCondition,
  referencedFields,
  formatPrincipalPath,
  resolvePrincipalPath,
  type BoundModel,
  type BoundPolicy,
} from '../policy/index.ts'
import { findColumn, type ColumnInfo, type ForeignKeyInfo } from '../schema/index.ts'
import { modelFor, newSelectAccumulator, planSelectedFields } from './plan-select.ts'
import { planVisibility } from './plan-visibility.ts'
import type { SelectPlan, VisibilityPlan } from './query-plan.ts'
import {
  coerceFilterValue,
  coerceWriteValue,
  type WriteData,
  type WriteId,
  type WriteRequest,
  visibleLetterCount,
} from '../request/index.ts'
import { writableField, writeFieldProblem, type WriteFieldUsage } from './write-field-access.ts'
import { withTenantPins, writeModelOf } from './write-grant.ts'
import { writeCheckColumns } from './write-check.ts'
import { sqlDecidesWriteCheck } from './sql-decides-write-check.ts'
import type {
  ColumnWrite,
  CreatePlan,
  DeletePlan,
  ForeignKeyCheck,
  KeyValue,
  PolicyWriteOperation,
  ReferenceTarget,
  UpdatePlan,
  WriteOperation,
  WritePlan,
} from './write-plan.ts'

type Base = Omit<CreatePlan, 'kind' | 'writes' | 'knownRow' | 'foreignKeys'>

export function policyOperation(operation: WriteOperation): PolicyWriteOperation {
  return operation === 'bulkUpdate' ? 'update' : operation
}

export function maxAffectedRowsExceeded(maxRows: number, affectedRows: number): TesseraError {
  return new TesseraError(
    'MAX_AFFECTED_ROWS_EXCEEDED',
    `The write would change ${affectedRows} records; at most ${maxRows} may change in one call`,
    { hints: ['Split the write into smaller calls'], details: { maxRows, affectedRows } },
  )
}

export function planWrite(bound: BoundPolicy, principal: Principal, request: WriteRequest): WritePlan {
  const model = modelFor(bound, request.model)
  const write = model.policy.write
  const operation = policyOperation(request.kind)
  const mode = write[operation]
  if (mode === 'deny') throw writeDisabled(model.name, operation)
  // Permissive rules grant a write only through their caller-dependent part (write-grant.ts): otherwise
  // `is_public = true` would let A update, delete or create B's public rows on a model without scoping.
  // Every tenant-like column must hold the caller's own value whichever rule grants the write (tenant-pins.ts).
  const visibility = withTenantPins(planVisibility(writeModelOf(model), principal), model, principal)
  const base: Base = {
    operation: request.kind,
    mode,
    model: model.name,
    table: { schema: model.table.schema, name: model.table.name },
    primaryKey: model.primaryKey,
    visibility,
    returning: returningPlan(model, visibility),
    checkColumns: [],
    reason: request.reason ?? null,
    maxAffectedRows: write.maxAffectedRows,
    maxResultBytes: model.policy.budget.maxResultBytes,
    statementTimeoutMs: model.policy.budget.statementTimeoutMs,
  }
  switch (request.kind) {
    case 'create':
      return planCreate(bound, model, principal, request.data, checkReason(model, base))
    case 'update':
      return planUpdate(bound, model, principal, [request.id], request.data, false, checkReason(model, base))
    case 'bulkUpdate':
      if (request.ids.length > write.maxAffectedRows) {
        throw maxAffectedRowsExceeded(write.maxAffectedRows, request.ids.length)
      }
      return planUpdate(bound, model, principal, request.ids, request.data, true, checkReason(model, base))
    case 'delete':
      return planDelete(model, request.id, request.hard, checkReason(model, base))
    default: {
      const never: never = request
      throw new Error(`unhandled write request ${String(never)}`)
    }
  }
}

/**
 * A reason must say something to whoever reads the audit: at least `reasonMinCharacters` (default 3) visible
 * letters or digits. A negative rule ("not only blanks") let invisible letters through — Hangul fillers are
 * letters, the braille blank is a symbol — so only what renders as a letter or digit counts.
 */
function checkReason(model: BoundModel, base: Base): Base {
  const write = model.policy.write
  if (!write.requireReason) return base
  const minimum = write.reasonMinCharacters
  if (base.reason === null || visibleLetterCount(base.reason) < minimum) {
    throw validationError(`A reason is required to change ${model.name}`, [
      {
        path: 'reason',
        message: `required by the policy for this model: at least ${minimum} visible letters or digits`,
      },
    ])
  }
  return base
}

function planCreate(
  bound: BoundPolicy,
  model: BoundModel,
  principal: Principal,
  data: WriteData,
  base: Base,
): CreatePlan {
  const write = model.policy.write
  const { writes, values } = planData(model, data, 'create')
  // Object.assign, not a spread: members added after a spread cost V8 a new hidden class each (see below).
  const knownRow: Record<string, unknown> = Object.assign({}, values)
  const now = new Date()
  for (const [column, auto] of Object.entries(write.autoSet)) {
    if (auto.kind === 'now') {
      writes.push({ column, value: { kind: 'now' } })
      knownRow[column] = now
    } else {
      const value = autoSetValue(columnOf(model, column), auto.path, principal)
      writes.push({ column, value: { kind: 'param', value } })
      knownRow[column] = value
    }
  }
  // A column the database has no default for is NULL unless written: known before the insert.
  for (const field of Object.values(model.fields)) {
    if (!Object.hasOwn(knownRow, field.name) && !field.column.hasDefault) knownRow[field.name] = null
  }
  const missing = new Set<string>()
  for (const name of write.requiredFields) if ((knownRow[name] ?? null) === null) missing.add(name)
  for (const field of Object.values(model.fields)) {
    const absent = Object.hasOwn(knownRow, field.name) && knownRow[field.name] === null
    if (absent && !field.column.nullable && writeFieldProblem(model, field.name, 'create') === null)
      missing.add(field.name)
  }
  throwMissing(missing)
  // Every member written out, in Base's order: `{ ...base, kind, … }` costs ~20 µs per plan on Node 20, where
  // each member added after a spread makes V8 build a new hidden class (bench/README.md, "Writes: CPU per call").
  return {
    operation: base.operation,
    mode: base.mode,
    model: base.model,
    table: base.table,
    primaryKey: base.primaryKey,
    visibility: base.visibility,
    returning: base.returning,
    checkColumns: checkColumnsOf(model, base.visibility, []),
    reason: base.reason,
    maxAffectedRows: base.maxAffectedRows,
    maxResultBytes: base.maxResultBytes,
    statementTimeoutMs: base.statementTimeoutMs,
    kind: 'create',
    writes,
    knownRow,
    foreignKeys: foreignKeyChecks(bound, model, principal, base.visibility, new Set(Object.keys(data))),
  }
}

function planUpdate(
  bound: BoundPolicy,
  model: BoundModel,
  principal: Principal,
  ids: readonly WriteId[],
  data: WriteData,
  bulk: boolean,
  base: Base,
): UpdatePlan {
  const targets = distinctKeys(model, ids, bulk ? 'ids' : 'id')
  const { writes, values } = planData(model, data, 'update')
  const missing = new Set(
    model.policy.write.requiredFields.filter((name) => Object.hasOwn(values, name) && values[name] === null),
  )
  throwMissing(missing)
  const foreignKeys = foreignKeyChecks(bound, model, principal, base.visibility, new Set(Object.keys(data)))
  return {
    operation: base.operation,
    mode: base.mode,
    model: base.model,
    table: base.table,
    primaryKey: base.primaryKey,
    visibility: base.visibility,
    returning: base.returning,
    checkColumns: checkColumnsOf(model, base.visibility, foreignKeys),
    reason: base.reason,
    maxAffectedRows: base.maxAffectedRows,
    maxResultBytes: base.maxResultBytes,
    statementTimeoutMs: base.statementTimeoutMs,
    kind: 'update',
    bulk,
    targets,
    writes,
    data: values,
    foreignKeys,
    checkDecidedInSql: sqlDecidesWriteCheck(base.visibility, new Set(Object.keys(values)), (name) =>
      findColumn(model.table, name),
    ),
  }
}

function planDelete(model: BoundModel, id: WriteId, hard: boolean, base: Base): DeletePlan {
  const write = model.policy.write
  if (hard && write.softDelete !== null && !write.allowHardDelete) {
    throw validationError(`Records of ${model.name} can only be soft-deleted`, [
      { path: 'hard', message: 'the policy does not allow hard deletes on this model' },
    ])
  }
  return {
    operation: base.operation,
    mode: base.mode,
    model: base.model,
    table: base.table,
    primaryKey: base.primaryKey,
    visibility: base.visibility,
    returning: base.returning,
    checkColumns: checkColumnsOf(model, base.visibility, []),
    reason: base.reason,
    maxAffectedRows: base.maxAffectedRows,
    maxResultBytes: base.maxResultBytes,
    statementTimeoutMs: base.statementTimeoutMs,
    kind: 'delete',
    targets: distinctKeys(model, [id], 'id'),
    softDeleteColumn: hard ? null : (write.softDelete?.field ?? null),
  }
}

function planData(
  model: BoundModel,
  data: WriteData,
  usage: WriteFieldUsage,
): { writes: ColumnWrite[]; values: Record<string, unknown> } {
  const writes: ColumnWrite[] = []
  const values: Record<string, unknown> = {}
  for (const [name, raw] of Object.entries(data)) {
    const path = `data.${name}`
    const field = writableField(model, name, usage, path)
    const value = coerceWriteValue(field.column, raw, path)
    writes.push({ column: name, value: { kind: 'param', value } })
    values[name] = value
  }
  return { writes, values }
}

function throwMissing(missing: ReadonlySet<string>): void {
  if (missing.size === 0) return
  const names = [...missing]
  throw validationError(
    `Missing required field${names.length === 1 ? '' : 's'}: ${names.join(', ')}`,
    names.map((name) => ({ path: `data.${name}`, message: 'required' })),
  )
}

/** An autoSet value from the principal; a path that does not resolve or does not fit the column fails closed. */
function autoSetValue(column: ColumnInfo, path: PrincipalPath, principal: Principal): unknown {
  const source = formatPrincipalPath(path)
  const resolved = resolvePrincipalPath(principal, path)
  const value = resolved.found ? resolved.value : undefined
  if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') {
    throw tenantScopeRequired(source)
  }
  try {
    return coerceWriteValue(column, value, source)
  } catch {
    throw tenantScopeRequired(source)
  }
}

/**
 * Whether every value `create` takes from the principal (autoSet) resolves and fits its column for this
 * principal. describe_schema and tools(ctx) offer `create` only where it does, through the same autoSetValue
 * planCreate uses, so the two cannot disagree (they offered create to a principal lacking, say, userId, and the
 * call then failed with TENANT_SCOPE_REQUIRED).
 */
export function createAutoSetResolves(model: BoundModel, principal: Principal): boolean {
  try {
    for (const [column, auto] of Object.entries(model.policy.write.autoSet)) {
      if (auto.kind === 'principal') autoSetValue(columnOf(model, column), auto.path, principal)
    }
    return true
  } catch (error) {
    if (isTesseraError(error)) return false
    throw error
  }
}

function columnOf(model: BoundModel, name: string): ColumnInfo {
  const field = Object.hasOwn(model.fields, name) ? model.fields[name] : undefined
  if (!field) throw new TesseraError('INTERNAL_ERROR', 'Internal error') // bindPolicy checked every autoSet column
  return field.column
}

/** Ids → distinct primary-key values, coerced to the key's column types (request order kept). */
function distinctKeys(model: BoundModel, ids: readonly WriteId[], path: string): KeyValue[] {
  const pk = model.primaryKey
  const seen = new Set<string>()
  const keys: KeyValue[] = []
  ids.forEach((id, i) => {
    const at = path === 'ids' ? `ids[${i}]` : path
    const values: Record<string, unknown> =
      typeof id === 'object' ? { ...id } : pk.length === 1 ? { [pk[0] as string]: id } : {}
    const fits = pk.length === Object.keys(values).length && pk.every((k) => Object.hasOwn(values, k))
    if (!fits) {
      throw validationError(
        `The id of ${model.name} is ${pk.length === 1 ? 'a single value' : `an object with ${pk.join(', ')}`}`,
        [{ path: at, message: 'does not match the primary key' }],
      )
    }
    const key: Record<string, unknown> = {}
    for (const column of pk) {
      const info = columnOf(model, column)
      const value = coerceFilterValue(info, 'eq', values[column], at)
      key[column] = info.typeClass === 'uuid' && typeof value === 'string' ? value.toLowerCase() : value
    }
    // One id (every update but a bulk one) has nothing to be distinct from.
    if (ids.length > 1) {
      const text = JSON.stringify(pk.map((column) => key[column]))
      if (seen.has(text)) return
      seen.add(text)
    }
    keys.push(Object.freeze(key))
  })
  return keys
}

/**
 * Every foreign key of the table with a (non-scoped) column in `data`. The referenced row is looked up through the model
 * the relation names, or else through every model over the referenced table, each with its OWN visibility;
 * a table no usable model covers leaves `targets` empty, which refuses any non-null reference (fail closed).
 */
function foreignKeyChecks(
  bound: BoundPolicy,
  model: BoundModel,
  principal: Principal,
  visibility: VisibilityPlan,
  dataColumns: ReadonlySet<string>,
): ForeignKeyCheck[] {
  // A scoped column's value must equal the principal's own (WITH CHECK, checked first): it references the
  // caller's own tenant, which needs no model to vouch for it — just like an autoSet value.
  const scoped = new Set(visibility.scopes.map((s) => s.column))
  const checks: ForeignKeyCheck[] = []
  for (const fk of model.table.foreignKeys) {
    const field = fk.columns.find((c) => dataColumns.has(c) && !scoped.has(c))
    if (field === undefined) continue
    const relation = Object.values(model.relations).find(
      (r) => r.cardinality === 'one' && samePairs(r.pairs, fk),
    )
    const candidates = relation
      ? [bound.models[relation.target]].filter((m): m is BoundModel => m !== undefined)
      : Object.values(bound.models).filter(
          (m) => m.table.schema === fk.referencedSchema && m.table.name === fk.referencedTable,
        )
    const targets: ReferenceTarget[] = []
    for (const candidate of candidates) {
      const visibility = visibilityOrNull(candidate, principal)
      if (visibility) targets.push({ model: candidate.name, visibility })
    }
    checks.push({
      field,
      columns: fk.columns,
      table: { schema: fk.referencedSchema, name: fk.referencedTable },
      remoteColumns: fk.referencedColumns,
      targets,
    })
  }
  return checks
}

/**
 * A model whose scope or row-policy principal values this principal cannot resolve shows no row, so it vouches
 * for no reference. evaluateCondition visits every node, so it throws for an unresolved path whatever the row.
 */
function visibilityOrNull(model: BoundModel, principal: Principal): VisibilityPlan | null {
  try {
    const visibility = planVisibility(model, principal)
    for (const rule of [...visibility.permissive, ...visibility.restrictive]) {
      const nulls = Object.fromEntries(referencedFields(rule.condition).map((f) => [f, null]))
      evaluateCondition(rule.condition, nulls, principal)
    }
    return visibility
  } catch (error) {
    if (isTesseraError(error)) return null
    throw error
  }
}

function samePairs(pairs: readonly { local: string; remote: string }[], fk: ForeignKeyInfo): boolean {
  return (
    pairs.length === fk.columns.length &&
    pairs.every((p) => fk.columns.some((c, i) => c === p.local && fk.referencedColumns[i] === p.remote))
  )
}

function checkColumnsOf(
  model: BoundModel,
  visibility: VisibilityPlan,
  foreignKeys: readonly ForeignKeyCheck[],
): string[] {
  const columns = new Set<string>([...model.primaryKey, ...writeCheckColumns(visibility)])
  for (const fk of foreignKeys) for (const c of fk.columns) columns.add(c)
  return [...columns]
}

function returningPlan(model: BoundModel, visibility: VisibilityPlan): SelectPlan {
  const acc = newSelectAccumulator(model.policy.budget)
  return {
    model: model.name,
    table: { schema: model.table.schema, name: model.table.name },
    fields: planSelectedFields(model, undefined, acc),
    visibility,
    filter: null,
    orderBy: [],
    fetchLimit: 1,
    includes: [],
  }
}
