/** The `tessera` command. Console output is allowed here and only here (stdout belongs to the CLI). */
import { Command } from 'commander'
import { runCheck } from './check-command.ts'
import { runDemo } from './demo-command.ts'
import { runServe, type ServeOptions } from './serve-command.ts'
import { runMcpConfig, type McpConfigOptions } from './mcp-config-command.ts'
import { runApiKey } from './api-key-command.ts'
import { runApprovals, type ApprovalsOptions } from './approvals-command.ts'
import { reportErrors } from './report-errors.ts'

const program = new Command()
program
  .name('tessera')
  .description('Safe, typed, audited access to multi-tenant PostgreSQL data for AI agents')

program
  .command('demo')
  .description('Run a scripted agent session on an embedded database (no server needed)')
  .option('--json', 'print machine-readable JSON lines instead of the narrated transcript')
  .option('--serve', 'then serve the demo database over MCP (stdio; transcript goes to stderr)')
  .option('--http <host:port>', 'with --serve: serve over HTTP in dev mode instead (local use only)')
  .action(async (opts: { json?: boolean; serve?: boolean; http?: string }) => {
    // When serving stdio, stdout belongs to the protocol: the transcript goes to stderr.
    const out =
      opts.serve === true ? (line: string) => console.error(line) : (line: string) => console.log(line)
    await runDemo({ json: opts.json === true, out })
    if (opts.serve === true) {
      console.error('\nServing the demo database over MCP. Client configuration to paste:')
      runMcpConfig(opts.http === undefined ? {} : { url: `http://${opts.http}/mcp` }, (l) => console.error(l))
      await reportErrors(() =>
        runServe(
          { demo: true, ...(opts.http === undefined ? {} : { http: opts.http, dev: true }) },
          console.error,
        ),
      )
    }
  })

program
  .command('check')
  .description(
    'Validate a policy file against a database schema (PostgreSQL URL, or the embedded demo database)',
  )
  .argument('<policy>', 'policy file (.yaml or .json)')
  .option('--database-url <url>', 'PostgreSQL connection string (default: the embedded demo database)')
  .option('--role <role>', 'role to check privileges as (default: the connecting role)')
  .action(async (policy: string, opts: { databaseUrl?: string; role?: string }) => {
    const code = await runCheck({
      policyPath: policy,
      ...opts,
      out: (line) => console.log(line),
      err: (line) => console.error(line),
    })
    process.exitCode = code
  })

program
  .command('serve')
  .description('Serve the toolset over MCP: stdio (default) or Streamable HTTP (--http)')
  .option('--policy <file>', 'policy file (.yaml or .json); default with --demo: policies/demo.yaml')
  .option('--db <url>', 'PostgreSQL connection string (default: TESSERA_DATABASE_URL)')
  .option('--demo', 'serve the embedded demo database (no setup)')
  .option('--http <host:port>', 'serve Streamable HTTP on HOST:PORT instead of stdio')
  .option('--auth <file>', 'auth file: API keys and/or JWT settings (required for --http unless --dev)')
  .option('--dev', 'HTTP without credentials as one fixed principal (local development only)')
  .option('--principal <json>', 'the principal for stdio and --dev, e.g. {"tenantId":"t1"}')
  .option('--role <role>', 'role to assume inside every transaction')
  .option('--approvals-db <url>', 'database holding tessera_approvals (default: --db)')
  .action(async (opts: ServeOptions) => {
    await reportErrors(() => runServe(opts, console.error))
  })

program
  .command('mcp-config')
  .description('Print the JSON to paste into an MCP client (Claude Desktop, Cursor, VS Code)')
  .option('--client <kind>', 'claude | cursor | vscode', 'claude')
  .option('--policy <file>', 'policy file to serve')
  .option('--db', 'serve PostgreSQL (TESSERA_DATABASE_URL) instead of the demo database')
  .option('--url <url>', 'a running HTTP server instead of a local stdio process')
  .option('--principal <json>', 'the principal the stdio server acts as')
  .action((opts: McpConfigOptions) => {
    runMcpConfig(opts, (line) => console.log(line))
  })

const apiKey = program.command('api-key').description('Create, list and revoke API keys in an auth file')
for (const action of ['create', 'list', 'revoke'] as const) {
  const cmd = apiKey
    .command(action)
    .requiredOption('--auth <file>', 'auth file (.yaml or .json)')
    .option('--json', 'machine-readable output')
  if (action !== 'list') cmd.option('--id <name>', 'name of the key')
  if (action === 'create') {
    cmd
      .option('--principal <json>', 'principal the key acts as, e.g. {"tenantId":"t1","roles":["member"]}')
      .option('--rate <burst/perSecond>', 'rate limit of this key, e.g. 20/5')
  }
  cmd.action(
    async (opts: { auth: string; id?: string; principal?: string; rate?: string; json?: boolean }) => {
      await reportErrors(() => runApiKey(action, opts, (line) => console.log(line)))
    },
  )
}

const approvals = program
  .command('approvals')
  .description('List, approve and deny writes waiting for approval')
for (const action of ['list', 'approve', 'deny'] as const) {
  const cmd = approvals
    .command(action === 'list' ? 'list' : `${action} <id>`)
    .option('--db <url>', 'PostgreSQL connection string (default: TESSERA_DATABASE_URL)')
    .option('--json', 'machine-readable output')
  if (action === 'list')
    cmd.option('--status <status>', 'pending | approved | rejected', 'pending').option('--tenant <id>')
  else cmd.option('--as <name>', 'approver name recorded with the decision (default: your user name)')
  cmd.action(async (...args: unknown[]) => {
    const id = action === 'list' ? undefined : (args[0] as string)
    const opts = (action === 'list' ? args[0] : args[1]) as ApprovalsOptions
    await reportErrors(() => runApprovals(action, id, opts, (line) => console.log(line)))
  })
}

await program.parseAsync(process.argv)
