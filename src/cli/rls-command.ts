/**
 * `tessera rls generate --policy FILE`: prints the row-level security script generated from a policy (see
 * src/rls/generate-rls.ts) for the tables of a live schema — PostgreSQL with `--database-url` (or
 * DATABASE_URL), else the embedded demo database (from the cached image, as `check` does). The script is for the
 * tables' owner to run (psql -1 -f, or a migration); this command never changes the database. With `--json` it
 * prints one document `{ ok, policy, sql }` instead. Exit 0 on success, 1 when the policy is invalid, 2 when
 * generation failed.
 */
import { Option, type Command } from 'commander'
import { createPostgresDatabase, probeDatabase } from '../executor/index.ts'
import { isTesseraError } from '../errors/index.ts'
import { bindPolicy, loadPolicyFile } from '../policy/index.ts'
import { generateRls, rlsScript } from '../rls/index.ts'
import { introspectSchema } from '../schema/index.ts'
import { EXIT_CODES, processCliOutput, type CliOutput, type ExitCode } from './cli-output.ts'
import { openDemoDatabase } from './demo-database.ts'
import { DEMO_APP_ROLE } from './saas-fixture.ts'
import { introspectOptions } from './check-command.ts'

export interface RlsGenerateOptions {
  readonly policyPath: string
  readonly databaseUrl?: string
  /** Role whose view of the schema the policy binds against (as `tessera check --role`). */
  readonly role?: string
  /** Schemas to introspect (default: public), as `tessera init --schema`. */
  readonly schemas?: readonly string[]
  /** When set, the script also revokes and grants this role's privileges on each model table. */
  readonly appRole?: string
  readonly output: CliOutput
  /** Where the embedded demo database image is cached (`null`: no cache). */
  readonly cacheDir?: string | null
}

export async function runRlsGenerate(options: RlsGenerateOptions): Promise<ExitCode> {
  const { output } = options
  let close: () => Promise<void> = async () => {}
  try {
    const policy = await output.phase('Load the policy', () => loadPolicyFile(options.policyPath))
    let schema
    if (options.databaseUrl) {
      const database = createPostgresDatabase(options.databaseUrl)
      close = database.close
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
      schema = await output.phase('Introspect the embedded demo database', () =>
        introspectSchema(database.db, introspectOptions(options, options.role ?? DEMO_APP_ROLE)),
      )
    }
    const generated = generateRls(
      bindPolicy(policy, schema),
      options.appRole === undefined ? {} : { appRole: options.appRole },
    )
    const sql = rlsScript(generated)
    output.data({ ok: true, policy: options.policyPath, sql })
    if (!output.json) output.say(sql.replace(/\n$/, ''))
    return EXIT_CODES.ok
  } catch (error) {
    if (isTesseraError(error)) {
      output.data({ ok: false, error: error.toJSON() })
      output.problem(`${output.paint.fail('✘')} ${error.code}: ${error.message}`)
      return error.code === 'POLICY_INVALID' ? EXIT_CODES.invalid : EXIT_CODES.environment
    }
    const message = error instanceof Error ? error.message : String(error)
    output.data({ ok: false, error: { code: 'RLS_GENERATE_FAILED', message } })
    output.problem(`${output.paint.fail('✘')} rls generate failed: ${message}`)
    return EXIT_CODES.environment
  } finally {
    await close()
  }
}

interface RlsGenerateFlags {
  readonly policy?: string
  readonly databaseUrl?: string
  readonly role?: string
  readonly schema?: readonly string[]
  readonly appRole?: string
  readonly json?: boolean
  readonly verbose?: boolean
  /** commander turns `--no-cache` into `cache: false`. */
  readonly cache?: boolean
}

/** Adds `tessera rls generate` to the program (main.ts registers it with one line). */
export function registerRlsCommand(program: Command): void {
  const rls = program.command('rls').description('Row-level security generated from a policy')
  rls
    .command('generate')
    .description("Print the SQL that enables, forces and creates the policy's row-level security policies")
    .addOption(new Option('--policy <file>', 'policy file (.yaml or .json)').env('TESSERA_POLICY'))
    .addOption(
      new Option(
        '--database-url <url>',
        'PostgreSQL connection string (default: the embedded demo database)',
      ).env('DATABASE_URL'),
    )
    .option('--role <role>', 'role whose view of the schema the policy binds against')
    .option('--schema <name...>', 'schemas to introspect (default: public)')
    .option('--app-role <role>', 'also revoke and grant the least privileges this role needs on each table')
    .option('--json', 'print one JSON document { ok, policy, sql } instead of the script')
    .option('--verbose', 'print the time each phase took (stderr)')
    .option('--no-cache', 'build the embedded database from SQL instead of the cached image')
    .action(async (opts: RlsGenerateFlags) => {
      const output = processCliOutput(opts)
      if (opts.policy === undefined || opts.policy === '') {
        output.problem('tessera rls generate: name a policy file with --policy (or set TESSERA_POLICY)')
        process.exitCode = EXIT_CODES.invalid
        return
      }
      process.exitCode = await runRlsGenerate({
        policyPath: opts.policy,
        output,
        ...(opts.databaseUrl === undefined ? {} : { databaseUrl: opts.databaseUrl }),
        ...(opts.role === undefined ? {} : { role: opts.role }),
        ...(opts.schema === undefined ? {} : { schemas: opts.schema }),
        ...(opts.appRole === undefined ? {} : { appRole: opts.appRole }),
        ...(opts.cache === false ? { cacheDir: null } : {}),
      })
    })
}
