/**
 * `tessera check <policy>`: load the policy (strict schema) and bind it to a live schema, printing every
 * problem at once. With `--rls <mode>` it also judges the row-level security posture of the role (see
 * src/rls/check-rls-posture.ts) as a table, or JSON with `--json`. Exit code 0 when valid, 1 when the policy
 * is invalid or the posture has an error, 2 when the check itself failed.
 */
import { createPostgresDatabase, probeDatabase } from '../executor/index.ts'
import { isTesseraError, policyInvalid } from '../errors/index.ts'
import { checkPolicyData, readPolicyData, type PolicyCheck, type RowPolicy } from '../policy/index.ts'
import { generateRls, inspectRlsPosture, type PostureReport } from '../rls/index.ts'
import { introspectSchema, readRlsCatalog, type AnyDatabase } from '../schema/index.ts'
import { EXIT_CODES, plural, type CliOutput, type ExitCode } from './cli-output.ts'
import { openDemoDatabase } from './demo-database.ts'
import { DEMO_APP_ROLE } from './saas-fixture.ts'

export interface CheckOptions {
  readonly policyPath: string
  readonly databaseUrl?: string
  readonly role?: string
  /** Schemas to introspect (default: public), as `tessera init --schema`. */
  readonly schemas?: readonly string[]
  /** Also check the RLS posture for this enforcement mode. */
  readonly rls?: 'rls' | 'both'
  readonly output: CliOutput
  /** Where the embedded demo database image is cached (`null`: no cache). */
  readonly cacheDir?: string | null
}

export async function runCheck(options: CheckOptions): Promise<ExitCode> {
  const { output } = options
  let close: () => Promise<void> = async () => {}
  let warnings: readonly CheckWarning[] = []
  try {
    const data = await output.phase('Load the policy', () => readPolicyData(options.policyPath))
    let schema
    let db: AnyDatabase
    if (options.databaseUrl) {
      const database = createPostgresDatabase(options.databaseUrl)
      close = database.close
      db = database.db
      schema = await output.phase('Introspect the database', async () => {
        await probeDatabase(database.db)
        return introspectSchema(database.db, introspectOptions(options, options.role))
      })
    } else {
      const database = await openDemoDatabase({
        output,
        ...(options.cacheDir === undefined ? {} : { cacheDir: options.cacheDir }),
      })
      close = database.close
      db = database.db
      schema = await output.phase('Introspect the embedded demo database', () =>
        introspectSchema(database.db, introspectOptions(options, options.role ?? DEMO_APP_ROLE)),
      )
    }
    const role = options.role ?? (options.databaseUrl ? undefined : DEMO_APP_ROLE)
    // Schema and binding problems in one report, named after the file (a typo no longer hides the rest).
    const check = checkPolicyData(data, schema, options.policyPath)
    warnings = await connectionWarnings(db, check, role)
    printWarnings(warnings, output)
    if (check.bound === undefined) throw policyInvalid(check.problems, options.policyPath)
    const bound = check.bound
    if (options.rls !== undefined) {
      const enforcement = options.rls
      const report = await output.phase('Inspect the row-level security posture', () =>
        inspectRlsPosture(db, bound, generateRls(bound), {
          enforcement,
          ...(role === undefined ? {} : { role }),
        }),
      )
      printPosture(report, output)
      return report.ok ? EXIT_CODES.ok : EXIT_CODES.invalid
    }
    const models = Object.values(bound.models).map((m) => ({
      name: m.name,
      table: m.table.key,
      scope: m.policy.shared
        ? 'shared'
        : m.policy.scoping.map((s) => `${s.column} = ${s.source}`).join(' and ') || 'row policies',
      rowPolicies: m.policy.rowPolicies.map((r) => ({
        name: r.name,
        mode: r.bypass ? 'bypass' : r.mode,
        crossTenant: r.crossTenant,
        explanation: explainRule(r),
      })),
    }))
    const tables = Object.keys(schema.tables).length
    output.data({ ok: true, policy: options.policyPath, tables, models, warnings })
    output.say(
      `${output.paint.ok('✔')} ${options.policyPath}: ${plural(models.length, 'model')} valid against ${plural(tables, 'table')}`,
    )
    for (const m of models) {
      output.say(`  ${m.name} → ${m.table} ${output.paint.dim(`(${m.scope})`)}`)
      for (const r of m.rowPolicies) output.say(`    ${r.name}: ${r.explanation}`)
    }
    return EXIT_CODES.ok
  } catch (error) {
    if (isTesseraError(error)) {
      const code = error.code === 'POLICY_INVALID' ? EXIT_CODES.invalid : EXIT_CODES.environment
      output.data({ ok: false, error: error.toJSON(), warnings })
      output.problem(`${output.paint.fail('✘')} ${error.code}: ${error.message}`)
      for (const hint of error.hints) output.problem(`  hint: ${hint}`)
      return code
    }
    const message = error instanceof Error ? error.message : String(error)
    output.data({ ok: false, error: { code: 'CHECK_FAILED', message }, warnings })
    output.problem(`${output.paint.fail('✘')} check failed: ${message}`)
    return EXIT_CODES.environment
  } finally {
    await close()
  }
}

/** What `--role` and `--schema` ask of introspection (src/schema introspectSchema). */
export function introspectOptions(
  options: { readonly schemas?: readonly string[] },
  role: string | undefined,
): { role?: string; schemas?: readonly string[] } {
  return {
    ...(role === undefined ? {} : { role }),
    ...(options.schemas === undefined ? {} : { schemas: options.schemas }),
  }
}

export interface CheckWarning {
  readonly code: 'SUPERUSER' | 'BYPASSRLS' | 'TABLE_OWNER'
  readonly table?: string
  readonly message: string
}

/**
 * A connection that bypasses row-level security is a warning (issue 9, item 15): a superuser, a BYPASSRLS role,
 * or the owner of a model's table (an owner is exempt from RLS unless it is forced, and may switch it off).
 * Enforcement `app` still scopes every statement; the database is then no second wall.
 */
async function connectionWarnings(
  db: AnyDatabase,
  check: PolicyCheck,
  role: string | undefined,
): Promise<CheckWarning[]> {
  const tables = check.bound
    ? [...new Set(Object.values(check.bound.models).map((m) => m.table))].map((t) => ({
        schema: t.schema,
        name: t.name,
      }))
    : []
  const facts = await readRlsCatalog(db, tables, role === undefined ? {} : { role })
  const who = facts.role.name
  const warnings: CheckWarning[] = []
  if (facts.role.superuser) {
    warnings.push({
      code: 'SUPERUSER',
      message:
        `connected as superuser '${who}': row-level security does not apply and every grant is implied; ` +
        'connect as a role with only the grants the policy needs',
    })
  } else {
    if (facts.role.bypassRls) {
      warnings.push({
        code: 'BYPASSRLS',
        message: `role '${who}' has BYPASSRLS: row-level security does not apply to it (ALTER ROLE ${who} NOBYPASSRLS)`,
      })
    }
    for (const table of facts.tables) {
      if (!table.roleOwns) continue
      const key = table.schema === 'public' ? table.name : `${table.schema}.${table.name}`
      warnings.push({
        code: 'TABLE_OWNER',
        table: key,
        message:
          `role '${who}' owns table '${key}'${table.owner === who ? '' : ` (through role '${table.owner ?? '?'}')`}: ` +
          'row-level security does not apply to an owner unless forced, and an owner can switch it off; ' +
          'let another role own the table',
      })
    }
  }
  return warnings
}

function printWarnings(warnings: readonly CheckWarning[], output: CliOutput): void {
  for (const w of warnings) output.problem(`${output.paint.dim('⚠')} warning ${w.code}: ${w.message}`)
}

/** With `--json`, the report as one JSON document; otherwise a table. */
function printPosture(report: PostureReport, output: CliOutput): void {
  output.data(report)
  const errors = report.findings.filter((f) => f.severity === 'error').length
  output.say(
    `${report.ok ? output.paint.ok('✔') : output.paint.fail('✘')} RLS posture for role '${report.role}': ` +
      `${errors} error(s), ${report.findings.length - errors} warning(s)`,
  )
  for (const f of report.findings) {
    output.say(`  ${f.severity.padEnd(7)} ${f.code.padEnd(28)} ${(f.table ?? '-').padEnd(24)} ${f.message}`)
  }
}

/** What a row policy does to visibility, in the words a policy author needs (docs/contract.md §3). */
function explainRule(rule: RowPolicy): string {
  if (rule.bypass) {
    return `bypass — when \`${rule.source}\` holds, scoping and permissive rules are lifted (audited)`
  }
  if (rule.mode === 'restrictive') {
    return `restrictive — narrows: rows must also satisfy \`${rule.source}\` (a rule without mode is restrictive)`
  }
  return rule.crossTenant
    ? `permissive, crossTenant — widens to rows of other tenants where \`${rule.source}\` holds`
    : `permissive — widens: rows where \`${rule.source}\` holds are visible too`
}
