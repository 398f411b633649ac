/**
 * Load-time checks that a write cannot be used as an existence oracle for values the caller may not see.
 *
 * A write the database refuses answers differently from one it accepts. Two refusals depend on rows outside
 * the caller's view:
 * - a unique key (constraint, primary key, unique index — partial and expression ones included — or an
 *   exclusion constraint) that does not compare the tenant column for equality: a create or update whose value collides with ANOTHER tenant's row answers
 *   "conflicts with an existing record", a fresh value answers ok;
 * - a foreign key whose referenced columns the caller may not read: the write path checks the referenced row
 *   is visible, so a reference to a guessed hidden value (`badges(pin)` with `pin` denied) succeeds iff it
 *   exists.
 * Both are refused when the policy binds, each with the constraint and the fix, unless the policy explicitly
 * accepts a global unique value per field (`acceptGlobalUnique: true`, e.g. a public slug).
 */
import type { PolicyProblem } from '../errors/index.ts'
import { findColumn, type TableInfo } from '../schema/index.ts'
import type { FieldRule, ModelPolicy } from './types.ts'

export interface OracleCheckContext {
  readonly rule: (model: ModelPolicy, column: string) => FieldRule
  readonly at: (model: ModelPolicy, ...rest: (string | number)[]) => string
  /** Columns that place a row in a tenant for this model (scoped, or tenant-like and pinned on writes). */
  readonly tenantColumns: (model: ModelPolicy, table: TableInfo) => readonly string[]
  readonly models: readonly ModelPolicy[]
  readonly tables: ReadonlyMap<string, TableInfo>
}

type Usage = 'create' | 'update'

/**
 * Whether `data` can carry the column on `usage` — the rule of planner/write-field-access.ts, which the
 * policy layer cannot import: an allowed (or writable masked/hashed) field that the server, the database or
 * delete does not set.
 */
export function callerWritable(
  model: ModelPolicy,
  table: TableInfo,
  column: string,
  usage: Usage,
  rule: FieldRule,
): boolean {
  const w = model.write
  // A writable masked or hashed field (`writable: true`) takes values from data as much as an allowed one.
  const settable =
    rule.action === 'allow' || ((rule.action === 'mask' || rule.action === 'hash') && rule.writable === true)
  if (w[usage] === 'deny' || !settable) return false
  const info = findColumn(table, column)
  if (!info || info.generated) return false
  if (Object.hasOwn(w.autoSet, column) || w.softDelete?.field === column) return false
  const key = table.primaryKey.includes(column)
  if (usage === 'create') return !(key && info.hasDefault)
  return !key && !w.immutableFields.includes(column)
}

/** Item: unique keys spanning tenants over columns the caller writes. */
export function uniqueKeyProblems(
  model: ModelPolicy,
  table: TableInfo,
  ctx: OracleCheckContext,
): PolicyProblem[] {
  // A shared model's rows are everybody's: a collision reveals nothing the caller could not read.
  if (model.shared) return []
  const tenant = ctx.tenantColumns(model, table)
  const problems: PolicyProblem[] = []
  // A generated column in a key is written through the columns it is computed from (red team, freight schema:
  // `unique (carrier_key)` with `carrier_key = lower(carrier)` answered a create by whether another tenant had
  // the carrier). A generated key column never counts as the tenant column, even when computed from it: a
  // concatenation such as `tenant_id || email` collides across tenants ('1' || '0x' = '10' || 'x').
  const sourcesOf = (column: string): readonly string[] => findColumn(table, column)?.computedFrom ?? []
  for (const key of table.uniqueKeys) {
    if (key.keyColumns.some((c) => tenant.includes(c))) continue
    const involved = [...new Set(key.involvedColumns.flatMap((c) => [c, ...sourcesOf(c)]))]
    const described = key.involvedColumns
      .map((c) => (sourcesOf(c).length === 0 ? c : `${c}, computed from ${sourcesOf(c).join(', ')}`))
      .join(', ')
    const exposed = involved.filter((column) => {
      const rule = ctx.rule(model, column)
      if (rule.acceptGlobalUnique === true) return false
      return (['create', 'update'] as const).some((u) => callerWritable(model, table, column, u, rule))
    })
    for (const column of exposed) {
      const tenantHint = tenant[0] ?? 'tenant_id'
      const fix =
        key.exclusion === true
          ? `add '${tenantHint} WITH =' to the constraint`
          : `make it unique (${tenantHint}, ${key.keyColumns.join(', ') || column})`
      const kind =
        key.exclusion === true ? 'exclusion constraint' : key.primary ? 'unique primary key' : 'unique key'
      problems.push({
        path: ctx.at(model, 'fields', column),
        message:
          `field '${column}' is writable and covered by ${kind} ` +
          `'${key.name}' (${described}), which does not include the tenant column: a write ` +
          `colliding with another tenant's value would reveal that it exists; ${fix}, make the field not ` +
          `writable, or set acceptGlobalUnique: true on the field if its values are not secret`,
      })
    }
  }
  return problems
}

/**
 * Item: every foreign key the write path checks (planner/plan-write.ts `foreignKeyChecks`: declared relation
 * or not) must reference columns the caller may read on every model it is checked through. A scoped column is
 * exempt on both sides: its value is the caller's own.
 */
export function referenceProblems(
  model: ModelPolicy,
  table: TableInfo,
  ctx: OracleCheckContext,
  relations: Readonly<
    Record<
      string,
      {
        readonly target: string
        readonly cardinality: 'one' | 'many'
        readonly pairs: readonly { readonly local: string; readonly remote: string }[]
      }
    >
  >,
): PolicyProblem[] {
  const problems: PolicyProblem[] = []
  const scoped = new Set(model.scoping.map((s) => s.column))
  for (const fk of table.foreignKeys) {
    const written = fk.columns.filter(
      (c) =>
        !scoped.has(c) &&
        (['create', 'update'] as const).some((u) => callerWritable(model, table, c, u, ctx.rule(model, c))),
    )
    if (written.length === 0) continue
    const relation = Object.values(relations).find(
      (r) =>
        r.cardinality === 'one' &&
        r.pairs.length === fk.columns.length &&
        r.pairs.every((p) =>
          fk.columns.some((c, i) => c === p.local && fk.referencedColumns[i] === p.remote),
        ),
    )
    const targets = relation
      ? ctx.models.filter((m) => m.name === relation.target)
      : ctx.models.filter((m) => {
          const t = ctx.tables.get(m.name)
          return t !== undefined && t.schema === fk.referencedSchema && t.name === fk.referencedTable
        })
    for (const target of targets) {
      const targetScoped = new Set(target.scoping.map((s) => s.column))
      const hidden = fk.referencedColumns.filter(
        (c) => ctx.rule(target, c).action !== 'allow' && !targetScoped.has(c),
      )
      if (hidden.length === 0) continue
      problems.push({
        path: ctx.at(model, 'fields', written[0] ?? fk.columns[0] ?? ''),
        message:
          `field '${written.join("', '")}' is writable and references ${target.name}.${hidden.join(', ')} ` +
          `(foreign key ${fk.name}), which is not 'allow' on ${target.name}: a write would reveal whether a ` +
          `guessed value exists; allow the referenced column on ${target.name} or make the field not writable`,
      })
    }
  }
  return problems
}
