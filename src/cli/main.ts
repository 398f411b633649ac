/** The `tessera` command. Console output is allowed here and only here (stdout belongs to the CLI). */
import { Command } from 'commander'
import { auditCommand } from './audit-command.ts'
import { runCheck } from './check-command.ts'
import { runDemo } from './demo-command.ts'

const program = new Command()
program
  .name('tessera')
  .description('Safe, typed, audited access to multi-tenant PostgreSQL data for AI agents')

program
  .command('demo')
  .description('Run a scripted agent session on an embedded database (no server needed)')
  .option('--json', 'print machine-readable JSON lines instead of the narrated transcript')
  .action(async (opts: { json?: boolean }) => {
    await runDemo({ json: opts.json === true, out: (line) => console.log(line) })
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

program.addCommand(auditCommand({ out: (line) => console.log(line), err: (line) => console.error(line) }))

await program.parseAsync(process.argv)
