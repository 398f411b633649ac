/**
 * `tessera audit tail|query|verify|retention`: read, check and prune an audit trail kept in a JSONL file
 * (`--file`) or a PostgreSQL database (`--database-url`). Readable tables by default, `--json` for one JSON
 * object per line. `tail --follow` keeps printing new records until SIGINT (audit-follow.ts). Every value that came from a tool call is shown through `printable`: an agent's input must
 * not be able to drive the operator's terminal with escape sequences.
 *
 * Exit codes: 0 done (verify: every chain intact), 1 verify found a broken chain, 2 the command failed.
 */
import { readFile } from 'node:fs/promises'
import { Command } from 'commander'
import { createPostgresDatabase } from '../executor/index.ts'
import { isTesseraError, printable } from '../errors/index.ts'
import { TOOL_NAMES } from '../tools/index.ts'
import { followAudit } from './audit-follow.ts'
import {
  type AuditQuery,
  type AuditRecord,
  type AuditStore,
  type AuditVerification,
  JsonlAuditStore,
  PostgresAuditStore,
} from '../stores/index.ts'

export interface AuditSourceOptions {
  readonly file?: string
  readonly databaseUrl?: string
  /** PEM file of the Ed25519 public key to check signatures with. */
  readonly verifyKey?: string
  /** PEM file of the Ed25519 private key retention signs its cuts with. */
  readonly signingKey?: string
}

export interface AuditIo {
  readonly out: (line: string) => void
  readonly err: (line: string) => void
}

export type AuditCliCommand =
  | {
      readonly kind: 'tail'
      readonly lines: number
      readonly json: boolean
      /** Keep polling every `intervalMs` for new records until `signal` aborts. */
      readonly follow?: { readonly intervalMs: number; readonly signal: AbortSignal }
    }
  | { readonly kind: 'query'; readonly query: AuditQuery; readonly json: boolean }
  | { readonly kind: 'verify'; readonly json: boolean }
  | { readonly kind: 'retention'; readonly before: string; readonly archive?: string; readonly json: boolean }

/** Runs one audit command against the source; returns the exit code. */
export async function runAudit(
  source: AuditSourceOptions,
  command: AuditCliCommand,
  io: AuditIo,
): Promise<number> {
  let opened: { store: AuditStore; close: () => Promise<void> } | null = null
  try {
    opened = await openSource(source)
    return await execute(opened.store, command, io)
  } catch (error) {
    io.err(`✘ audit ${command.kind} failed: ${describeError(error)}`)
    if (/tessera_audit/.test(messageOf(error)) && /does not exist/.test(messageOf(error))) {
      io.err(
        '  The audit tables are missing: create them with ensureAuditTables(db) or the DDL in auditTableSql.',
      )
    }
    return 2
  } finally {
    await opened?.close()
  }
}

async function openSource(
  source: AuditSourceOptions,
): Promise<{ store: AuditStore; close: () => Promise<void> }> {
  if ((source.file === undefined) === (source.databaseUrl === undefined)) {
    throw new Error('give exactly one of --file <audit.jsonl> or --database-url <postgres://…>')
  }
  const signing = {
    ...(source.verifyKey === undefined ? {} : { verifyKey: await readFile(source.verifyKey, 'utf8') }),
    ...(source.signingKey === undefined ? {} : { signingKey: await readFile(source.signingKey, 'utf8') }),
  }
  if (source.file !== undefined) {
    const store = new JsonlAuditStore({ path: source.file, ...signing })
    return { store, close: () => store.close() }
  }
  const database = createPostgresDatabase(source.databaseUrl as string)
  return { store: new PostgresAuditStore({ db: database.db, ...signing }), close: database.close }
}

async function execute(store: AuditStore, command: AuditCliCommand, io: AuditIo): Promise<number> {
  switch (command.kind) {
    case 'tail': {
      if (command.follow !== undefined) {
        let header = true
        await followAudit(store, {
          lines: command.lines,
          ...command.follow,
          print: (records) => {
            printRecords(records, command.json, io, { header, following: true })
            header = false
          },
        })
        return 0
      }
      const records = (await store.query({ limit: command.lines })).reverse()
      printRecords(records, command.json, io)
      return 0
    }
    case 'query': {
      printRecords(await store.query(command.query), command.json, io)
      return 0
    }
    case 'verify': {
      const report = await store.verify()
      printVerification(report, command.json, io)
      return report.ok ? 0 : 1
    }
    case 'retention': {
      const before = parseBefore(command.before)
      const result = await store.deleteBefore(
        before,
        command.archive === undefined ? {} : { archive: command.archive },
      )
      if (command.json) io.out(JSON.stringify({ before: before.toISOString(), ...result }))
      else {
        io.out(
          `✔ deleted ${result.deleted} record(s) older than ${before.toISOString()}` +
            (result.archivedTo === null ? '' : `, archived to ${result.archivedTo}`),
        )
      }
      return 0
    }
    default: {
      const never: never = command
      throw new Error(`unknown audit command ${JSON.stringify(never)}`)
    }
  }
}

/** An ISO-8601 time, or an age such as `90d`, `12h`, `30m` (that long before now). */
export function parseBefore(text: string, now = Date.now()): Date {
  const age = /^(\d+)([dhm])$/.exec(text)
  if (age !== null) {
    const unit = { d: 86_400_000, h: 3_600_000, m: 60_000 }[age[2] as 'd' | 'h' | 'm']
    return new Date(now - Number(age[1]) * unit)
  }
  const ms = Date.parse(text)
  if (!Number.isFinite(ms))
    throw new Error(
      `--before must be an ISO-8601 time or an age like 90d, 12h, 30m (got '${printable(text)}')`,
    )
  return new Date(ms)
}

const COLUMNS = ['time', 'tenant', 'user', 'tool', 'model', 'outcome', 'rows', 'ms', 'request'] as const
/** Widths a followed table starts from, so batches printed one after another mostly line up. */
const FOLLOW_WIDTHS = [24, 36, 36, 18, 12, 16, 4, 6, 36] as const

function printRecords(
  records: readonly AuditRecord[],
  json: boolean,
  io: AuditIo,
  options: { header: boolean; following: boolean } = { header: true, following: false },
): void {
  if (json) {
    for (const r of records) io.out(JSON.stringify(r))
    return
  }
  if (records.length === 0 && !options.following) {
    io.out('(no records)')
    return
  }
  const rows = records.map((r) => [
    r.timestamp,
    cell(r.tenantId),
    cell(r.userId),
    cell(r.tool),
    cell(r.model),
    r.errorCode === null ? r.outcome : `${r.outcome} ${cell(r.errorCode)}`,
    String(r.affectedRows ?? r.rowCount ?? ''),
    String(r.durationMs),
    cell(r.requestId),
  ])
  const widths = COLUMNS.map((c, i) =>
    Math.max(
      c.length,
      options.following ? (FOLLOW_WIDTHS[i] ?? 0) : 0,
      ...rows.map((row) => (row[i] as string).length),
    ),
  )
  const format = (row: readonly string[]) =>
    row
      .map((v, i) => v.padEnd(widths[i] as number))
      .join('  ')
      .trimEnd()
  if (options.header) io.out(format(COLUMNS))
  for (const row of rows) io.out(format(row))
}

function printVerification(report: AuditVerification, json: boolean, io: AuditIo): void {
  if (json) {
    io.out(JSON.stringify(report))
    return
  }
  const signed = report.signaturesChecked ? ', signatures checked' : ''
  if (report.ok) {
    io.out(`✔ ${report.records} record(s) in ${report.chains} chain(s) verified${signed}`)
  } else {
    io.out(
      `✘ ${report.breaks.length} broken chain(s) among ${report.chains}, ${report.records} record(s)${signed}`,
    )
    for (const b of report.breaks) {
      io.out(
        `  ${cell(b.chain)} at seq ${b.seq}: ${b.reason}${b.recordId === null ? '' : ` (record ${cell(b.recordId)})`}`,
      )
    }
  }
  for (const h of report.heads) io.out(`  head ${cell(h.chain)} seq ${h.seq} ${h.hash}`)
}

function cell(value: string | null): string {
  return value === null ? '-' : printable(value)
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}

function describeError(error: unknown): string {
  if (isTesseraError(error)) {
    const issues = (error.details['issues'] as { path: string; message: string }[] | undefined) ?? []
    return `${error.code}: ${error.message}${issues.map((i) => `; ${i.path} ${i.message}`).join('')}`
  }
  return printable(messageOf(error))
}

interface SourceFlags {
  file?: string
  databaseUrl?: string
  verifyKey?: string
  signingKey?: string
  json?: boolean
}

function sourceOf(flags: SourceFlags): AuditSourceOptions {
  return {
    ...(flags.file === undefined ? {} : { file: flags.file }),
    ...(flags.databaseUrl === undefined ? {} : { databaseUrl: flags.databaseUrl }),
    ...(flags.verifyKey === undefined ? {} : { verifyKey: flags.verifyKey }),
    ...(flags.signingKey === undefined ? {} : { signingKey: flags.signingKey }),
  }
}

function withSource(command: Command): Command {
  return command
    .option('--file <path>', 'JSONL audit file')
    .option('--database-url <url>', 'PostgreSQL connection string (tables tessera_audit, tessera_audit_cuts)')
    .option('--verify-key <pem>', 'Ed25519 public key file: check record and cut signatures')
    .option('--json', 'one JSON object per line instead of a table')
}

function integer(name: string): (value: string) => number {
  return (value) => {
    const n = Number(value)
    if (!Number.isSafeInteger(n)) throw new Error(`${name} must be an integer`)
    return n
  }
}

const QUERY_FLAGS = [
  ['tenantId', 'tenant'],
  ['userId', 'user'],
  ['tool', 'tool'],
  ['model', 'model'],
  ['outcome', 'outcome'],
  ['from', 'from'],
  ['to', 'to'],
  ['limit', 'limit'],
  ['offset', 'offset'],
] as const

/** The `audit` command with its subcommands, for main.ts to register. */
export function auditCommand(io: AuditIo): Command {
  const audit = new Command('audit').description(
    'Read, verify and prune the audit trail (JSONL file or PostgreSQL)',
  )
  const done = (code: number) => {
    process.exitCode = code
  }
  withSource(audit.command('tail').description('The newest records, oldest of them first'))
    .option('-n, --lines <n>', 'how many records', integer('--lines'), 20)
    .option('-f, --follow', 'keep printing new records as they arrive, until Ctrl-C')
    .option('--interval <ms>', 'with --follow: how often to poll the store', integer('--interval'), 1000)
    .action(async (flags: SourceFlags & { lines: number; follow?: boolean; interval: number }) => {
      const stop = new AbortController()
      const onSignal = (): void => stop.abort()
      if (flags.follow === true) {
        process.once('SIGINT', onSignal)
        process.once('SIGTERM', onSignal)
      }
      try {
        const command: AuditCliCommand = {
          kind: 'tail',
          lines: flags.lines,
          json: flags.json === true,
          ...(flags.follow === true
            ? { follow: { intervalMs: Math.max(50, flags.interval), signal: stop.signal } }
            : {}),
        }
        done(await runAudit(sourceOf(flags), command, io))
      } finally {
        process.off('SIGINT', onSignal)
        process.off('SIGTERM', onSignal)
      }
    })
  withSource(audit.command('query').description('Records matching filters, newest first'))
    .option('--tenant <id>', 'tenant id')
    .option('--user <id>', 'user id')
    .option('--tool <name>', `tool name, e.g. ${TOOL_NAMES.update}`)
    .option('--model <name>', 'model name')
    .option('--outcome <outcome>', 'success, denied or error')
    .option('--from <time>', 'ISO-8601 time (inclusive)')
    .option('--to <time>', 'ISO-8601 time (inclusive)')
    .option('--limit <n>', 'at most this many (≤ 10000, default 1000)', integer('--limit'))
    .option('--offset <n>', 'skip this many', integer('--offset'))
    .action(async (flags: SourceFlags & Record<string, string | number | undefined>) => {
      const query: Record<string, unknown> = {}
      for (const [key, flag] of QUERY_FLAGS) if (flags[flag] !== undefined) query[key] = flags[flag]
      // The store validates the filter (VALIDATION_ERROR naming the bad member), so it is passed as given.
      done(
        await runAudit(
          sourceOf(flags),
          { kind: 'query', query: query as AuditQuery, json: flags.json === true },
          io,
        ),
      )
    })
  withSource(
    audit.command('verify').description('Walk every chain; exit 1 and name the first broken record of each'),
  ).action(async (flags: SourceFlags) => {
    done(await runAudit(sourceOf(flags), { kind: 'verify', json: flags.json === true }, io))
  })
  withSource(
    audit
      .command('retention')
      .description('Delete records older than a time, keeping every chain verifiable'),
  )
    .requiredOption('--before <time>', 'ISO-8601 time, or an age such as 90d, 12h, 30m')
    .option('--archive <path>', 'append the deleted records to this JSONL file first')
    .option(
      '--signing-key <pem>',
      'Ed25519 private key file: sign the retention cuts (as the writers sign records)',
    )
    .action(async (flags: SourceFlags & { before: string; archive?: string }) => {
      const command: AuditCliCommand = {
        kind: 'retention',
        before: flags.before,
        ...(flags.archive === undefined ? {} : { archive: flags.archive }),
        json: flags.json === true,
      }
      done(await runAudit(sourceOf(flags), command, io))
    })
  return audit
}
