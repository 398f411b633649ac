/**
 * Runs the query the planner built for one tool call (docs/contract.md §5). The executor decides how the statement
 * reaches the database — bare, or inside a transaction that first sets the principal's claims, the
 * statement timeout and the role in one bound `set_config` statement — and maps every failure to a safe
 * TesseraError. It never builds SQL: its one statement of its own, the `set_config` list of the settings
 * below (a closed set of names, every value a bound parameter), is printed by src/sql like every other.
 */
import type { CompiledQuery } from 'kysely'
import type { Logger } from 'pino'
import type { Principal } from '../context/index.ts'
import {
  internalError,
  rateLimited,
  statementNotPrinted,
  tenantScopeRequired,
  type TesseraError,
} from '../errors/index.ts'
import { isPrintedStatement, printSessionSettings, printSessionStatement } from '../sql/index.ts'
import { blankClaimAsNull } from '../policy/index.ts'
import { mapDatabaseError } from './map-database-error.ts'
import { directStatementsOf, sessionBatchesOf, sessionStatementTimeoutOf } from './tessera-dialect.ts'
import { statementSender } from './direct-statements.ts'
import { StatementGuard } from './statement-guard.ts'
import type { AnyDatabase } from '../schema/index.ts'

/**
 * The transaction-local settings that carry the principal into SQL, for RLS policies (`rls` and `both`
 * enforcement). Read them in SQL as `nullif(current_setting('tessera.tenant_id', true), '')`: once a
 * transaction that set them has ended, the connection reports `''`, not NULL (docs/threats.md fact 4).
 * `roles` holds a JSON array (`'["admin","support"]'`) and `metadata` a JSON object; each claim is `''` when the
 * principal has no such value, so an absent value reads as NULL in SQL exactly as it is "not found" in memory
 * (`principal.roles IS NULL` holds for a principal without roles, in both walls).
 */
export const claimSettingNames = {
  tenantId: 'tessera.tenant_id',
  userId: 'tessera.user_id',
  roles: 'tessera.roles',
  metadata: 'tessera.metadata',
} as const

export type ClaimSettingName = (typeof claimSettingNames)[keyof typeof claimSettingNames]

/** What one call needs from the database session. */
export interface ExecutionSpec {
  /** 'read' runs in a READ ONLY transaction whenever a transaction is used; 'write' always uses one. */
  readonly access: 'read' | 'write'
  /** Logged with any database error and quoted in INTERNAL_ERROR hints. */
  readonly requestId: string
  readonly principal: Principal
  /** Set the `tessera.*` claims (enforcement `rls` or `both`); forces a transaction. */
  readonly claims: boolean
  /** statement_timeout for this call, in milliseconds (a positive integer; the budget's value). */
  readonly statementTimeoutMs: number
  /**
   * Calls of this principal's tenant that may run at once on this executor (the budget's
   * maxConcurrentPerTenant); one more is refused with RATE_LIMITED before it takes a connection.
   */
  readonly maxConcurrentPerTenant?: number
}

/**
 * The database handle a body must use. It is the transaction when one is open — always use it, never the
 * outer `db`: PGlite has one connection, so a query on `db` inside the transaction would wait for a
 * connection the transaction holds, and on PostgreSQL it would run outside the claims and the read-only
 * mode.
 */
export type ExecutorDatabase = AnyDatabase

export interface Executor {
  /**
   * Runs `body` with the session `spec` asks for and returns its result. Any error thrown — by the
   * database, the driver or `body` — leaves as a TesseraError: a TesseraError from `body` passes through
   * unchanged (and still rolls the transaction back), anything else goes through mapDatabaseError.
   *
   * How the call reaches the database:
   * - a **read** with `claims: false`, no configured role and the session's own statement timeout runs
   *   `body` directly on `db`: one statement, no explicit transaction (app-mode fast path; with the
   *   Tessera dialect it is a named prepared statement, so one round trip);
   * - anything else runs in one transaction — `START TRANSACTION READ ONLY` for reads, `BEGIN` for
   *   writes — whose first statement is a single
   *   `select set_config('tessera.tenant_id', $1, true), set_config('tessera.user_id', $2, true),
   *   set_config('tessera.roles', $3, true), set_config('statement_timeout', $4, true),
   *   set_config('role', $5, true)` holding only the settings this call needs; then `body`; then COMMIT
   *   (ROLLBACK when anything threw). `set_config(…, true)` is transaction-local, so nothing survives on
   *   the pooled connection (docs/threats.md fact 2).
   *
   * Usage: `executor.run(spec, (q) => q.executeQuery(compiled))` or `executor.run(spec, (q) =>
   * q.selectFrom(…)…execute())`.
   */
  run<T>(spec: ExecutionSpec, body: (q: ExecutorDatabase) => Promise<T>): Promise<T>
  /**
   * One read statement printed by src/sql, with the session `spec` asks for (`spec.access` must be 'read'):
   * - no settings needed: the statement alone, as `run` does;
   * - on the Tessera dialect: the statement as a session statement (src/sql printSessionStatement) —
   *   `select set_config('transaction_read_only', 'on', true), set_config('tessera.tenant_id', $1, true), …`
   *   and the statement sent as one batch with one Sync, so one round trip and one implicit, read-only
   *   transaction whose settings end with it (tessera-dialect.ts, session-batch.ts);
   * - on any other dialect: `run`'s transaction (four round trips).
   */
  read<R>(spec: ExecutionSpec, statement: CompiledQuery<R>): Promise<R[]>
  /**
   * One write statement printed by src/sql that commits by itself (`spec.access` must be 'write'), then
   * `finish` on its rows. The statement must decide every refusal itself (run-write.ts SelfDecidingWrite):
   * `finish` runs after the commit, and a refusal it throws must be one of a statement that wrote nothing.
   * - on the Tessera dialect: the statement alone, or, when the call needs settings, after
   *   `select set_config(…, true)` of them as one batch with one Sync — one round trip, one implicit
   *   transaction that commits at the Sync or rolls back on any error (tessera-dialect.ts, session-batch.ts);
   * - on any other dialect: `run`'s transaction, with `finish` before its COMMIT.
   * A database error that `refusal` names (a row the database refused) leaves as that error, unlogged.
   */
  commitWith<T>(
    spec: ExecutionSpec,
    statement: CompiledQuery,
    finish: (rows: readonly Record<string, unknown>[]) => T,
    refusal: (error: unknown) => TesseraError | undefined,
  ): Promise<T>
}

export interface ExecutorOptions {
  readonly db: ExecutorDatabase
  /**
   * Role to assume inside every call (`set_config('role', …, true)`), e.g. a non-superuser subject to RLS
   * when the connection logs in as something else. Forces a transaction for every call.
   */
  readonly role?: string
  /** Receives database errors (message, code, request id; never parameters) at error level. */
  readonly logger?: Logger
  /**
   * The statement_timeout (ms) that every connection of `db` already has as its session default. A call
   * whose timeout equals it needs no `set_config('statement_timeout', …)`, which is what lets a plain
   * read skip the transaction. Detected automatically from a Tessera dialect created with
   * `statementTimeoutMs`; set it only when you established the default yourself (for example with
   * `ALTER ROLE … SET statement_timeout`). When neither is known, every call sets its timeout in a
   * transaction.
   */
  readonly defaultStatementTimeoutMs?: number
}

/** PostgreSQL's statement_timeout is an int of milliseconds. */
const MAX_STATEMENT_TIMEOUT_MS = 2_147_483_647

export function createExecutor(options: ExecutorOptions): Executor {
  const { db, role, logger } = options
  if (role !== undefined && role.trim() === '') throw new RangeError('role must not be blank')
  const sessionTimeout = options.defaultStatementTimeoutMs ?? sessionStatementTimeoutOf(db)

  // Statements in flight per tenant. Counted around the whole call, connection wait included: a tenant that
  // fills the pool with slow statements would otherwise make every other tenant's trivial read wait.
  const inFlight = new Map<string, number>()

  const batches = sessionBatchesOf(db)
  // With no plugin but the statement guard, whose one check on a result (the statement was printed) read()
  // makes itself before sending, a read goes to a connection directly: Kysely's executeQuery would only add
  // its pass over the plugins' transformResult. On the Tessera dialect it also skips Kysely's connection
  // provider once a call has shown that sends the same (direct-statements.ts).
  const executor = db.getExecutor()
  const direct = executor.plugins.every((plugin) => plugin instanceof StatementGuard)
  const send = statementSender(executor, directStatementsOf(db), db.isTransaction)

  function run<T>(spec: ExecutionSpec, body: (q: ExecutorDatabase) => Promise<T>): Promise<T> {
    return limited(spec, () => runNow(spec, body))
  }

  function read<R>(spec: ExecutionSpec, statement: CompiledQuery<R>): Promise<R[]> {
    if (spec.access !== 'read') throw new Error('read() runs read statements only')
    if (!isPrintedStatement(statement)) return Promise.reject(statementNotPrinted())
    if (!batches) return run(spec, async (q) => (await q.executeQuery(statement)).rows)
    return readBatched(spec, statement)
  }

  /**
   * read() on a dialect that batches: `limited` and the statement in one async function (no closure and one
   * frame fewer per read: this runs on every read).
   */
  async function readBatched<R>(spec: ExecutionSpec, statement: CompiledQuery<R>): Promise<R[]> {
    const tenant = enter(spec)
    try {
      const settings = sessionSettings(spec, role, sessionTimeout, logger)
      const sent =
        settings.length === 0 ? statement : printSessionStatement([READ_ONLY, ...settings], statement)
      const result = direct ? await send<R>(sent) : await db.executeQuery(sent)
      return result.rows
    } catch (err) {
      throw mapDatabaseError(err, spec.requestId, logger)
    } finally {
      if (tenant !== undefined) leave(tenant)
    }
  }

  function commitWith<T>(
    spec: ExecutionSpec,
    statement: CompiledQuery,
    finish: (rows: readonly Record<string, unknown>[]) => T,
    refusal: (error: unknown) => TesseraError | undefined,
  ): Promise<T> {
    if (spec.access !== 'write') throw new Error('commitWith() runs write statements only')
    if (!isPrintedStatement(statement)) return Promise.reject(statementNotPrinted())
    const sendOn = async (q: ExecutorDatabase): Promise<readonly Record<string, unknown>[]> => {
      try {
        return (await q.executeQuery<Record<string, unknown>>(statement)).rows
      } catch (error) {
        throw refusal(error) ?? error
      }
    }
    if (!batches) return run(spec, async (q) => finish(await sendOn(q)))
    return limited(spec, async () => {
      let rows: readonly Record<string, unknown>[]
      try {
        const settings = sessionSettings(spec, role, sessionTimeout, logger)
        const sent = settings.length === 0 ? statement : printSessionStatement(settings, statement)
        // The statement guard's one check (printed by src/sql) was made above, as read() makes it.
        rows = direct ? (await send<Record<string, unknown>>(sent)).rows : await sendOn(db)
      } catch (error) {
        const refused = refusal(error)
        if (refused !== undefined) throw refused
        throw mapDatabaseError(error, spec.requestId, logger)
      }
      try {
        return finish(rows)
      } catch (error) {
        throw mapDatabaseError(error, spec.requestId, logger)
      }
    })
  }

  async function limited<T>(spec: ExecutionSpec, call: () => Promise<T>): Promise<T> {
    const tenant = enter(spec)
    if (tenant === undefined) return call()
    try {
      return await call()
    } finally {
      leave(tenant)
    }
  }

  /**
   * Counts a call of `spec`'s tenant in (RATE_LIMITED when its tenant is at maxConcurrentPerTenant); the tenant
   * to `leave` when the call is done, undefined when calls are not limited.
   */
  function enter(spec: ExecutionSpec): string | undefined {
    const max = spec.maxConcurrentPerTenant
    if (max === undefined) return undefined
    const tenant = spec.principal.tenantId
    const running = inFlight.get(tenant) ?? 0
    if (running >= max) {
      throw rateLimited(
        `Too many statements are running for this tenant (at most ${max} at once)`,
        'max_concurrent_per_tenant',
        Math.min(1_000, spec.statementTimeoutMs),
      )
    }
    inFlight.set(tenant, running + 1)
    return tenant
  }

  function leave(tenant: string): void {
    const left = (inFlight.get(tenant) ?? 1) - 1
    if (left <= 0) inFlight.delete(tenant)
    else inFlight.set(tenant, left)
  }

  async function runNow<T>(spec: ExecutionSpec, body: (q: ExecutorDatabase) => Promise<T>): Promise<T> {
    try {
      const settings = sessionSettings(spec, role, sessionTimeout, logger)
      if (spec.access === 'read' && settings.length === 0) return await body(db)
      const builder = db.transaction()
      const transaction = spec.access === 'read' ? builder.setAccessMode('read only') : builder
      return await transaction.execute(async (trx) => {
        if (settings.length > 0) await trx.executeQuery(printSessionSettings(settings))
        return body(trx)
      })
    } catch (err) {
      throw mapDatabaseError(err, spec.requestId, logger)
    }
  }

  return { run, read, commitWith }
}

type SettingName = ClaimSettingName | 'statement_timeout' | 'role' | 'transaction_read_only'

/** What `START TRANSACTION READ ONLY` sets, for the implicit transaction of a session batch. */
const READ_ONLY: Setting = { name: 'transaction_read_only', value: 'on' }

interface Setting {
  readonly name: SettingName
  readonly value: string
}

/** The settings of a call that needs none (app mode at the session's timeout): one shared empty list. */
const NO_SETTINGS: readonly Setting[] = Object.freeze([])

function sessionSettings(
  spec: ExecutionSpec,
  role: string | undefined,
  sessionTimeout: number | undefined,
  logger: Logger | undefined,
): readonly Setting[] {
  const timeoutMs = spec.statementTimeoutMs
  if (!Number.isSafeInteger(timeoutMs) || timeoutMs <= 0 || timeoutMs > MAX_STATEMENT_TIMEOUT_MS) {
    // A caller bug (the budget schema guarantees a positive integer); 0 would disable the timeout.
    logger?.error({ requestId: spec.requestId, statementTimeoutMs: timeoutMs }, 'invalid statement timeout')
    throw internalError(spec.requestId)
  }
  if (!spec.claims && timeoutMs === sessionTimeout && role === undefined) return NO_SETTINGS
  const settings: Setting[] = []
  if (spec.claims) {
    const { tenantId, userId, roles, metadata } = spec.principal
    // The principal was validated at the toolset boundary; fail closed if a blank one slips through.
    if (typeof tenantId !== 'string' || tenantId.trim() === '') throw tenantScopeRequired('tenantId')
    settings.push(
      { name: claimSettingNames.tenantId, value: tenantId },
      { name: claimSettingNames.userId, value: userId ?? '' },
      { name: claimSettingNames.roles, value: roles === undefined ? '' : JSON.stringify(roles) },
      // Blank values are none, as in memory (resolvePrincipalPath): JSON null, which RLS reads as SQL NULL.
      {
        name: claimSettingNames.metadata,
        value: metadata === undefined ? '' : JSON.stringify(metadata, blankClaimAsNull),
      },
    )
  }
  if (timeoutMs !== sessionTimeout) settings.push({ name: 'statement_timeout', value: String(timeoutMs) })
  if (role !== undefined) settings.push({ name: 'role', value: role })
  return settings
}
