/**
 * `tessera check <policy>`: load the policy (strict schema) and bind it to a live schema, printing every
 * problem at once. Exit code 0 when valid, 1 when the policy is invalid, 2 when the check itself failed.
 */
import { createPgliteDatabase, createPostgresDatabase, serverVersion } from '../executor/index.ts'
import { isTesseraError } from '../errors/index.ts'
import { bindPolicy, loadPolicyFile, type RowPolicy } from '../policy/index.ts'
import { introspectSchema } from '../schema/index.ts'
import { DEMO_APP_ROLE, saasFixtureSql } from './saas-fixture.ts'

export interface CheckOptions {
  readonly policyPath: string
  readonly databaseUrl?: string
  readonly role?: string
  readonly out: (line: string) => void
  readonly err: (line: string) => void
}

export async function runCheck(options: CheckOptions): Promise<number> {
  let close: () => Promise<void> = async () => {}
  try {
    const policy = await loadPolicyFile(options.policyPath)
    let schema
    if (options.databaseUrl) {
      const database = createPostgresDatabase(options.databaseUrl)
      close = database.close
      await serverVersion(database.db)
      schema = await introspectSchema(database.db, options.role === undefined ? {} : { role: options.role })
    } else {
      const database = await createPgliteDatabase()
      close = database.close
      await database.pglite.exec(saasFixtureSql())
      schema = await introspectSchema(database.db, { role: options.role ?? DEMO_APP_ROLE })
    }
    const bound = bindPolicy(policy, schema)
    const models = Object.values(bound.models)
    options.out(
      `✔ ${options.policyPath}: ${models.length} models valid against ${Object.keys(schema.tables).length} tables`,
    )
    for (const m of models) {
      const scope = m.policy.shared
        ? 'shared'
        : m.policy.scoping.map((s) => `${s.column} = ${s.source}`).join(' and ') || 'row policies'
      options.out(`  ${m.name} → ${m.table.key} (${scope})`)
      for (const rule of m.policy.rowPolicies) options.out(`    ${rule.name}: ${explainRule(rule)}`)
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

/** What a row policy does to visibility, in the words a policy author needs (DESIGN §3). */
function explainRule(rule: RowPolicy): string {
  if (rule.bypass)
    return `bypass — when \`${rule.source}\` holds, scoping and permissive rules are lifted (audited)`
  if (rule.mode === 'restrictive') {
    return `restrictive — narrows: rows must also satisfy \`${rule.source}\` (a rule without mode is restrictive)`
  }
  return rule.crossTenant
    ? `permissive, crossTenant — widens to rows of other tenants where \`${rule.source}\` holds`
    : `permissive — widens: rows where \`${rule.source}\` holds are visible too`
}
