/**
 * `tessera rls generate --policy FILE`: prints the row-level security script generated from a policy (see
 * src/rls/generate-rls.ts) for the tables of a live schema — PostgreSQL with `--database-url`, else the
 * embedded demo database. The script is for the tables' owner to run (psql -1 -f, or a migration); this
 * command never changes the database. Exit 0 on success, 1 when the policy is invalid, 2 when generation failed.
 */
import type { Command } from 'commander'
import { createPgliteDatabase, createPostgresDatabase, probeDatabase } from '../executor/index.ts'
import { isTesseraError } from '../errors/index.ts'
import { bindPolicy, loadPolicyFile } from '../policy/index.ts'
import { generateRls, rlsScript } from '../rls/index.ts'
import { introspectSchema } from '../schema/index.ts'
import { DEMO_APP_ROLE, saasFixtureSql } from './saas-fixture.ts'

export interface RlsGenerateOptions {
  readonly policyPath: string
  readonly databaseUrl?: string
  /** Role whose view of the schema the policy binds against (as `tessera check --role`). */
  readonly role?: string
  /** When set, the script also revokes and grants this role's privileges on each model table. */
  readonly appRole?: string
  readonly out: (text: string) => void
  readonly err: (line: string) => void
}

export async function runRlsGenerate(options: RlsGenerateOptions): Promise<number> {
  let close: () => Promise<void> = async () => {}
  try {
    const policy = await loadPolicyFile(options.policyPath)
    let schema
    if (options.databaseUrl) {
      const database = createPostgresDatabase(options.databaseUrl)
      close = database.close
      await probeDatabase(database.db)
      schema = await introspectSchema(database.db, options.role === undefined ? {} : { role: options.role })
    } else {
      const database = await createPgliteDatabase()
      close = database.close
      await database.pglite.exec(saasFixtureSql())
      schema = await introspectSchema(database.db, { role: options.role ?? DEMO_APP_ROLE })
    }
    const generated = generateRls(
      bindPolicy(policy, schema),
      options.appRole === undefined ? {} : { appRole: options.appRole },
    )
    options.out(rlsScript(generated))
    return 0
  } catch (error) {
    if (isTesseraError(error)) {
      options.err(`✘ ${error.code}: ${error.message}`)
      return error.code === 'POLICY_INVALID' ? 1 : 2
    }
    options.err(`✘ rls generate failed: ${error instanceof Error ? error.message : String(error)}`)
    return 2
  } finally {
    await close()
  }
}

/** Adds `tessera rls generate` to the program (main.ts registers it with one line). */
export function registerRlsCommand(program: Command): void {
  const rls = program.command('rls').description('Row-level security generated from a policy')
  rls
    .command('generate')
    .description("Print the SQL that enables, forces and creates the policy's row-level security policies")
    .requiredOption('--policy <file>', 'policy file (.yaml or .json)')
    .option('--database-url <url>', 'PostgreSQL connection string (default: the embedded demo database)')
    .option('--role <role>', 'role whose view of the schema the policy binds against')
    .option('--app-role <role>', 'also revoke and grant the least privileges this role needs on each table')
    .action(async (opts: { policy: string; databaseUrl?: string; role?: string; appRole?: string }) => {
      const { policy, ...rest } = opts
      process.exitCode = await runRlsGenerate({
        policyPath: policy,
        ...rest,
        out: (text) => process.stdout.write(text),
        err: (line) => console.error(line),
      })
    })
}
