/**
 * `tessera serve`: the MCP server on stdio (one principal from the server's own configuration) or on HTTP
 * (principals only from verified credentials; `--dev` serves one fixed principal and says so loudly). With
 * `--demo` it runs on the embedded SaaS fixture and needs no setup at all. Nothing but protocol goes to stdout.
 */
import type { Command } from 'commander'
import { reportErrors } from './report-errors.ts'
import { randomBytes } from 'node:crypto'
import { dirname, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { pino, type Logger } from 'pino'
import { parseRunContext, type Principal } from '../context/index.ts'
import { TesseraError } from '../errors/index.ts'
import { createPgliteDatabase, createPostgresDatabase, probeDatabase } from '../executor/index.ts'
import { createMcpServer, type ListeningServer, type TesseraMcpServer } from '../mcp/index.ts'
import { loadPolicyFile } from '../policy/index.ts'
import type { AnyDatabase } from '../schema/index.ts'
import { ensureApprovalTable, PostgresApprovalStore, type ApprovalStore } from '../stores/index.ts'
import { recordingFile, recordingToolset } from '../eval/index.ts'
import { createToolset, type Toolset } from '../tools/index.ts'
import { DEMO_APP_ROLE, saasFixtureSql } from './saas-fixture.ts'

/** The demo's stdio principal: a member of acme, the fixture's first tenant. */
export const DEMO_PRINCIPAL: Principal = {
  tenantId: 'a0000000-0000-4000-8000-000000000000',
  userId: 'a0000000-0000-4000-8000-0000000000a2',
  roles: ['member'],
}

export const DEMO_POLICY_PATH = fileURLToPath(new URL('../../policies/demo.yaml', import.meta.url))

export interface ServeOptions {
  readonly policy?: string
  readonly db?: string
  readonly demo?: boolean
  /** `HOST:PORT` (port 0 picks one); absent: stdio. */
  readonly http?: string
  readonly auth?: string
  readonly dev?: boolean
  /** JSON principal for stdio and `--dev`. */
  readonly principal?: string
  /** Role to assume in every transaction (e.g. a non-owner role on PostgreSQL). */
  readonly role?: string
  /** Schemas the policy's tables live in (default: public), as `tessera init --schema`. */
  readonly schema?: readonly string[]
  /** Where approvals live (default: the `tessera_approvals` table through --db). */
  readonly approvalsDb?: string
  /** Append every tool call (principal, arguments, outcome) to this JSONL file, for `tessera eval replay`. */
  readonly record?: string
  /** Ask the caller's own user to approve writes through MCP elicitation where the client supports it. */
  readonly elicitApprovals?: boolean
  readonly logger?: Logger
}

export interface ServingHandle {
  readonly toolset: Toolset
  readonly mcp: TesseraMcpServer
  /** Set when serving HTTP. */
  readonly http: ListeningServer | undefined
  /** Resolves when the server stops (stdin closed on stdio; after close() on HTTP). */
  readonly done: Promise<void>
  close(): Promise<void>
}

function setupError(message: string, hint: string): TesseraError {
  return new TesseraError('VALIDATION_ERROR', message, { hints: [hint] })
}

export function parsePrincipalOption(text: string): Principal {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    throw setupError(
      '--principal is not JSON',
      `Example: --principal '{"tenantId":"t1","userId":"u1","roles":["member"]}'`,
    )
  }
  return parseRunContext({ principal: value }).principal
}

export function parseHostPort(text: string): { host: string; port: number } {
  const match = /^(.*):(\d{1,5})$/.exec(text)
  const port = Number(match?.[2])
  if (match?.[1] === undefined || match[1] === '' || !(port >= 0 && port <= 65_535)) {
    throw setupError(
      `--http '${text}' is not HOST:PORT`,
      'Example: --http 127.0.0.1:3333 (port 0 picks a free one)',
    )
  }
  return { host: match[1].replace(/^\[|\]$/g, ''), port }
}

/** Starts serving and returns once the server accepts requests. */
export async function startServe(options: ServeOptions): Promise<ServingHandle> {
  // Asynchronous stderr, as createMcpServer's default logger (see there): one line per tool call.
  const logger =
    options.logger ??
    pino({ level: 'info', base: { service: 'tessera' } }, pino.destination({ dest: 2, sync: false }))
  const dbUrl = options.db ?? (options.demo === true ? undefined : process.env['TESSERA_DATABASE_URL'])
  if ((dbUrl === undefined) === (options.demo !== true)) {
    throw setupError(
      'Give exactly one of --db URL (or TESSERA_DATABASE_URL) or --demo',
      'tessera serve --demo runs on an embedded database with no setup',
    )
  }
  if (options.http !== undefined && options.auth === undefined && options.dev !== true) {
    throw setupError(
      'Refusing to serve HTTP without authentication',
      'Pass --auth FILE (API keys or JWT; create keys with `tessera api-key create`), or --dev for local development only',
    )
  }
  if (options.auth !== undefined && options.dev === true) {
    throw setupError(
      'Give either --auth or --dev, not both',
      '--dev serves one fixed principal without credentials',
    )
  }
  const policyPath = options.policy ?? (options.demo === true ? DEMO_POLICY_PATH : undefined)
  if (policyPath === undefined)
    throw setupError(
      '--policy FILE is required',
      'Check it first with `tessera check FILE --database-url URL`',
    )
  const policy = await loadPolicyFile(policyPath)

  const closers: (() => Promise<void>)[] = []
  const closeAll = async (): Promise<void> => {
    for (const close of closers.splice(0).reverse()) await close().catch(() => undefined)
  }
  try {
    let db: AnyDatabase
    let role = options.role
    let approvals: ApprovalStore | undefined
    let secret: string | Uint8Array | undefined = process.env['TESSERA_SECRET']
    if (options.demo === true) {
      const database = await createPgliteDatabase()
      closers.push(database.close)
      await database.pglite.exec(saasFixtureSql())
      db = database.db
      role ??= DEMO_APP_ROLE
      secret ??= randomBytes(32)
    } else {
      const database = createPostgresDatabase(dbUrl ?? '', { logger })
      closers.push(database.close)
      db = database.db
      // A server that is down or a wrong URL is reported as such, not as an approvals-table problem.
      await probeDatabase(database.db)
      const approvalsDatabase =
        options.approvalsDb === undefined ? database : createPostgresDatabase(options.approvalsDb, { logger })
      if (approvalsDatabase !== database) closers.push(approvalsDatabase.close)
      await ensureApprovalTable(approvalsDatabase.db).catch(() => {
        throw setupError(
          'Cannot create or read the tessera_approvals table',
          'Create it once with approvalTableSql (see docs/mcp.md), or pass --approvals-db URL of a role that may',
        )
      })
      approvals = new PostgresApprovalStore(approvalsDatabase.db)
    }
    if (secret === undefined) {
      throw setupError(
        'TESSERA_SECRET is not set',
        'Set TESSERA_SECRET to at least 16 random characters (it keys cursors and field hashes)',
      )
    }
    const enforced = await createToolset({
      db,
      policy,
      secret,
      logger,
      ...(role === undefined ? {} : { role }),
      ...(options.schema === undefined ? {} : { schemas: options.schema }),
      ...(approvals === undefined ? {} : { approvals }),
    })
    let toolset = enforced
    if (options.record !== undefined) {
      // Every call of the session, for `tessera eval replay --log FILE --policy NEW`.
      const sink = recordingFile(options.record, enforced.bound)
      closers.push(async () => sink.close())
      toolset = recordingToolset(enforced, sink)
    }
    const configured = options.principal === undefined ? undefined : parsePrincipalOption(options.principal)
    const principal = configured ?? (options.demo === true ? DEMO_PRINCIPAL : undefined)
    const mcp = await createMcpServer({
      toolset,
      db,
      logger,
      // Re-read on change: `tessera api-key revoke` takes effect on the key's next call.
      ...(options.auth === undefined
        ? {}
        : { authFile: options.auth, baseDir: dirname(resolve(options.auth)) }),
      ...(options.dev === true ? { dev: { principal: requirePrincipal(principal) } } : {}),
      ...(options.elicitApprovals === true ? { elicitApprovals: true } : {}),
    })
    closers.push(() => mcp.close())

    if (options.http !== undefined) {
      const http = await mcp.listen(parseHostPort(options.http))
      let stop: () => void = () => {}
      const done = new Promise<void>((r) => {
        stop = r
      })
      return {
        toolset,
        mcp,
        http,
        done,
        async close() {
          await closeAll()
          stop()
        },
      }
    }
    const running = await mcp.serveStdio(requirePrincipal(principal))
    const done = running.closed.then(closeAll)
    return {
      toolset,
      mcp,
      http: undefined,
      done,
      close: async () => {
        await running.close()
        await done
      },
    }
  } catch (error) {
    await closeAll()
    throw error
  }
}

function requirePrincipal(principal: Principal | undefined): Principal {
  if (principal === undefined) {
    throw setupError(
      'stdio and --dev serve one principal from your configuration: --principal is required',
      `Example: --principal '{"tenantId":"t1","userId":"u1","roles":["member"]}'`,
    )
  }
  return principal
}

/** CLI entry: serve until stdin closes (stdio) or SIGINT/SIGTERM, draining calls in flight. */
export async function runServe(options: ServeOptions, err: (line: string) => void): Promise<number> {
  let handle: ServingHandle
  try {
    handle = await startServe(options)
  } catch (error) {
    if (error instanceof TesseraError) {
      err(`✘ ${error.code}: ${error.message}`)
      for (const hint of error.hints) err(`  hint: ${hint}`)
      const issues = error.details['issues']
      if (Array.isArray(issues)) for (const issue of issues) err(`  ${JSON.stringify(issue)}`)
      return 2
    }
    throw error
  }
  if (handle.http !== undefined) err(`Tessera MCP server listening on ${handle.http.url}`)
  const stop = (): void => {
    void handle.close()
  }
  process.once('SIGINT', stop)
  process.once('SIGTERM', stop)
  await handle.done
  process.off('SIGINT', stop)
  process.off('SIGTERM', stop)
  return 0
}

export function registerServeCommand(program: Command): void {
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
    .option('--schema <name...>', "schemas the policy's tables live in (default: public)")
    .option('--approvals-db <url>', 'database holding tessera_approvals (default: --db)')
    .option(
      '--record <file>',
      'append every tool call and its outcome to FILE (JSONL) for `tessera eval replay`',
    )
    .option(
      '--elicit-approvals',
      "let the client's own user approve writes that need approval, by MCP elicitation (stdio clients)",
    )
    .action(async (opts: ServeOptions) => {
      await reportErrors(() => runServe(opts, (line) => console.error(line)))
    })
}
