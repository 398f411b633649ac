/**
 * `generateRls` (docs/contract.md §5, enforcement `rls` / `both`): PostgreSQL row-level security printed from the same
 * bound Policy the planner uses, so the database is a second wall built from one source of truth.
 *
 * Per model table: `ENABLE` and `FORCE ROW LEVEL SECURITY` (FORCE so the table owner is subject too), then one
 * policy per visibility rule and command, using PostgreSQL's own combination, which is the planner's
 * (src/planner/row-visibility.ts):
 *
 *   visible = (scoping ∨ permissive rules ∨ bypass rules) ∧ restrictive rules
 *
 * - scoping (every scoped column equals its claim) is one PERMISSIVE policy per command;
 * - each permissive row policy is a PERMISSIVE policy for SELECT, and, reduced to its write grant (the parts
 *   that mention the principal, src/planner/write-grant.ts), for the rows UPDATE and DELETE may target;
 * - on a model without scoping, one PERMISSIVE `write_grants` policy requires every write grant of a written
 *   row (INSERT, and UPDATE's new row), as the planner's WITH CHECK does (src/planner/write-check.ts);
 * - each bypass rule is a PERMISSIVE policy for every command (its condition names only the principal, so
 *   "bypass holds" is exactly "grant every row", restrictive rules still applying);
 * - each restrictive row policy is a RESTRICTIVE policy for every command;
 * - each tenant pin (src/policy/tenant-pins.ts) is a RESTRICTIVE policy for INSERT, UPDATE and DELETE: the
 *   pinned column equals its claim, or a bypass rule holds — so a client writing without Tessera cannot place
 *   or move a row into another tenant through a permissive rule's other branch either;
 * - a shared model with neither scoping nor permissive rules gets PERMISSIVE `true` policies;
 * - no permissive policy at all means no row, as `or([])` does on the app side.
 *
 * PostgreSQL ORs the `USING` expressions of permissive policies and, separately, their `WITH CHECK`
 * expressions, so a policy that only lets UPDATE target rows says `WITH CHECK (false)`. Soft delete is not part of RLS: it hides a caller's own rows, it is not a
 * boundary, and as a SELECT policy it would make the soft-deleting UPDATE … RETURNING fail its own check; the
 * planner keeps filtering it in every mode.
 *
 * The script is idempotent: it drops every `tessera_*` policy of each table and creates the current set, in one
 * transaction when run through `applyRls` or the BEGIN/COMMIT of `rlsScript`. Each policy's comment records a
 * hash of its generated definition and of PostgreSQL's stored text of it, so the posture check can tell drift
 * (a policy edited or added by hand) from the generated state.
 */
import { policyInvalid, type PolicyProblem } from '../errors/index.ts'
import { type BoundModel, type BoundPolicy, type ConditionNode, sha256Hex } from '../policy/index.ts'
import { databaseRules } from '../planner/index.ts'
import { findColumn } from '../schema/index.ts'
import { type ColumnLookup, printRlsCondition } from './print-rls-condition.ts'
import { quoteIdent, quoteLiteral, quoteTable } from './sql-text.ts'

export const RLS_COMMANDS = ['select', 'insert', 'update', 'delete'] as const
export type RlsCommand = (typeof RLS_COMMANDS)[number]

/** Every generated policy's name starts with this; the script drops and recreates exactly these. */
export const RLS_POLICY_PREFIX = 'tessera_'
const MAX_IDENTIFIER_BYTES = 63

export interface GeneratedPolicy {
  readonly schema: string
  readonly table: string
  readonly model: string
  readonly name: string
  readonly command: RlsCommand
  readonly permissive: boolean
  /** `USING` expression text, or null (INSERT has none). */
  readonly using: string | null
  /** `WITH CHECK` expression text, or null (SELECT and DELETE have none). */
  readonly check: string | null
  /** sha256 over the fields above: what the policy's comment records and the posture check compares. */
  readonly definitionHash: string
}

export interface GeneratedTable {
  readonly schema: string
  readonly table: string
  readonly model: string
  /** Column names compared with a claim by scoping (the tenant columns), for the posture check. */
  readonly scopedColumns: readonly string[]
  readonly policies: readonly GeneratedPolicy[]
  /** Privileges the application role needs on this table under the policy's write rules. */
  readonly privileges: readonly ('SELECT' | 'INSERT' | 'UPDATE' | 'DELETE')[]
}

export interface RlsOptions {
  /** When set, the script also revokes everything on each model table from this role and grants what it needs. */
  readonly appRole?: string
}

export interface GeneratedRls {
  readonly policyVersionHash: string
  readonly tables: readonly GeneratedTable[]
  /** The statements, in order, without BEGIN/COMMIT. */
  readonly statements: readonly string[]
}

/**
 * One generated rule: its expression per command, or null where the rule grants nothing for that command (no
 * policy is created). For UPDATE, `using` picks the rows the command may target and `check` what it may write.
 */
interface Rule {
  readonly name: string
  readonly permissive: boolean
  readonly select: string | null
  readonly insert: string | null
  readonly update: { readonly using: string; readonly check: string } | null
  readonly delete: string | null
}

export function generateRls(bound: BoundPolicy, options: RlsOptions = {}): GeneratedRls {
  const problems: PolicyProblem[] = []
  const byTable = new Map<string, string>()
  const tables: GeneratedTable[] = []
  for (const model of Object.values(bound.models)) {
    // One table has one set of RLS policies: two models over it would OR their permissive rules together and
    // widen both, so that is refused rather than guessed at.
    const other = byTable.get(model.table.key)
    if (other !== undefined) {
      problems.push({
        path: `models.${model.name}.table`,
        message: `table '${model.table.key}' is also the table of model '${other}'; RLS policies are per table, so generate RLS for a policy with one model per table`,
      })
      continue
    }
    byTable.set(model.table.key, model.name)
    tables.push(generateTable(model, problems))
  }
  if (problems.length > 0) throw policyInvalid(problems)
  const statements = tables.flatMap((t) => tableStatements(t, options.appRole))
  return { policyVersionHash: bound.policy.versionHash, tables, statements }
}

/** The whole script, for `tessera rls generate` and psql: one transaction, so it applies fully or not at all. */
export function rlsScript(generated: GeneratedRls): string {
  return [
    `-- Row-level security generated by tessera from policy ${generated.policyVersionHash}.`,
    "-- Idempotent: drops and recreates every tessera_* policy of each table. Run as the tables' owner.",
    'begin;',
    ...generated.statements.map((s) => `${s};`),
    'commit;',
    '',
  ].join('\n')
}

/**
 * The reverse: drop every `tessera_*` policy and turn RLS off on each model table (the `down` of the
 * migration). Grants are left as they are.
 */
export function dropRlsStatements(generated: GeneratedRls): readonly string[] {
  return generated.tables.flatMap((t) => {
    const target = quoteTable(t.schema, t.table)
    return [
      dropGeneratedPolicies(target),
      `alter table ${target} no force row level security`,
      `alter table ${target} disable row level security`,
    ]
  })
}

function dropGeneratedPolicies(target: string): string {
  return (
    `do $tessera$ declare p record; begin for p in select polname from pg_catalog.pg_policy ` +
    `where polrelid = ${quoteLiteral(target)}::regclass and polname like 'tessera\\_%' ` +
    `loop execute format('drop policy %I on %s', p.polname, ${quoteLiteral(target)}); end loop; end $tessera$`
  )
}

function generateTable(model: BoundModel, problems: PolicyProblem[]): GeneratedTable {
  const policy = model.policy
  const column = (name: string) => {
    const info = findColumn(model.table, name)
    // Unreachable after bindPolicy, which checks every field a rule names.
    if (!info) throw new Error(`unknown column '${name}' on '${model.table.key}'`)
    return info
  }
  const rules = rulesOf(model, column)
  const schema = model.table.schema
  const table = model.table.name
  if (`${schema}.${table}`.includes('$tessera$')) {
    // The table name is quoted inside $tessera$-quoted DO blocks; it must not be able to end them.
    problems.push({
      path: `models.${model.name}.table`,
      message: `table name '${table}' contains '$tessera$'`,
    })
  }
  const policies: GeneratedPolicy[] = []
  for (const rule of rules) {
    for (const command of RLS_COMMANDS) {
      const clauses = clausesOf(rule, command)
      if (clauses === null) continue
      const name = `${RLS_POLICY_PREFIX}${rule.name}_${command}`
      if (Buffer.byteLength(name) > MAX_IDENTIFIER_BYTES) {
        problems.push({
          path: `models.${model.name}.rowPolicies`,
          message: `RLS policy name '${name}' is longer than ${MAX_IDENTIFIER_BYTES} bytes (PostgreSQL would truncate it); shorten the row policy's name`,
        })
        continue
      }
      const { using, check } = clauses
      const permissive = rule.permissive
      const definitionHash = sha256Hex(
        JSON.stringify([schema, table, name, command, permissive, using, check]),
      )
      policies.push({
        schema,
        table,
        model: model.name,
        name,
        command,
        permissive,
        using,
        check,
        definitionHash,
      })
    }
  }
  return {
    schema,
    table,
    model: model.name,
    scopedColumns: policy.scoping.map((s) => s.column),
    policies,
    privileges: privilegesFor(model),
  }
}

/**
 * The rules of a model, from the planner (databaseRules: the visibility composition of planVisibility, bound
 * to claims): reads use read visibility; writes use the write path's stricter rules (write-grant.ts,
 * write-check.ts) — rows are targeted through the scope, the permissive rules' write grants (the parts that
 * mention the principal) and bypass rules; a written row must pass the scope when the model is scoped, else
 * every write grant at once, or a bypass.
 */
function rulesOf(model: BoundModel, column: ColumnLookup): Rule[] {
  const planned = databaseRules(model)
  const print = (condition: ConditionNode) => printRlsCondition(condition, column)
  const rules: Rule[] = []
  if (planned.scope !== null) {
    const scope = print(planned.scope)
    rules.push({
      name: 'scope',
      permissive: true,
      select: scope,
      insert: scope,
      update: { using: scope, check: scope },
      delete: scope,
    })
  }
  const grants: string[] = []
  for (const r of planned.permissive) {
    const grantsNothing = r.writeGrant.kind === 'bool' && !r.writeGrant.value
    const target = grantsNothing ? null : print(r.writeGrant)
    if (target !== null) grants.push(target)
    rules.push({
      name: `permissive_${r.name}`,
      permissive: true,
      select: print(r.condition),
      insert: null,
      // A permissive rule lets the write target a row; what may be written is decided by the scope or by
      // the `write_grants` rule below, so its own WITH CHECK grants nothing (permissive checks are ORed).
      update: target === null ? null : { using: target, check: 'false' },
      delete: target,
    })
  }
  if (planned.scope === null && grants.length > 0) {
    const all = grants.length === 1 ? (grants[0] ?? 'false') : `(${grants.join(' and ')})`
    rules.push({
      name: 'write_grants',
      permissive: true,
      select: null,
      insert: all,
      update: { using: 'false', check: all },
      delete: null,
    })
  }
  for (const r of planned.bypass) rules.push(uniformRule(`bypass_${r.name}`, true, print(r.condition)))
  if (planned.shared) rules.push(uniformRule('shared', true, 'true'))
  // Tenant pins: a written row, and a row UPDATE or DELETE targets, holds the caller's claim in every pinned
  // column whichever permissive rule grants the write — unless a bypass holds, which lifts them as in the
  // planner (withTenantPins). Reads are not pinned: a permissive rule may share rows across tenants.
  const bypasses = planned.bypass.map((r) => print(r.condition))
  for (const pin of planned.pins) {
    const pinned = print(pin.condition)
    const holds = bypasses.length === 0 ? pinned : `(${[pinned, ...bypasses].join(' or ')})`
    rules.push(uniformRule(`pin_${pin.name}`, false, holds, { reads: false }))
  }
  for (const r of planned.restrictive) {
    rules.push(uniformRule(`restrictive_${r.name}`, false, print(r.condition)))
  }
  return rules
}

/**
 * A rule whose one condition decides every command it covers: reads (unless `reads: false`), and writes both
 * as the row targeted (USING) and as the row written (WITH CHECK).
 */
function uniformRule(
  name: string,
  permissive: boolean,
  holds: string,
  options: { readonly reads: boolean } = { reads: true },
): Rule {
  return {
    name,
    permissive,
    select: options.reads ? holds : null,
    insert: holds,
    update: { using: holds, check: holds },
    delete: holds,
  }
}

function clausesOf(rule: Rule, command: RlsCommand): { using: string | null; check: string | null } | null {
  switch (command) {
    case 'select':
      return rule.select === null ? null : { using: rule.select, check: null }
    case 'insert':
      return rule.insert === null ? null : { using: null, check: rule.insert }
    case 'update':
      return rule.update === null ? null : { using: rule.update.using, check: rule.update.check }
    case 'delete':
      return rule.delete === null ? null : { using: rule.delete, check: null }
    default: {
      const never: never = command
      throw new Error(`unhandled command ${String(never)}`)
    }
  }
}

function privilegesFor(model: BoundModel): GeneratedTable['privileges'] {
  const w = model.policy.write
  const out: ('SELECT' | 'INSERT' | 'UPDATE' | 'DELETE')[] = ['SELECT']
  if (w.create !== 'deny') out.push('INSERT')
  if (w.update !== 'deny' || (w.delete !== 'deny' && w.softDelete !== null)) out.push('UPDATE')
  if (w.delete !== 'deny' && (w.softDelete === null || w.allowHardDelete)) out.push('DELETE')
  return out
}

function tableStatements(t: GeneratedTable, appRole: string | undefined): string[] {
  const target = quoteTable(t.schema, t.table)
  const out = [
    `alter table ${target} enable row level security`,
    `alter table ${target} force row level security`,
    // Every tessera_* policy goes, including ones for rules since removed from the policy.
    dropGeneratedPolicies(target),
  ]
  for (const p of t.policies) {
    const clauses = [
      `create policy ${quoteIdent(p.name)} on ${target} as ${p.permissive ? 'permissive' : 'restrictive'} for ${p.command} to public`,
      p.using === null ? '' : ` using (${p.using})`,
      p.check === null ? '' : ` with check (${p.check})`,
    ]
    out.push(clauses.join(''))
    // The comment pins both what was generated and how PostgreSQL stored it (see policyExpressionHash in the
    // catalog reader): an ALTER POLICY by hand changes the second.
    out.push(
      `do $tessera$ begin execute format('comment on policy %I on %s is %L', ${quoteLiteral(p.name)}, ` +
        `${quoteLiteral(target)}, ${quoteLiteral(`tessera:${p.definitionHash}:`)} || (select ` +
        `md5(coalesce(pg_catalog.pg_get_expr(polqual, polrelid), '') || '|' || ` +
        `coalesce(pg_catalog.pg_get_expr(polwithcheck, polrelid), '')) from pg_catalog.pg_policy ` +
        `where polrelid = ${quoteLiteral(target)}::regclass and polname = ${quoteLiteral(p.name)})); end $tessera$`,
    )
  }
  if (appRole !== undefined) {
    out.push(`revoke all on ${target} from ${quoteIdent(appRole)}`)
    out.push(`grant ${t.privileges.join(', ')} on ${target} to ${quoteIdent(appRole)}`)
  }
  return out
}
