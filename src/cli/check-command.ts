/**
 * `tessera check <policy>`: load the policy (strict schema) and bind it to a live schema, printing every
 * problem at once. With `--rls <mode>` it also judges the row-level security posture of the role (see
 * src/rls/check-rls-posture.ts) as a table, or JSON with `--json`. Exit code 0 when valid, 1 when the policy
 * is invalid or the posture has an error, 2 when the check itself failed.
 */
import { createPgliteDatabase, createPostgresDatabase, serverVersion } from '../executor/index.ts'
import { isTesseraError } from '../errors/index.ts'
import { bindPolicy, loadPolicyFile } from '../policy/index.ts'
import { generateRls, inspectRlsPosture, type PostureReport } from '../rls/index.ts'
import { introspectSchema, type AnyDatabase } from '../schema/index.ts'
import { DEMO_APP_ROLE, saasFixtureSql } from './saas-fixture.ts'

export interface CheckOptions {
  readonly policyPath: string
  readonly databaseUrl?: string
  readonly role?: string
  /** Also check the RLS posture for this enforcement mode. */
  readonly rls?: 'rls' | 'both'
  /** Print the posture report as JSON (with `rls`). */
  readonly json?: boolean
  readonly out: (line: string) => void
  readonly err: (line: string) => void
}

export async function runCheck(options: CheckOptions): Promise<number> {
  let close: () => Promise<void> = async () => {}
  try {
    const policy = await loadPolicyFile(options.policyPath)
    let schema
    let db: AnyDatabase
    if (options.databaseUrl) {
      const database = createPostgresDatabase(options.databaseUrl)
      close = database.close
      db = database.db
      await serverVersion(database.db)
      schema = await introspectSchema(database.db, options.role === undefined ? {} : { role: options.role })
    } else {
      const database = await createPgliteDatabase()
      close = database.close
      db = database.db
      await database.pglite.exec(saasFixtureSql())
      schema = await introspectSchema(database.db, { role: options.role ?? DEMO_APP_ROLE })
    }
    const bound = bindPolicy(policy, schema)
    if (options.rls !== undefined) {
      const role = options.role ?? (options.databaseUrl ? undefined : DEMO_APP_ROLE)
      const report = await inspectRlsPosture(db, bound, generateRls(bound), {
        enforcement: options.rls,
        ...(role === undefined ? {} : { role }),
      })
      printPosture(report, options)
      return report.ok ? 0 : 1
    }
    const models = Object.values(bound.models)
    options.out(
      `✔ ${options.policyPath}: ${models.length} models valid against ${Object.keys(schema.tables).length} tables`,
    )
    for (const m of models) {
      const scope = m.policy.shared
        ? 'shared'
        : m.policy.scoping.map((s) => `${s.column} = ${s.source}`).join(' and ') || 'row policies'
      options.out(`  ${m.name} → ${m.table.key} (${scope})`)
    }
    return 0
  } catch (error) {
    if (isTesseraError(error)) {
      options.err(`✘ ${error.code}: ${error.message}`)
      return error.code === 'POLICY_INVALID' ? 1 : 2
    }
    options.err(`✘ check failed: ${error instanceof Error ? error.message : String(error)}`)
    return 2
  } finally {
    await close()
  }
}

function printPosture(report: PostureReport, options: CheckOptions): void {
  if (options.json) {
    options.out(JSON.stringify(report, null, 2))
    return
  }
  const errors = report.findings.filter((f) => f.severity === 'error').length
  options.out(
    `${report.ok ? '✔' : '✘'} RLS posture for role '${report.role}': ${errors} error(s), ` +
      `${report.findings.length - errors} warning(s)`,
  )
  for (const f of report.findings) {
    options.out(`  ${f.severity.padEnd(7)} ${f.code.padEnd(28)} ${(f.table ?? '-').padEnd(24)} ${f.message}`)
  }
}
