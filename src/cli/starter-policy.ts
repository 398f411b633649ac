/**
 * The starter policy `tessera init` writes for an introspected schema: YAML text with comments where a person
 * must decide, plus a summary. Rules, chosen so the file is safe before anyone reviews it:
 * - every table with a tenant-like column is a model scoped on it (`principal.tenantId`; one that is a foreign
 *   key first); further tenant-like columns go to `unscopedColumns` with a REVIEW note; a table those columns reference (the tenants table) is
 *   scoped on its key, so a tenant sees only its own row;
 * - a table with no tenant column and no foreign key into tenant data is `shared: true` (reference data such
 *   as countries), marked REVIEW; one with such a foreign key (e.g. order_items → orders) holds tenant rows it
 *   cannot scope, so it is left out, commented, until a tenant column or a row policy exists;
 * - when no table has a tenant column at all, nothing tells tenant data from reference data: init refuses
 *   (naming `--tenant-column <name>`) instead of writing every table as shared — a schema whose tenant column
 *   has a name init does not recognise, e.g. `clinic`, would otherwise come out readable by every tenant;
 * - credential-looking columns are denied, PII-looking ones masked (hashed when not text); the rest allowed;
 * - relations follow foreign keys between emitted models, named after the key column or the other table;
 * - writes are disabled everywhere;
 * - a table whose tenant column compares loosely (nondeterministic collation, citext, char(n)) is left out with
 *   the fix: scoped on it, the policy would not load (policy/loose-tenant-column-problems.ts).
 */
import {
  fieldGlobMatcher,
  isReservedName,
  isTesseraOwnTable,
  PII_FIELD_GLOBS,
  SENSITIVE_FIELD_GLOBS,
  looseTenantColumn,
  tenantLikeColumnsOf,
} from '../policy/index.ts'
import type { ColumnInfo, DbSchema, TableInfo } from '../schema/index.ts'

const CREDENTIAL_GLOBS = [...SENSITIVE_FIELD_GLOBS, '*private_key*', '*credential*', '*passphrase*']
// Pay and bank details too (red team, payroll schema): a starter policy showed salaries and bank accounts.
const PII_GLOBS = [
  ...PII_FIELD_GLOBS,
  '*birth*',
  'dob',
  '*address*',
  '*passport*',
  '*tax_id*',
  '*iban*',
  '*salary*',
  '*wage*',
  '*bank*',
  '*account_number*',
]
const isCredential = anyGlob(CREDENTIAL_GLOBS)
const isPii = anyGlob(PII_GLOBS)
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/
/** Plain YAML scalars that the core schema would read as something other than a string. */
const YAML_SPECIAL = /^(true|false|null|~|yes|no|on|off|y|n)$/i

export interface StarterPolicy {
  readonly text: string
  readonly models: readonly { readonly name: string; readonly table: string; readonly kind: ModelKind }[]
  /** Tables not written as models, with the reason. */
  readonly skipped: readonly { readonly table: string; readonly reason: string }[]
  /** Decisions the reader must make, one line each. */
  readonly review: readonly string[]
}

export type ModelKind = 'scoped' | 'tenant' | 'shared'

interface Plan {
  readonly table: TableInfo
  readonly name: string
  readonly kind: ModelKind
  /** The scoped column (tenant column, or the key of the tenants table). */
  readonly scopeColumn: string | null
  readonly unscoped: readonly string[]
}

export interface StarterPolicyOptions {
  /** The tenant column's name, when init does not recognise it (`clinic`, `practice_ref`…). */
  readonly tenantColumn?: string
}

export function starterPolicy(
  schema: DbSchema,
  source: string,
  options: StarterPolicyOptions = {},
): StarterPolicy {
  const tables = Object.values(schema.tables).sort((a, b) => a.key.localeCompare(b.key))
  const review: string[] = []
  const skipped: { table: string; reason: string }[] = []
  const named = options.tenantColumn
  // Spelled as tenant-like columns are recognised (tenant-pins.ts): `--tenant-column shopId` also names the
  // `shop_id` of other tables. Matched exactly only, a schema spelling it both ways (an ORM's camelCase table
  // next to hand-written snake_case ones) came out with every `shop_id` table `shared: true`, each tenant's
  // rows readable by every other tenant (red team, marketplace schema).
  const spelling = (name: string): string => name.toLowerCase().replaceAll('_', '')
  const namedColumnOf = (t: TableInfo): string | undefined =>
    named === undefined
      ? undefined
      : (
          t.columns.find((c) => c.name === named) ??
          t.columns.find((c) => spelling(c.name) === spelling(named))
        )?.name
  if (named !== undefined && !tables.some((t) => namedColumnOf(t) !== undefined)) {
    throw new Error(`--tenant-column ${named}: no table in ${source} has a column named '${named}'`)
  }
  // The scoping column: the one named by the caller where the table has it; else a tenant-like column that is a
  // foreign key wins (workspace_id → workspaces over a free-text account_id), then the order of
  // TENANT_LIKE_COLUMNS. Naming one table's column never hides another table's tenant_id: such a table came
  // out `shared: true`, readable by every tenant (red team, freight schema).
  const tenantColumnOf = (t: TableInfo): string | undefined => {
    const own = namedColumnOf(t)
    if (own !== undefined) return own
    const present = tenantLikeColumnsOf(t)
    const keyed = present.find((c) =>
      t.foreignKeys.some((fk) => fk.columns.length === 1 && fk.columns[0] === c),
    )
    return keyed ?? present[0]
  }

  // Tables a tenant column points at (tenants, organizations…): scoped on the referenced key.
  const tenantTables = new Map<string, string>()
  for (const t of tables) {
    const column = tenantColumnOf(t)
    for (const fk of t.foreignKeys) {
      const target = fk.referencedColumns[0]
      if (
        column !== undefined &&
        fk.columns.length === 1 &&
        fk.columns[0] === column &&
        target !== undefined
      ) {
        tenantTables.set(`${fk.referencedSchema}.${fk.referencedTable}`, target)
      }
    }
  }

  const plans: Plan[] = []
  const names = new Set<string>()
  for (const t of tables) {
    if (isTesseraOwnTable(t.key)) {
      skipped.push({
        table: t.key,
        reason: "Tessera's own audit/approval table: the operator's, never an agent's",
      })
      continue
    }
    if (!IDENTIFIER.test(t.name) || !IDENTIFIER.test(t.schema)) {
      skipped.push({ table: t.key, reason: 'its name is not a plain identifier, so a policy cannot name it' })
      continue
    }
    if (t.primaryKey.length === 0) {
      // The policy would not load (bind-policy.ts): e.g. an inheritance child, which has no key of its own.
      skipped.push({
        table: t.key,
        reason: 'no primary key, which get and pages need: add one, then re-run init',
      })
      continue
    }
    const name = uniqueName(modelNameFor(t.name), names)
    const tenantKey = tenantTables.get(`${t.schema}.${t.name}`)
    const column = tenantColumnOf(t)
    if (column !== undefined) {
      const unscoped = tenantLikeColumnsOf(t).filter((c) => c !== column)
      plans.push({ table: t, name, kind: 'scoped', scopeColumn: column, unscoped })
      for (const u of unscoped) review.push(`${name}: is '${u}' a second boundary? It is listed as unscoped.`)
    } else if (tenantKey !== undefined) {
      plans.push({ table: t, name, kind: 'tenant', scopeColumn: tenantKey, unscoped: [] })
    } else {
      plans.push({ table: t, name, kind: 'shared', scopeColumn: null, unscoped: [] })
    }
  }
  // A table without a tenant column that references tenant data cannot be scoped by a column: leave it out.
  const scopedTables = new Set(plans.filter((p) => p.kind !== 'shared').map((p) => tableId(p.table)))
  // No tenant column anywhere: which tables hold tenant data is unknown, so none is written as shared.
  if (scopedTables.size === 0 && plans.length > 0) {
    throw new Error(
      `no table in ${source} has a tenant column init recognises (tenant_id, org_id, workspace_id, …), so it ` +
        `cannot tell tenant data from data every tenant may read: re-run with --tenant-column <name>, or write ` +
        `the policy by hand (tessera init without --db writes a template)`,
    )
  }
  const emitted: Plan[] = []
  for (const p of plans) {
    const intoTenantData = p.table.foreignKeys.find((fk) =>
      scopedTables.has(`${fk.referencedSchema}.${fk.referencedTable}`),
    )
    if (p.kind === 'shared' && intoTenantData !== undefined) {
      skipped.push({
        table: p.table.key,
        reason:
          `no tenant column, but foreign key ${intoTenantData.name} points into tenant data: add a tenant ` +
          `column (then re-run init) or write a model with a row policy`,
      })
      continue
    }
    // A tenant column whose `=` is loose cannot be scoped (the policy would not load): the table is left out
    // with the fix, so init still writes the rest (docs/decisions.md, "A tenant column compares exactly…").
    const loose = p.scopeColumn === null ? undefined : looseTenantColumn(p.table, p.scopeColumn)
    if (loose !== undefined) {
      skipped.push({ table: p.table.key, reason: `tenant column '${p.scopeColumn}': ${loose}` })
      continue
    }
    if (p.kind === 'shared') {
      review.push(`${p.name}: no tenant column, so it is shared by every tenant. Is '${p.table.key}' public?`)
    }
    emitted.push(p)
  }

  const byTable = new Map(emitted.map((p) => [tableId(p.table), p]))
  const lines: string[] = [
    `# Starter policy written by \`tessera init\` from ${source}.`,
    '# Review every line marked REVIEW, then run `tessera check <this file>`. Until then:',
    '# - tables with a tenant column are scoped to principal.tenantId; tables without one are shared;',
    '# - credential-looking columns are denied, personal data is masked (hashed when not text);',
    '# - every write (create, update, delete) is disabled.',
    ...review.map((r) => `# REVIEW ${r}`),
    ...skipped.map((s) => `# SKIPPED ${s.table}: ${s.reason}`),
    'version: starter-1',
    'profile: PROD',
    'defaults:',
    '  fieldAction: deny',
    'models:',
  ]
  if (emitted.length === 0) lines[lines.length - 1] = 'models: {}'
  for (const p of emitted) lines.push(...modelLines(p, emitted, byTable))
  return {
    text: `${lines.join('\n')}\n`,
    models: emitted.map((p) => ({ name: p.name, table: p.table.key, kind: p.kind })),
    skipped,
    review,
  }
}

function modelLines(plan: Plan, emitted: readonly Plan[], byTable: ReadonlyMap<string, Plan>): string[] {
  const { table } = plan
  const out: string[] = ['', `  ${key(plan.name)}:`, `    table: ${table.key}`]
  if (plan.kind === 'shared') out.push('    shared: true # REVIEW: every tenant reads every row')
  if (plan.kind === 'tenant') out.push('    description: The caller’s own tenant row.')
  out.push('    fields:')
  for (const column of table.columns) {
    if (!IDENTIFIER.test(column.name)) {
      out.push(`      # column ${JSON.stringify(column.name)} is not a plain identifier: denied by default`)
      continue
    }
    const [rule, why] = fieldRule(column, table.columns)
    out.push(`      ${key(column.name)}: ${rule}${why === '' ? '' : ` # ${why}`}`)
  }
  if (plan.scopeColumn !== null) out.push(`    scoping: { ${key(plan.scopeColumn)}: principal.tenantId }`)
  if (plan.unscoped.length > 0) {
    out.push(`    unscopedColumns: [${plan.unscoped.map(key).join(', ')}] # REVIEW: not a tenant boundary?`)
  }
  const relations = relationLines(plan, emitted, byTable)
  if (relations.length > 0) out.push('    relations:', ...relations)
  out.push('    write: { create: deny, update: deny, delete: deny }')
  return out
}

function fieldRule(column: ColumnInfo, columns: readonly ColumnInfo[]): [rule: string, why: string] {
  if (isCredential(column.name)) return ['deny', 'looks like a credential']
  if (isReservedName(column.name)) return ['deny', "named like Tessera's own result columns"]
  // A generated column shows what it is computed from: denied unless every input is allowed (the policy would
  // not load otherwise, docs/decisions.md "Values the database derives from hidden columns").
  const hidden = (column.computedFrom ?? []).find((name) => {
    const source = columns.find((c) => c.name === name)
    return source === undefined || !IDENTIFIER.test(name) || fieldRule(source, columns)[0] !== 'allow'
  })
  if (hidden !== undefined) return ['deny', `computed from ${JSON.stringify(hidden)}, which is not allowed`]
  if (isPii(column.name)) {
    return column.typeClass === 'string'
      ? ['mask', 'personal data: masked']
      : ['hash', 'personal data (not text): hashed']
  }
  return ['allow', '']
}

/** Outgoing keys (`one`, named after the key column) and incoming keys (`many`, named after the other table). */
function relationLines(plan: Plan, emitted: readonly Plan[], byTable: ReadonlyMap<string, Plan>): string[] {
  const taken = new Set(plan.table.columns.map((c) => c.name))
  const out: string[] = []
  const add = (base: string, target: Plan, foreignKey: readonly string[]): void => {
    const name = uniqueName(base, taken)
    if (isReservedName(name) || foreignKey.some(isReservedName)) return
    const fk = foreignKey.length === 1 ? key(foreignKey[0] ?? '') : `[${foreignKey.map(key).join(', ')}]`
    out.push(`      ${key(name)}: { model: ${key(target.name)}, foreignKey: ${fk} }`)
  }
  for (const fk of plan.table.foreignKeys) {
    const target = byTable.get(`${fk.referencedSchema}.${fk.referencedTable}`)
    if (target === undefined || fk.columns.some((c) => c === plan.scopeColumn || !IDENTIFIER.test(c)))
      continue
    add(outgoingName(fk.columns, target, taken), target, fk.columns)
  }
  for (const other of emitted) {
    if (other === plan) continue
    for (const fk of other.table.foreignKeys) {
      if (`${fk.referencedSchema}.${fk.referencedTable}` !== tableId(plan.table)) continue
      if (fk.columns.some((c) => c === other.scopeColumn || !IDENTIFIER.test(c))) continue
      // Both sides hold these column names: the relation would resolve as the outgoing key, not this one.
      if (
        fk.columns.every((c) => taken.has(c)) &&
        plan.table.foreignKeys.some((o) => same(o.columns, fk.columns))
      ) {
        continue
      }
      add(other.table.name.toLowerCase(), other, fk.columns)
    }
  }
  return out
}

/** `customer_id` → `customer`; otherwise the target's name (`country_code` → `country`), then `created_by_user`. */
function outgoingName(columns: readonly string[], target: Plan, taken: ReadonlySet<string>): string {
  const first = columns[0] ?? ''
  const stripped = columns.length === 1 ? first.replace(/_id$/i, '') : ''
  if (stripped !== '' && stripped !== first && !taken.has(stripped)) return stripped
  const targetName = snake(target.name)
  return taken.has(targetName) ? `${columns.join('_')}_${targetName}` : targetName
}

function modelNameFor(table: string): string {
  const singular = table
    .replace(/ies$/i, 'y')
    .replace(/(ss|us|is)$/i, '$1')
    .replace(/([^s])s$/i, '$1')
  const pascal = singular
    .split('_')
    .filter((part) => part !== '')
    .map((part) => part[0]?.toUpperCase() + part.slice(1))
    .join('')
  return IDENTIFIER.test(pascal) ? pascal : `T_${table}`
}

function uniqueName(base: string, taken: Set<string>): string {
  let name = base
  for (let i = 2; taken.has(name); i += 1) name = `${base}_${i}`
  taken.add(name)
  return name
}

function snake(name: string): string {
  return name.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase()
}

function tableId(table: TableInfo): string {
  return `${table.schema}.${table.name}`
}

function same(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((c, i) => c === b[i])
}

/** A mapping key or flow scalar: plain when YAML reads it back as the same string, quoted otherwise. */
function key(name: string): string {
  return IDENTIFIER.test(name) && !YAML_SPECIAL.test(name) ? name : JSON.stringify(name)
}

function anyGlob(globs: readonly string[]): (column: string) => boolean {
  const matchers = globs.map(fieldGlobMatcher)
  return (column) => matchers.some((m) => m(column))
}

/** The starter text when there is no database to read: one scoped and one shared model to edit. */
export const TEMPLATE_POLICY = `# Starter policy written by \`tessera init\` (no database given: a template to edit).
# Run \`tessera init --db postgres://…\` instead to start from your schema. Then \`tessera check <this file>\`.
version: starter-1
profile: PROD
defaults:
  fieldAction: deny # columns not listed below are invisible to agents
models:
  Order:
    table: orders # REVIEW: your table
    fields:
      id: allow
      status: allow
      total: allow
      customer_email: mask
      internal_token: deny
    scoping: { tenant_id: principal.tenantId } # each tenant sees only its rows
    write: { create: deny, update: deny, delete: deny }

  Country:
    table: countries # REVIEW: reference data every tenant may read
    shared: true
    fields: { code: allow, name: allow }
`
