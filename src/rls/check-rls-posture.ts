/**
 * The RLS posture check (`tessera check --rls`): is the database's second wall really standing for the role the
 * toolset connects as? RLS is one misconfiguration away from not applying at all (docs/threats.md facts 4–6), so each
 * cause is named:
 *
 * errors (exit non-zero; `rls` / `both` enforcement must not start):
 * - the role is a superuser or has BYPASSRLS (RLS never applies to it), or owns a table / is a member of its
 *   owner (it could ALTER or DISABLE the table's RLS; without FORCE, RLS does not apply to it at all);
 * - a model table is missing, has RLS disabled or not forced;
 * - a generated policy is missing, or differs from what the Policy generates now (drift: edited by hand, or
 *   generated from an older policy), or a stale `tessera_*` policy is left over;
 * - a permissive policy that Tessera did not generate (it ORs in rows the Policy does not grant);
 * - a policy reads `current_setting` without `nullif(…, '')` (an unset claim reads as `''`, not NULL);
 * - a foreign key between scoped tables without the tenant column when nothing but the database checks a
 *   written row's references (`referencedRowsChecked` false, as `tessera check --rls rls` judges the database
 *   for clients other than Tessera) — FK checks ignore RLS (docs/threats.md fact 6).
 *
 * - a partition or inheritance child of a model table that the role may read or write and that RLS does not
 *   guard for it (off there, a permissive policy of its own, or the role owns it: a statement naming it gets none
 *   of the parent's policies), and a view the role may read or write through that reads a model table as a
 *   superuser or BYPASSRLS owner (no `security_invoker`), or a materialized view of one: RLS does not apply
 *   through it (docs/threats.md fact 5), under the same condition as the foreign key: when the database is
 *   judged as the only wall for other clients.
 *
 * warnings: a trigger whose function is SECURITY DEFINER and owned by a superuser or BYPASSRLS role (nothing it
 * runs is filtered; Tessera cannot judge what it does); the same foreign key and views when a Tessera toolset is the client (it reads tables only) (a Tessera toolset in every mode:
 * writesCheckReferencedRows, src/tools/write-tools.ts); a tenant column that is
 * nullable or leads no index; a restrictive policy Tessera did not generate (it can only narrow);
 * standard_conforming_strings off.
 */
import type { BoundPolicy } from '../policy/index.ts'
import type { RlsCatalog, RlsTableFacts, TableInfo } from '../schema/index.ts'
import { type GeneratedRls, type GeneratedTable, RLS_POLICY_PREFIX } from './generate-rls.ts'
import { sqlIdent } from './sql-text.ts'

export const POSTURE_CODES = [
  'role_superuser',
  'role_bypassrls',
  'role_owns_table',
  'table_missing',
  'rls_disabled',
  'rls_not_forced',
  'policy_missing',
  'policy_drift',
  'policy_stale',
  'policy_foreign_permissive',
  'policy_foreign_restrictive',
  'claim_without_nullif',
  'foreign_key_not_composite',
  'view_bypasses_rls',
  'partition_bypasses_rls',
  'parent_bypasses_rls',
  'trigger_bypasses_rls',
  'tenant_column_nullable',
  'tenant_column_unindexed',
  'standard_conforming_strings_off',
] as const
export type PostureCode = (typeof POSTURE_CODES)[number]

export interface PostureFinding {
  readonly severity: 'error' | 'warning'
  readonly code: PostureCode
  /** `schema.table`, or null for a finding about the role or the server. */
  readonly table: string | null
  readonly message: string
}

export interface PostureReport {
  /** True when there is no error (warnings allowed). */
  readonly ok: boolean
  readonly role: string
  readonly findings: readonly PostureFinding[]
}

export interface PostureInput {
  readonly bound: BoundPolicy
  readonly generated: GeneratedRls
  readonly catalog: RlsCatalog
  /** `rls`: the database is the only wall; `both`: the planner is the other (default). */
  readonly enforcement?: 'rls' | 'both'
  /**
   * Whether something besides the database checks that a written row's references are visible to the caller
   * (a Tessera toolset does in every mode: writesCheckReferencedRows). Decides whether a single-column FK
   * between scoped tables is an error or a warning. Default: `enforcement === 'both'`.
   */
  readonly referencedRowsChecked?: boolean
}

export function checkRlsPosture(input: PostureInput): PostureReport {
  const { bound, generated, catalog } = input
  const enforcement = input.enforcement ?? 'both'
  const referencedRowsChecked = input.referencedRowsChecked ?? enforcement === 'both'
  const findings: PostureFinding[] = []
  const add = (
    severity: PostureFinding['severity'],
    code: PostureCode,
    table: string | null,
    message: string,
  ) => findings.push({ severity, code, table, message })

  const role = catalog.role
  if (role.superuser)
    add(
      'error',
      'role_superuser',
      null,
      `role '${role.name}' is a superuser: row-level security never applies to it; connect as a role with NOSUPERUSER`,
    )
  if (role.bypassRls)
    add(
      'error',
      'role_bypassrls',
      null,
      `role '${role.name}' has BYPASSRLS: row-level security never applies to it; ALTER ROLE ${sqlIdent(role.name)} NOBYPASSRLS`,
    )
  if (!catalog.standardConformingStrings)
    add(
      'warning',
      'standard_conforming_strings_off',
      null,
      'standard_conforming_strings is off; generated policies assume it is on',
    )

  const scopedTables = new Map<string, GeneratedTable>()
  for (const t of generated.tables)
    if (t.scopedColumns.length > 0) scopedTables.set(`${t.schema}.${t.table}`, t)

  for (const table of generated.tables) {
    const key = `${table.schema}.${table.table}`
    const facts = catalog.tables.find((f) => f.schema === table.schema && f.name === table.table)
    if (!facts || !facts.exists) {
      add(
        'error',
        'table_missing',
        key,
        `table ${key} (model ${table.model}) does not exist or is not visible to role '${role.name}'`,
      )
      continue
    }
    if (facts.roleOwns)
      add(
        'error',
        'role_owns_table',
        key,
        `role '${role.name}' owns ${key} (owner '${facts.owner ?? '?'}'): it can alter or disable the table's row-level security; connect as a role that does not own the tables`,
      )
    if (!facts.rlsEnabled)
      add(
        'error',
        'rls_disabled',
        key,
        `row-level security is not enabled on ${key}; run the script of 'tessera rls generate'`,
      )
    else if (!facts.rlsForced)
      add(
        'error',
        'rls_not_forced',
        key,
        `row-level security is not forced on ${key}, so it does not apply to the table owner; ALTER TABLE … FORCE ROW LEVEL SECURITY`,
      )
    checkPolicies(table, facts, add)
    for (const child of facts.bypassingChildren ?? []) {
      add(
        referencedRowsChecked ? 'warning' : 'error',
        'partition_bypasses_rls',
        key,
        `${child} is a partition (or child) of ${key} that row-level security does not guard for role ` +
          `'${role.name}' (off there, a permissive policy of its own, or the role owns it), and the role may read ` +
          `or write it: a statement naming it directly gets none of ${key}'s policies; REVOKE ALL ON ${child} ` +
          `FROM ${sqlIdent(role.name)}, or ALTER TABLE ${child} ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY (no ` +
          `policy: no rows)`,
      )
    }
    for (const parent of facts.bypassingParents ?? []) {
      add(
        referencedRowsChecked ? 'warning' : 'error',
        'parent_bypasses_rls',
        key,
        `${parent} is an inheritance parent of ${key} that row-level security does not guard for role ` +
          `'${role.name}' (off there, a permissive policy of its own, or the role owns it), and the role may read ` +
          `or change it: a statement naming it reaches ${key}'s rows under none of ${key}'s policies; REVOKE ALL ` +
          `ON ${parent} FROM ${sqlIdent(role.name)}, or ALTER TABLE ${parent} ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL ` +
          `SECURITY (no policy: no rows)`,
      )
    }
    for (const trigger of facts.bypassingTriggers ?? []) {
      // Tessera cannot judge the function's body (it may only write an audit row): a warning in every mode.
      add(
        'warning',
        'trigger_bypasses_rls',
        key,
        `trigger ${trigger.name} on ${key} runs ${trigger.function} as its owner '${trigger.owner}' (SECURITY ` +
          `DEFINER), to whom row-level security does not apply: whatever it reads or writes — another tenant's ` +
          `rows too — is filtered by nothing; make it SECURITY INVOKER, or give the function an owner that ` +
          `row-level security applies to`,
      )
    }
    for (const view of facts.bypassingViews ?? []) {
      const how = view.materialized
        ? `materialized view ${view.name} holds a copy of ${key}'s rows that row-level security never filters`
        : `view ${view.name} reads ${key} as its owner '${view.owner}', to whom row-level security does not apply`
      // Tessera reads tables only; the view is a hole for every other client connecting as this role.
      add(
        referencedRowsChecked ? 'warning' : 'error',
        'view_bypasses_rls',
        key,
        `${how}, and role '${role.name}' may ${view.materialized ? 'SELECT it' : 'read or write through it'}; REVOKE ALL ON ${view.name} FROM ${sqlIdent(role.name)}` +
          (view.materialized ? '' : `, or ALTER VIEW ${view.name} SET (security_invoker = true)`),
      )
    }
    const info = tableInfo(bound, table.schema, table.table)
    if (info) checkTenantColumns(table, info, scopedTables, referencedRowsChecked, add)
  }
  return { ok: !findings.some((f) => f.severity === 'error'), role: role.name, findings }
}

type Add = (
  severity: PostureFinding['severity'],
  code: PostureCode,
  table: string | null,
  message: string,
) => void

function checkPolicies(table: GeneratedTable, facts: RlsTableFacts, add: Add): void {
  const key = `${table.schema}.${table.table}`
  for (const expected of table.policies) {
    const actual = facts.policies.find((p) => p.name === expected.name)
    if (!actual) {
      add(
        'error',
        'policy_missing',
        key,
        `policy ${expected.name} (${expected.command}) is missing on ${key}; run the script of 'tessera rls generate'`,
      )
      continue
    }
    const recorded = `tessera:${expected.definitionHash}:${actual.expressionHash}`
    const same =
      actual.command === expected.command &&
      actual.permissive === expected.permissive &&
      actual.roles.length === 1 &&
      actual.roles[0] === 'public' &&
      actual.comment === recorded
    if (!same)
      add(
        'error',
        'policy_drift',
        key,
        `policy ${expected.name} on ${key} differs from what the policy file generates (edited by hand, or generated from another version); regenerate`,
      )
  }
  for (const actual of facts.policies) {
    if (table.policies.some((p) => p.name === actual.name)) {
      if (!guardsClaims(actual.using) || !guardsClaims(actual.check))
        add(
          'error',
          'claim_without_nullif',
          key,
          `policy ${actual.name} on ${key} reads current_setting without nullif(…, '')`,
        )
      continue
    }
    if (actual.name.startsWith(RLS_POLICY_PREFIX)) {
      add(
        'error',
        'policy_stale',
        key,
        `policy ${actual.name} on ${key} is not generated by the current policy file; regenerate (the script drops it)`,
      )
    } else if (actual.permissive) {
      add(
        'error',
        'policy_foreign_permissive',
        key,
        `permissive policy ${actual.name} on ${key} was not generated from the policy file: it grants rows the policy does not`,
      )
    } else {
      add(
        'warning',
        'policy_foreign_restrictive',
        key,
        `restrictive policy ${actual.name} on ${key} was not generated from the policy file (it can only narrow)`,
      )
    }
    if (!guardsClaims(actual.using) || !guardsClaims(actual.check))
      add(
        'error',
        'claim_without_nullif',
        key,
        `policy ${actual.name} on ${key} reads current_setting without nullif(…, ''): after an earlier transaction an unset claim reads as '' instead of NULL`,
      )
  }
}

/** Every `current_setting(` in PostgreSQL's printed expression is the first argument of a `nullif(`. */
function guardsClaims(expression: string | null): boolean {
  if (expression === null) return true
  const reads = expression.match(/current_setting\s*\(/gi)?.length ?? 0
  const guarded = expression.match(/nullif\s*\(\s*current_setting\s*\(/gi)?.length ?? 0
  return reads === guarded
}

function checkTenantColumns(
  table: GeneratedTable,
  info: TableInfo,
  scopedTables: ReadonlyMap<string, GeneratedTable>,
  referencedRowsChecked: boolean,
  add: Add,
): void {
  const key = `${table.schema}.${table.table}`
  for (const column of table.scopedColumns) {
    const col = info.columns.find((c) => c.name === column)
    if (col?.nullable)
      add(
        'warning',
        'tenant_column_nullable',
        key,
        `scoped column ${key}.${column} is nullable: rows without a value are visible to no tenant`,
      )
    if (!info.indexes.some((i) => i.columns[0] === column))
      add(
        'warning',
        'tenant_column_unindexed',
        key,
        `no index on ${key} starts with scoped column ${column}: every scoped read scans more than its tenant's rows`,
      )
  }
  for (const fk of info.foreignKeys) {
    const target = scopedTables.get(`${fk.referencedSchema}.${fk.referencedTable}`)
    if (!target || table.scopedColumns.length === 0) continue
    // Composite: every scoped column of the referencing table is paired with a scoped column of the target.
    const composite = table.scopedColumns.every((c) => {
      const i = fk.columns.indexOf(c)
      return i >= 0 && target.scopedColumns.includes(fk.referencedColumns[i] ?? '')
    })
    if (composite) continue
    const message =
      `foreign key ${fk.name} (${key}.${fk.columns.join(', ')} → ${fk.referencedSchema}.${fk.referencedTable}) ` +
      `does not include the tenant column: foreign-key checks ignore RLS, so a row can reference another tenant's row`
    if (!referencedRowsChecked)
      add(
        'error',
        'foreign_key_not_composite',
        key,
        `${message}; make it composite (tenant_id, id), or write only through Tessera, whose planner checks referenced rows`,
      )
    else
      add(
        'warning',
        'foreign_key_not_composite',
        key,
        `${message} (Tessera's planner checks referenced rows on every write; other clients are not checked)`,
      )
  }
}

function tableInfo(bound: BoundPolicy, schema: string, name: string): TableInfo | undefined {
  return Object.values(bound.models).find((m) => m.table.schema === schema && m.table.name === name)?.table
}
