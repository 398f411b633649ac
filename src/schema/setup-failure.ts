/**
 * What went wrong when Tessera first talks to a database (createToolset, introspection, the CLI's commands), in
 * words that say what to fix. A setup mistake — a server that is down, a database or role that does not exist,
 * a wrong password, a missing grant — used to surface as `INTERNAL_ERROR "Internal error"`.
 *
 * Two codes: DATABASE_UNAVAILABLE when the server cannot be reached (retrying may help), SETUP_INVALID when it
 * answered and refused (the configuration must change). Messages name the host, port, database and role from
 * the error or the registered connection target (see `registerConnectionTarget`), never the password: the
 * target is parsed without it and no connection string is ever echoed. These errors are for the operator who
 * starts the toolset; a tool call that fails the same way later still answers INTERNAL_ERROR (an agent is not
 * told the database's host).
 */
import { TesseraError } from '../errors/index.ts'
import type { AnyDatabase } from './any-database.ts'

/** Where a database connects to, without the password. */
export interface ConnectionTarget {
  readonly host?: string
  readonly port?: number
  readonly database?: string
  readonly user?: string
}

const targets = new WeakMap<AnyDatabase, ConnectionTarget>()

/** Remembers where `db` connects, so setup errors that carry no address (timeouts) can still name it. */
export function registerConnectionTarget(db: AnyDatabase, target: ConnectionTarget): void {
  targets.set(db, target)
}

export function connectionTargetOf(db: AnyDatabase): ConnectionTarget | undefined {
  return targets.get(db)
}

/** The target of a pg connection string or config object; the password is never read. */
export function connectionTarget(config: string | PgConfigLike): ConnectionTarget {
  if (typeof config !== 'string') {
    const fromString = config.connectionString === undefined ? {} : connectionTarget(config.connectionString)
    return compact({
      host: config.host ?? fromString.host,
      port: config.port === undefined ? fromString.port : Number(config.port),
      database: config.database ?? fromString.database,
      user: config.user ?? fromString.user,
    })
  }
  let url: URL
  try {
    url = new URL(config)
  } catch {
    return {}
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') return {}
  const socketHost = url.searchParams.get('host')
  const port = url.port === '' ? 5432 : Number(url.port)
  return compact({
    host: socketHost ?? (url.hostname === '' ? undefined : decode(url.hostname)),
    port,
    database: url.pathname.length > 1 ? decode(url.pathname.slice(1)) : undefined,
    user: url.username === '' ? undefined : decode(url.username),
  })
}

export interface PgConfigLike {
  readonly connectionString?: string | undefined
  readonly host?: string | undefined
  readonly port?: number | string | undefined
  readonly database?: string | undefined
  readonly user?: string | undefined
}

/**
 * The setup error for `error`, or undefined when it is not a recognised setup failure (the caller then treats
 * it as an internal error). `role` is the role assumed with `set_config('role', …)`, when one was.
 */
export function setupFailure(
  error: unknown,
  target: ConnectionTarget = {},
  role?: string,
): TesseraError | undefined {
  if (typeof error !== 'object' || error === null) return undefined
  const e = error as ErrorFields
  const code = typeof e.code === 'string' ? e.code : undefined
  const message = typeof e.message === 'string' ? e.message : ''
  const where = describeTarget(target, e)
  const details = detailsOf(target, e, code)

  if (code === 'ECONNREFUSED') {
    return unavailable(`Cannot connect to PostgreSQL at ${where}: connection refused`, details, [
      'Start the server, or fix the host and port in the connection URL',
    ])
  }
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') {
    const host = typeof e.hostname === 'string' ? e.hostname : (target.host ?? 'the database host')
    return unavailable(`Cannot resolve the database host '${host}'`, details, [
      'Fix the host name in the connection URL',
    ])
  }
  if (
    code === 'ETIMEDOUT' ||
    code === 'EHOSTUNREACH' ||
    code === 'ENETUNREACH' ||
    code === 'ECONNRESET' ||
    e.name === 'PoolExhaustedError' ||
    (code === undefined && /timeout|timed out|connection terminated/i.test(message))
  ) {
    return unavailable(
      `No answer from PostgreSQL at ${where} (timed out or the connection was closed)`,
      details,
      ['Check that the server is running and that a firewall lets this host reach it'],
    )
  }
  if (code === '57P03' || code === '53300') {
    const why = code === '53300' ? 'has no free connection slots' : 'is starting up or shutting down'
    return unavailable(`PostgreSQL at ${where} ${why}`, details, ['Retry later, or raise max_connections'])
  }
  if (code === '3D000') {
    const database = quoted(message, /database "(.+)" does not exist/) ?? target.database ?? '(unknown)'
    return invalid(`Database '${database}' does not exist on ${hostOnly(target, e)}`, details, [
      `Create it (createdb ${database}) or fix the database name in the connection URL`,
    ])
  }
  if (code === '28P01') {
    const user = quoted(message, /for user "(.+)"/) ?? target.user ?? '(unknown)'
    return invalid(`Password authentication failed for role '${user}' at ${where}`, details, [
      'Fix the user name or password in the connection URL (the password is not shown here)',
    ])
  }
  if (code === '28000') {
    const missing = quoted(message, /role "(.+)" does not exist/)
    if (missing !== undefined) {
      return invalid(`Role '${missing}' does not exist on ${hostOnly(target, e)}`, details, [
        `Create it (CREATE ROLE ${missing} LOGIN) or fix the user name in the connection URL`,
      ])
    }
    return invalid(
      `The server at ${where} refused the connection for role '${target.user ?? '(unknown)'}'`,
      details,
      ['Allow this role, database and client address in pg_hba.conf, or connect as a role that is allowed'],
    )
  }
  if (code === '22023' && role !== undefined && /role ".+" does not exist/.test(message)) {
    return invalid(`Role '${role}' (the toolset's \`role\` option) does not exist`, details, [
      `Create it (CREATE ROLE ${role} NOLOGIN) or fix the \`role\` option`,
    ])
  }
  if (code === '42501') {
    const user = role ?? target.user
    const who = user === undefined ? 'The connected role' : `Role '${user}'`
    // The server's sentence names only the object ("permission denied for table orders"): no values.
    return invalid(`${who} lacks a privilege Tessera needs: ${message}`, details, [
      role !== undefined && /set role/.test(message)
        ? `GRANT ${role} TO the connecting user, so it may switch to the role`
        : 'GRANT the missing privilege to the role, or connect as a role that has it',
    ])
  }
  return undefined
}

interface ErrorFields {
  readonly code?: unknown
  readonly message?: unknown
  readonly name?: unknown
  readonly address?: unknown
  readonly port?: unknown
  readonly hostname?: unknown
}

function unavailable(message: string, details: Record<string, unknown>, hints: string[]): TesseraError {
  return new TesseraError('DATABASE_UNAVAILABLE', message, { hints, details })
}

function invalid(message: string, details: Record<string, unknown>, hints: string[]): TesseraError {
  return new TesseraError('SETUP_INVALID', message, { hints, details })
}

/** `host:port/database as user`, from the error's own address when it has one. */
function describeTarget(target: ConnectionTarget, e: ErrorFields): string {
  const base = hostOnly(target, e)
  const database = target.database === undefined ? '' : `, database '${target.database}'`
  const user = target.user === undefined ? '' : `, role '${target.user}'`
  return `${base}${database}${user}`
}

function hostOnly(target: ConnectionTarget, e: ErrorFields): string {
  const host = typeof e.address === 'string' ? e.address : target.host
  const port = typeof e.port === 'number' ? e.port : target.port
  if (host === undefined) return 'the configured server'
  return port === undefined ? host : `${host}:${port}`
}

function detailsOf(
  target: ConnectionTarget,
  e: ErrorFields,
  code: string | undefined,
): Record<string, unknown> {
  const host = typeof e.address === 'string' ? e.address : target.host
  const port = typeof e.port === 'number' ? e.port : target.port
  return compact({
    host,
    port,
    database: target.database,
    user: target.user,
    cause: code,
  })
}

function quoted(message: string, pattern: RegExp): string | undefined {
  return pattern.exec(message)?.[1]
}

function decode(text: string): string {
  try {
    return decodeURIComponent(text)
  } catch {
    return text
  }
}

/** The object without its undefined properties (exactOptionalPropertyTypes). */
function compact<T extends Record<string, unknown>>(value: T): { [K in keyof T]?: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as {
    [K in keyof T]?: Exclude<T[K], undefined>
  }
}
