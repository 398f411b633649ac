/**
 * Load-time checks that the field policy is not undone by a value the database derives from a hidden column
 * (red team, freight schema):
 * - a stored generated column is a function of the columns its expression reads: `value_per_kg =
 *   declared_value / weight_kg` readable in clear gives back a masked `declared_value` (times `weight_kg`), and
 *   any readable form of one computed from a denied column tells something the policy says nobody sees;
 * - a CHECK constraint that reads a column the caller may update and a hidden column answers every guessed
 *   value with success or "breaks a rule of the table": `check (insured_value <= declared_value)` lets a binary
 *   search over `insured_value` recover each row's masked `declared_value`. A create compares only what the
 *   caller sent with defaults, so only updates count.
 * Both are refused when the policy binds, with the column they would reveal and the fix, like the unique-key
 * and foreign-key oracles (write-oracle-problems.ts).
 */
import type { PolicyProblem } from '../errors/index.ts'
import { findColumn, type TableInfo } from '../schema/index.ts'
import type { FieldAction } from './policy-schema.ts'
import type { FieldRule, ModelPolicy } from './types.ts'
import { callerWritable, type OracleCheckContext } from './write-oracle-problems.ts'

/** A whole-row reference in a CHECK constraint (schema/read-column-dependencies.ts): every column. */
const EVERY_COLUMN = '*'

const HIDDEN_AS: Readonly<Record<Exclude<FieldAction, 'allow'>, string>> = {
  deny: 'denied',
  mask: 'masked',
  hash: 'hashed',
}

/**
 * The action that decides how much of `column` a caller may learn. A scoped column holds the caller's own
 * value on every row it can see — unless a permissive rule shows other tenants' rows (as for join columns in
 * bind-policy.ts) — so it hides nothing a derived value could reveal.
 */
function exposure(model: ModelPolicy, column: string, rule: FieldRule): FieldAction {
  const ownValue =
    model.scoping.some((s) => s.column === column) && !model.rowPolicies.some((r) => r.mode === 'permissive')
  return ownValue ? 'allow' : rule.action
}

export function derivedValueProblems(
  model: ModelPolicy,
  table: TableInfo,
  ctx: OracleCheckContext,
): PolicyProblem[] {
  return [
    ...generatedColumnProblems(model, table, ctx),
    ...checkConstraintProblems(model, table, ctx),
    ...generatedReferenceProblems(model, table, ctx),
  ]
}

/**
 * A foreign key over a generated column is checked by the database alone: the planner checks that a referenced
 * row is visible only for keys whose columns the write sets, and a generated column's value exists only once the
 * row does. Foreign-key checks ignore row visibility (docs/threats.md fact 6), so writing the column it is
 * computed from would answer whether a guessed row of another tenant exists. Refused unless every model over the
 * referenced table is shared (its rows are everyone's).
 */
function generatedReferenceProblems(
  model: ModelPolicy,
  table: TableInfo,
  ctx: OracleCheckContext,
): PolicyProblem[] {
  const problems: PolicyProblem[] = []
  for (const fk of table.foreignKeys) {
    const generated = fk.columns.filter((c) => findColumn(table, c)?.computedFrom !== undefined)
    if (generated.length === 0) continue
    const targets = ctx.models.filter((m) => {
      const t = ctx.tables.get(m.name)
      return t !== undefined && t.schema === fk.referencedSchema && t.name === fk.referencedTable
    })
    // Rows of a shared model are everyone's; a key that pairs each of the target's scoped columns with this
    // model's column scoped on the same claim can only reach the caller's own tenant.
    const ownTenant = (m: ModelPolicy): boolean =>
      m.scoping.length > 0 &&
      m.scoping.every((s) => {
        const local = fk.columns[fk.referencedColumns.indexOf(s.column)]
        return model.scoping.some((own) => own.column === local && own.path.join('.') === s.path.join('.'))
      })
    if (targets.length > 0 && targets.every((m) => m.shared || ownTenant(m))) continue
    const sources = [...new Set(generated.flatMap((c) => findColumn(table, c)?.computedFrom ?? []))]
    const written = sources.filter((c) =>
      (['create', 'update'] as const).some((u) => callerWritable(model, table, c, u, ctx.rule(model, c))),
    )
    for (const column of written) {
      problems.push({
        path: ctx.at(model, 'fields', column),
        message:
          `field '${column}' is writable and generated column '${generated.join("', '")}' computed from it is a ` +
          `foreign key (${fk.name}) that only the database checks, ignoring row visibility: a write would reveal ` +
          `whether a guessed row of ${fk.referencedSchema}.${fk.referencedTable} exists; make the field not ` +
          `writable or reference the table through a column the write sets`,
      })
    }
  }
  return problems
}

function generatedColumnProblems(
  model: ModelPolicy,
  table: TableInfo,
  ctx: OracleCheckContext,
): PolicyProblem[] {
  const problems: PolicyProblem[] = []
  for (const column of table.columns) {
    const shown = ctx.rule(model, column.name).action
    if (column.computedFrom === undefined || shown === 'deny') continue
    for (const source of column.computedFrom) {
      const hidden = exposure(model, source, ctx.rule(model, source))
      if (hidden === 'allow' || (hidden !== 'deny' && shown !== 'allow')) continue
      const fix = hidden === 'deny' ? `deny '${column.name}'` : `deny or ${hidden} '${column.name}'`
      problems.push({
        path: ctx.at(model, 'fields', column.name),
        message:
          `generated column '${column.name}' is computed from '${source}', which is ${HIDDEN_AS[hidden]}: ` +
          `reading '${column.name}' would reveal it; ${fix}`,
      })
    }
  }
  return problems
}

function checkConstraintProblems(
  model: ModelPolicy,
  table: TableInfo,
  ctx: OracleCheckContext,
): PolicyProblem[] {
  const problems: PolicyProblem[] = []
  // Updates reach only rows that are not soft-deleted: that column's value is known (NULL) to every update.
  const softDelete = model.write.softDelete?.field
  for (const check of table.checks ?? []) {
    // A generated column in the check reads its own inputs: `check (value_per_kg < 100)` compares weight_kg
    // (updatable) with declared_value (hidden) as much as naming both would.
    const named = check.columns.includes(EVERY_COLUMN) ? table.columns.map((c) => c.name) : check.columns
    const columns = [
      ...new Set(named.flatMap((c) => [c, ...(table.columns.find((x) => x.name === c)?.computedFrom ?? [])])),
    ]
    const updated = columns.filter((c) => callerWritable(model, table, c, 'update', ctx.rule(model, c)))
    for (const column of updated) {
      const hidden = columns.filter(
        (c) => c !== column && c !== softDelete && exposure(model, c, ctx.rule(model, c)) !== 'allow',
      )
      if (hidden.length === 0) continue
      problems.push({
        path: ctx.at(model, 'fields', column),
        message:
          `field '${column}' can be updated and CHECK constraint '${check.name}' compares it with ` +
          `'${hidden.join("', '")}', which the caller may not read: whether a guessed value is accepted would ` +
          `reveal ${hidden.length === 1 ? 'it' : 'them'}; allow the hidden column, list '${column}' in ` +
          `write.immutableFields, deny updates, or drop the constraint`,
      })
    }
  }
  return problems
}
