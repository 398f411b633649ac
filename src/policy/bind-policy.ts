/**
 * `bindPolicy` (docs/contract.md §3): validates a Policy against the live schema and attaches what the planner needs
 * (the table, every column with its effective rule, the primary key, relations resolved to foreign keys).
 * Every problem is collected and reported as one POLICY_INVALID naming model and key path; a policy that
 * binds is safe to plan against without further schema lookups.
 */
import { policyInvalid, type PolicyProblem } from '../errors/index.ts'
import { canonicalText, type DbSchema, type TableInfo, findColumn } from '../schema/index.ts'
import { referencedFields } from './condition/evaluate-condition.ts'
import { conditionLiteralProblems } from './condition-literal-problems.ts'
import { deepFreeze } from './deep-freeze.ts'
import { didYouMean } from './did-you-mean.ts'
import { privilegeProblems } from './privilege-problems.ts'
import { columnMaskRule } from './field-transforms.ts'
import { problemPath, type PathSegment } from './problem-path.ts'
import { resolveRelation } from './resolve-relation.ts'
import { isTesseraOwnTable, ownTableMessage } from './tessera-tables.ts'
import { looseTenantColumnProblems } from './loose-tenant-column-problems.ts'
import { reservedNameProblems } from './reserved-name-problems.ts'
import { TENANT_LIKE_COLUMNS, tenantColumnsOf, tenantLikeColumnsOf, tenantPinsOf } from './tenant-pins.ts'

export { TENANT_LIKE_COLUMNS }
import { derivedValueProblems } from './derived-value-problems.ts'
import { referenceProblems, uniqueKeyProblems, type OracleCheckContext } from './write-oracle-problems.ts'
import type {
  BoundField,
  BoundModel,
  BoundPolicy,
  BoundRelation,
  FieldRule,
  ModelPolicy,
  Policy,
} from './types.ts'

export function bindPolicy(policy: Policy, schema: DbSchema): BoundPolicy {
  const problems: PolicyProblem[] = []
  // A private copy: the bound policy is frozen, and freezing must not reach into the caller's object.
  const snapshot = structuredClone(schema) as DbSchema
  const tables = new Map<string, TableInfo>()
  for (const model of Object.values(policy.models)) {
    if (isTesseraOwnTable(tableKeyOf(model.table))) {
      problems.push({ path: at(model, 'table'), message: ownTableMessage(tableKeyOf(model.table)) })
      continue
    }
    const table = lookupTable(snapshot, model.table)
    if (!table) {
      problems.push({ path: at(model, 'table'), message: missingTableMessage(snapshot, model.table) })
      continue
    }
    tables.set(model.name, table)
    if (table.primaryKey.length === 0) {
      problems.push({
        path: at(model, 'table'),
        message: `table '${table.key}' has no primary key; one is needed for pagination and get`,
      })
    }
    if (table.inheritanceChildren === true) {
      // An update or delete names its rows by primary key, which the children do not inherit: `where id = 1`
      // also reaches every child row with id 1, and a write said to change one row changed several (red team,
      // marketplace schema). Reads list the children's rows as the table's own, as PostgreSQL does.
      for (const operation of ['update', 'delete'] as const) {
        if (model.write[operation] === 'deny') continue
        problems.push({
          path: at(model, 'write', operation),
          message:
            `table '${table.key}' has inheritance children, which do not inherit its primary key, so one key ` +
            `can name several rows; ${operation} is allowed only on a table without them (model the child tables, ` +
            `or set ${operation}: deny)`,
        })
      }
    }
    checkModel(model, table, problems)
    problems.push(...reservedNameProblems(model, table, effectiveRule, (...rest) => at(model, ...rest)))
    problems.push(...looseTenantColumnProblems(model, table, (...rest) => at(model, ...rest)))
    problems.push(...privilegeProblems(model, table, snapshot.role, (...rest) => at(model, ...rest)))
  }

  const relations = new Map<string, Record<string, BoundRelation>>()
  for (const model of Object.values(policy.models)) {
    const table = tables.get(model.name)
    if (table) relations.set(model.name, bindRelations(model, table, tables, problems))
  }

  // Rows are addressed (get, update, delete, cursors) and joined (includes) by key columns. A key that is not
  // plainly readable would be an oracle: `get` by a guessed hidden id answers found / not found, and an include
  // over a denied foreign key hands out the hidden value as the included row's key.
  for (const model of Object.values(policy.models)) {
    const table = tables.get(model.name)
    if (!table) continue
    for (const column of table.primaryKey) {
      if (effectiveRule(model, column).action !== 'allow') {
        problems.push({
          path: at(model, 'fields', column),
          message: `primary key column '${column}' must be 'allow': rows are addressed by it`,
        })
      }
    }
    // A scoped column is exempt: its value on every visible row is the caller's own (e.g. the tenant_id half of
    // a composite (tenant_id, order_id) foreign key), so joining on it reveals nothing — but only while no
    // permissive rule (bypass included) can make another tenant's row visible: on such a row the scoped column
    // holds a foreign value, and an include would hand it out as the included row's key.
    const joinable = (m: ModelPolicy, column: string): boolean =>
      effectiveRule(m, column).action === 'allow' ||
      (m.scoping.some((s) => s.column === column) && !m.rowPolicies.some((r) => r.mode === 'permissive'))
    for (const relation of Object.values(relations.get(model.name) ?? {})) {
      const target = policy.models[relation.target]
      for (const pair of relation.pairs) {
        if (!joinable(model, pair.local)) {
          problems.push({
            path: at(model, 'relations', relation.name),
            message: `relation '${relation.name}' joins on '${pair.local}', which is not 'allow' on ${model.name}`,
          })
        }
        if (target && !joinable(target, pair.remote)) {
          problems.push({
            path: at(model, 'relations', relation.name),
            message: `relation '${relation.name}' joins on '${pair.remote}', which is not 'allow' on ${target.name}`,
          })
        }
      }
    }
  }

  for (const model of Object.values(policy.models)) {
    const table = tables.get(model.name)
    if (table) checkCascades(model, table, problems)
  }

  const oracle: OracleCheckContext = {
    rule: effectiveRule,
    at,
    tenantColumns: tenantColumnsOf,
    models: Object.values(policy.models),
    tables,
  }
  for (const model of Object.values(policy.models)) {
    const table = tables.get(model.name)
    if (!table) continue
    problems.push(...uniqueKeyProblems(model, table, oracle))
    problems.push(...referenceProblems(model, table, oracle, relations.get(model.name) ?? {}))
    problems.push(...derivedValueProblems(model, table, oracle))
  }

  if (problems.length > 0) throw policyInvalid(problems)

  const models: Record<string, BoundModel> = {}
  for (const model of Object.values(policy.models)) {
    const table = tables.get(model.name)
    if (!table) continue // unreachable: a missing table is a problem above
    const fields: Record<string, BoundField> = {}
    const tenantColumns = new Set(tenantColumnsOf(model, table))
    for (const column of [...table.columns].sort((a, b) => a.ordinal - b.ordinal)) {
      const rule = columnMaskRule(effectiveRule(model, column.name), column)
      const tenantText = tenantColumns.has(column.name) ? (canonicalText(column.typeClass) ?? null) : null
      fields[column.name] = { name: column.name, column, rule, tenantText }
    }
    models[model.name] = {
      name: model.name,
      policy: model,
      table,
      fields,
      primaryKey: table.primaryKey,
      relations: relations.get(model.name) ?? {},
      tenantPins: tenantPinsOf(model, table),
    }
  }
  return deepFreeze({ policy, schema: snapshot, models })
}

/**
 * A hard delete (or a key update) of a row that other tables reference with ON DELETE/UPDATE CASCADE, SET NULL
 * or SET DEFAULT changes those rows too — rows of any tenant, which no scope of this policy covers. Such a
 * write is refused at load: delete softly, or deny the operation.
 */
function checkCascades(model: ModelPolicy, table: TableInfo, problems: PolicyProblem[]): void {
  const w = model.write
  const hardDelete = w.delete !== 'deny' && (w.softDelete === null || w.allowHardDelete)
  const updatable = (column: string): boolean =>
    w.update !== 'deny' &&
    effectiveRule(model, column).action === 'allow' &&
    !table.primaryKey.includes(column) &&
    !w.immutableFields.includes(column) &&
    !Object.hasOwn(w.autoSet, column)
  for (const ref of table.cascadingReferences) {
    if (hardDelete && ref.onDelete !== null) {
      problems.push({
        path: at(model, 'write', 'delete'),
        message:
          `table '${table.key}' is referenced by '${ref.fromTable}' (${ref.name}) with ON DELETE ` +
          `${ref.onDelete.replace('_', ' ').toUpperCase()}: a hard delete would change rows outside the caller's scope; ` +
          'use softDelete or deny delete',
      })
    }
    const changed = ref.referencedColumns.filter(updatable)
    if (ref.onUpdate !== null && changed.length > 0) {
      problems.push({
        path: at(model, 'write', 'update'),
        message:
          `column '${changed.join("', '")}' is referenced by '${ref.fromTable}' (${ref.name}) with ON UPDATE ` +
          `${ref.onUpdate.replace('_', ' ').toUpperCase()}: updating it would change rows outside the caller's scope; ` +
          'make it immutable or deny update',
      })
    }
  }
}

/** `orders`, `public.orders` and `billing.invoices` → the `DbSchema.tables` key. */
function lookupTable(schema: DbSchema, name: string): TableInfo | undefined {
  const key = tableKeyOf(name)
  return Object.hasOwn(schema.tables, key) ? schema.tables[key] : undefined
}

function tableKeyOf(name: string): string {
  return name.startsWith('public.') ? name.slice('public.'.length) : name
}

/** A table that exists but the role may not read is named as such: "unknown" would send the author hunting typos. */
function missingTableMessage(schema: DbSchema, name: string): string {
  const key = tableKeyOf(name)
  if (schema.unreadableTables?.includes(key)) {
    const who = schema.role === undefined ? 'the role' : `role '${schema.role}'`
    const qualified = key.includes('.') ? key : `public.${key}`
    return (
      `${who} cannot SELECT table '${key}' (it exists): ` +
      `GRANT SELECT ON ${qualified} TO ${schema.role ?? '<role>'} (and USAGE on its schema)`
    )
  }
  return `unknown table '${name}'${didYouMean(key, Object.keys(schema.tables))}`
}

function effectiveRule(model: ModelPolicy, column: string): FieldRule {
  return Object.hasOwn(model.fields, column)
    ? (model.fields[column] ?? { action: model.defaultFieldAction })
    : { action: model.defaultFieldAction }
}

function at(model: ModelPolicy, ...rest: PathSegment[]): string {
  return problemPath(['models', model.name, ...rest])
}

function checkModel(model: ModelPolicy, table: TableInfo, problems: PolicyProblem[]): void {
  const report = (path: string, message: string): void => {
    problems.push({ path, message })
  }
  const unknown = (column: string): string =>
    `unknown column '${column}' on table '${table.key}'${didYouMean(
      column,
      table.columns.map((c) => c.name),
    )}`
  const requireColumn = (column: string, path: string): boolean => {
    if (findColumn(table, column)) return true
    report(path, unknown(column))
    return false
  }

  for (const field of Object.keys(model.fields)) requireColumn(field, at(model, 'fields', field))
  for (const scope of model.scoping) requireColumn(scope.column, at(model, 'scoping', scope.column))
  ;(model.unscopedColumns ?? []).forEach((column, i) =>
    requireColumn(column, at(model, 'unscopedColumns', i)),
  )

  const permissiveFields = new Set<string>()
  model.rowPolicies.forEach((rule, i) => {
    const path = at(model, 'rowPolicies', i, 'condition')
    const fields = [...referencedFields(rule.condition)]
    if (rule.mode === 'permissive' && !rule.bypass) for (const f of fields) permissiveFields.add(f)
    let known = true
    for (const field of fields) {
      if (!findColumn(table, field)) {
        report(path, `row policy '${rule.name}' references ${unknown(field)}`)
        known = false
      } else if (effectiveRule(model, field).action === 'deny') {
        report(
          path,
          `row policy '${rule.name}' references field '${field}', which the policy denies; ` +
            'allow the field or change the condition',
        )
      }
    }
    if (known) {
      for (const message of conditionLiteralProblems(rule.condition, table)) {
        report(path, `row policy '${rule.name}' ${message}`)
      }
    }
  })

  for (const key of ['fields', 'groupBy'] as const) {
    model.aggregations[key].forEach((field, i) => {
      const path = at(model, 'aggregations', key, i)
      if (!requireColumn(field, path)) return
      const action = effectiveRule(model, field).action
      if (action !== 'allow') {
        report(
          path,
          `'${field}' is ${pastTense(action)}; only allowed fields can be aggregated or grouped by`,
        )
      }
    })
  }

  checkWrite(model, table, problems, requireColumn)

  if (!model.shared) {
    const scoped = new Set(model.scoping.map((s) => s.column))
    const waived = new Set(model.unscopedColumns ?? [])
    for (const column of tenantLikeColumnsOf(table)) {
      if (scoped.has(column) || permissiveFields.has(column) || waived.has(column)) {
        continue
      }
      report(
        at(model, 'scoping'),
        `model '${model.name}' has tenant-like column '${column}' that is neither scoped nor used by a ` +
          `permissive row policy; scope it, list it in unscopedColumns if it is not a tenant boundary, ` +
          `or mark the model shared: true`,
      )
    }
  }
}

function checkWrite(
  model: ModelPolicy,
  table: TableInfo,
  problems: PolicyProblem[],
  requireColumn: (column: string, path: string) => boolean,
): void {
  const write = model.write
  const report = (path: string, message: string): void => {
    problems.push({ path, message })
  }
  for (const [column, value] of Object.entries(write.autoSet)) {
    const path = at(model, 'write', 'autoSet', column)
    if (!requireColumn(column, path)) continue
    const info = findColumn(table, column)
    if (info?.generated) report(path, `column '${column}' is generated and cannot be set`)
    if (value.kind === 'now' && info?.typeClass !== 'timestamp') {
      report(path, `now() can only set a timestamp column; '${column}' is ${info?.dataType ?? 'unknown'}`)
    }
  }
  write.immutableFields.forEach((field, i) => requireColumn(field, at(model, 'write', 'immutableFields', i)))
  write.requiredFields.forEach((field, i) => {
    const path = at(model, 'write', 'requiredFields', i)
    if (!requireColumn(field, path)) return
    if (findColumn(table, field)?.generated)
      report(path, `column '${field}' is generated and cannot be required`)
    if (effectiveRule(model, field).action === 'deny') {
      report(path, `required field '${field}' is denied, so no caller could ever supply it`)
    }
  })
  if (write.softDelete) {
    const path = at(model, 'write', 'softDelete', 'field')
    const field = write.softDelete.field
    if (requireColumn(field, path)) {
      const info = findColumn(table, field)
      if (info && (info.typeClass !== 'timestamp' || !info.nullable)) {
        report(path, `soft-delete field '${field}' must be a nullable timestamp column (NULL = not deleted)`)
      }
    }
  }
}

function bindRelations(
  model: ModelPolicy,
  table: TableInfo,
  tables: ReadonlyMap<string, TableInfo>,
  problems: PolicyProblem[],
): Record<string, BoundRelation> {
  const out: Record<string, BoundRelation> = {}
  for (const [name, relation] of Object.entries(model.relations)) {
    const target = tables.get(relation.model)
    if (!target) continue // the target's unknown table is reported on the target model
    const result = resolveRelation(table, target, relation.foreignKey)
    if (!result.ok) {
      problems.push({ path: at(model, 'relations', name), message: `relation '${name}': ${result.message}` })
      continue
    }
    out[name] = { name, target: relation.model, cardinality: result.cardinality, pairs: result.pairs }
  }
  return out
}

function pastTense(action: FieldRule['action']): string {
  switch (action) {
    case 'allow':
      return 'allowed'
    case 'deny':
      return 'denied'
    case 'mask':
      return 'masked'
    case 'hash':
      return 'hashed'
    default: {
      const unhandled: never = action
      return String(unhandled)
    }
  }
}
