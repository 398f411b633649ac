/**
 * The `tessera` command. Console output is allowed here and only here (stdout belongs to the CLI).
 * Each command's module is imported inside its action: `tessera --help` and `--version` load commander and
 * nothing else (no Kysely, zod, pg or PGlite), so they answer in well under the 300 ms a CLI is allowed.
 */
import { readFileSync } from 'node:fs'
import { URL } from 'node:url'
import { Command, Option } from 'commander'
import { EXIT_CODES, EXIT_CODES_HELP, processCliOutput, type CliOutput } from './cli-output.ts'
import { addLazyCommand } from './lazy-command.ts'

interface OutputFlags {
  readonly json?: boolean
  readonly verbose?: boolean
  /** commander turns `--no-cache` into `cache: false`. */
  readonly cache?: boolean
}

// `tessera … | head` closes stdout early: stop quietly, as other CLIs do, instead of an unhandled EPIPE trace.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code !== 'EPIPE') throw error
  process.exit(process.exitCode ?? EXIT_CODES.ok)
})

const program = new Command()
program
  .name('tessera')
  .description('Safe, typed, audited access to multi-tenant PostgreSQL data for AI agents')
  .version(packageVersion(), '-v, --version', 'print the version')
  .addHelpText('after', `\n${EXIT_CODES_HELP}`)
  .showSuggestionAfterError()

program
  .command('demo')
  .description('Run a scripted agent session on an embedded database (no server needed)')
  .option('--json', 'print machine-readable JSON lines instead of the narrated transcript')
  .option('--verbose', 'print the time each phase took (stderr)')
  .option('--no-cache', 'build the embedded database from SQL instead of the cached image')
  .option('--serve', 'then serve the demo database over MCP (stdio; the transcript goes to stderr)')
  .option('--http <host:port>', 'with --serve: serve HTTP in dev mode instead (local use only)')
  .action(async (opts: OutputFlags & { serve?: boolean; http?: string }) => {
    if (opts.serve === true) {
      const { runDemoServe } = await import('./demo-serve-command.ts')
      process.exitCode = await runDemoServe(opts)
      return
    }
    await run(opts, async (output) => {
      const { runDemo } = await import('./demo-command.ts')
      await runDemo({ output, ...cacheOption(opts) })
      return EXIT_CODES.ok
    })
  })

program
  .command('check')
  .description(
    'Validate a policy file against a database schema (PostgreSQL URL, or the embedded demo database)',
  )
  .argument('[policy]', 'policy file (.yaml or .json) (env: TESSERA_POLICY)', process.env['TESSERA_POLICY'])
  .addOption(
    new Option(
      '--database-url <url>',
      'PostgreSQL connection string (default: the embedded demo database)',
    ).env('DATABASE_URL'),
  )
  .option('--role <role>', 'role to check privileges as (default: the connecting role)')
  .option('--schema <name...>', 'schemas to introspect (default: public)')
  .option('--rls <mode>', "also check the row-level security posture for enforcement 'rls' or 'both'")
  .option('--json', 'print one JSON document with the models, the problems or the RLS posture')
  .option('--verbose', 'print the time each phase took (stderr)')
  .option('--no-cache', 'build the embedded database from SQL instead of the cached image')
  .action(
    async (
      policy: string | undefined,
      opts: OutputFlags & { databaseUrl?: string; role?: string; schema?: string[]; rls?: string },
    ) => {
      await run(opts, async (output) => {
        if (policy === undefined || policy === '') {
          output.problem('tessera check: name a policy file (or set TESSERA_POLICY)')
          return EXIT_CODES.invalid
        }
        const rls = opts.rls
        if (rls !== undefined && rls !== 'rls' && rls !== 'both') {
          output.problem(`✘ --rls must be 'rls' or 'both', not '${rls}'`)
          return EXIT_CODES.invalid
        }
        const { runCheck } = await import('./check-command.ts')
        return runCheck({
          policyPath: policy,
          output,
          ...(opts.databaseUrl === undefined ? {} : { databaseUrl: opts.databaseUrl }),
          ...(opts.role === undefined ? {} : { role: opts.role }),
          ...(opts.schema === undefined ? {} : { schemas: opts.schema }),
          ...(rls === undefined ? {} : { rls }),
          ...cacheOption(opts),
        })
      })
    },
  )

await addLazyCommand(
  program,
  process.argv,
  'rls',
  'Row-level security scripts generated from a policy',
  async (p) => {
    const { registerRlsCommand } = await import('./rls-command.ts')
    registerRlsCommand(p)
  },
)

program
  .command('init')
  .description('Write a starter policy from a live schema (--db), the demo database (--demo) or a template')
  .addOption(new Option('--db <url>', 'PostgreSQL connection string to introspect').env('DATABASE_URL'))
  .option('--demo', 'introspect the embedded demo database')
  .option('--out <file>', 'file to write, or - for stdout', 'tessera.policy.yaml')
  .option('--force', 'overwrite the file if it exists')
  .option('--role <role>', 'role to introspect as (default: the connecting role)')
  .option('--schema <name...>', 'schemas to introspect (default: public)')
  .option('--tenant-column <name>', "the tenant column's name, when init does not recognise it")
  .option('--json', 'print one JSON document describing what was written')
  .option('--verbose', 'print the time each phase took (stderr)')
  .option('--no-cache', 'build the embedded database from SQL instead of the cached image')
  .action(
    async (
      opts: OutputFlags & {
        db?: string
        demo?: boolean
        out: string
        force?: boolean
        role?: string
        schema?: string[]
        tenantColumn?: string
      },
    ) => {
      await run(opts, async (output) => {
        const { runInit } = await import('./init-command.ts')
        return runInit({
          output,
          out: opts.out,
          force: opts.force === true,
          // --demo wins over a DATABASE_URL that happens to be set in the environment.
          ...(opts.db === undefined || opts.demo === true ? {} : { databaseUrl: opts.db }),
          ...(opts.demo === true ? { demo: true } : {}),
          ...(opts.role === undefined ? {} : { role: opts.role }),
          ...(opts.schema === undefined ? {} : { schemas: opts.schema }),
          ...(opts.tenantColumn === undefined ? {} : { tenantColumn: opts.tenantColumn }),
          ...cacheOption(opts),
        })
      })
    },
  )

await addLazyCommand(
  program,
  process.argv,
  'audit',
  'Read, verify and prune the audit trail (JSONL file or PostgreSQL)',
  async (p) => {
    const { auditCommand } = await import('./audit-command.ts')
    p.addCommand(auditCommand({ out: (line) => console.log(line), err: (line) => console.error(line) }))
  },
)

await addLazyCommand(
  program,
  process.argv,
  'serve',
  'Serve the toolset over MCP: stdio (default) or Streamable HTTP (--http)',
  async (p) => {
    const { registerServeCommand } = await import('./serve-command.ts')
    registerServeCommand(p)
  },
)

await addLazyCommand(
  program,
  process.argv,
  'mcp-config',
  'Print the JSON to paste into an MCP client (Claude Desktop, Cursor, VS Code)',
  async (p) => {
    const { registerMcpConfigCommand } = await import('./mcp-config-command.ts')
    registerMcpConfigCommand(p)
  },
)

await addLazyCommand(
  program,
  process.argv,
  'api-key',
  'Create, list and revoke API keys in an auth file',
  async (p) => {
    const { registerApiKeyCommand } = await import('./api-key-command.ts')
    registerApiKeyCommand(p)
  },
)

await addLazyCommand(
  program,
  process.argv,
  'approvals',
  'List, approve and deny writes waiting for approval',
  async (p) => {
    const { registerApprovalsCommand } = await import('./approvals-command.ts')
    registerApprovalsCommand(p)
  },
)

await addLazyCommand(
  program,
  process.argv,
  'eval',
  'Run eval suites, a generated isolation suite and a fuzz run against a policy',
  async (p) => {
    const { registerEvalCommand } = await import('./eval-command.ts')
    registerEvalCommand(p)
  },
)

await program.parseAsync(process.argv)

/** Runs a command with its output; anything thrown is an environment failure (exit 2), never a stack trace. */
async function run(flags: OutputFlags, command: (output: CliOutput) => Promise<number>): Promise<void> {
  const output = processCliOutput(flags)
  const started = performance.now()
  try {
    process.exitCode = await command(output)
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error)
    output.data({ ok: false, error: { code: 'COMMAND_FAILED', message } })
    output.problem(`${output.paint.fail('✘')} ${message}`)
    process.exitCode = EXIT_CODES.environment
  } finally {
    output.detail(output.paint.dim(`⏱ total: ${Math.round(performance.now() - started)} ms`))
  }
}

function cacheOption(flags: OutputFlags): { cacheDir?: null } {
  return flags.cache === false ? { cacheDir: null } : {}
}

/** The version in package.json (read, not imported: src/cli and dist/cli sit at the same depth). */
function packageVersion(): string {
  const text = readFileSync(new URL('../../package.json', import.meta.url), 'utf8')
  return (JSON.parse(text) as { version: string }).version
}
