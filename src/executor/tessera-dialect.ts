/**
 * A Kysely dialect for PostgreSQL (and PGlite through its node-postgres adapter) that behaves like kysely's
 * PostgresDialect — same adapter, compiler and introspector — with a driver tuned for Tessera:
 *
 * - Every statement goes through the extended protocol. node-postgres sends a query without parameters
 *   through the simple protocol, which runs several `;`-separated statements (docs/threats.md fact 10, the
 *   `COMMIT; DROP …` class of bug). Here each query carries `queryMode: 'extended'` (and a statement `name`
 *   when it has one), so the server rejects a string holding more than one statement. On a node-postgres
 *   client it is sent as a submittable (prepared-query.ts, see submissionFor), on anything else as a config object.
 * - Statements are named prepared statements (`ts_<16 hex of sha1>`), so a connection parses each distinct
 *   SQL text once and then only binds and executes it. At most `maxPreparedPerConnection` names are
 *   prepared per connection; further texts run unnamed.
 * - A connection that saw a connection-level failure (socket error, FATAL, 57P01, 08xxx, a failed
 *   ROLLBACK) is released with `release(err)`, so the pool destroys it instead of handing out a dirty
 *   session.
 * - Acquiring a connection is bounded in time even when the pool was built without
 *   `connectionTimeoutMillis` (pg's default waits forever, docs/threats.md fact 8).
 * - Optionally, every new connection gets a session `statement_timeout`, so a read that needs no claims
 *   can run as one statement with no explicit transaction (see createExecutor).
 * - A session statement (src/sql printSessionStatement: a read with claims, timeout or role) goes out with its
 *   `set_config` statement as one batch with one Sync — one round trip, one implicit transaction
 *   (session-batch.ts).
 * - A transaction's BEGIN is not sent on its own: it goes out in one batch with the transaction's first
 *   statement (session-batch.ts), so a write costs one round trip less. BEGIN then the statement, in that order,
 *   before one Sync: the statement runs inside the explicit transaction exactly as if BEGIN had been awaited,
 *   and if it fails the transaction is left aborted for the ROLLBACK that follows. The transaction's settings
 *   statement (src/sql printSessionSettings: claims, timeout, role), when it comes first, waits the same way and
 *   goes out between BEGIN and the statement; its result is never read, and a failure of it fails the batch
 *   and so the call. A transaction that sends nothing else sends no BEGIN, settings, COMMIT or ROLLBACK.
 * - A statement printed to ride with the commit (src/sql isRidingWithCommit: a write's audit INSERT) is held
 *   back and goes out in one batch with the transaction's next statement, normally its COMMIT: the held
 *   statement, then COMMIT, before one Sync. If the held statement fails, the server skips the COMMIT (an error
 *   skips everything up to Sync) and the explicit transaction stays open and aborted: the COMMIT's caller gets
 *   the error (as a HeldStatementError: an internal failure, never the write's), and the ROLLBACK follows. So a
 *   write whose audit record cannot be inserted never commits, and a write with its record costs two round
 *   trips (BEGIN + statement, INSERT + COMMIT) instead of three. A transaction that rolls back never sends it.
 */
import {
  AbortedTransactionError,
  CompiledQuery,
  createQueryId,
  IdentifierNode,
  PostgresAdapter,
  PostgresIntrospector,
  PostgresQueryCompiler,
  RawNode,
  type DatabaseConnection,
  type DatabaseIntrospector,
  type Dialect,
  type Driver,
  type QueryCompiler,
  type QueryResult,
  type TransactionSettings,
} from 'kysely'
import { StatementNamer } from './statement-namer.ts'
import { boundedConnect } from './acquire-connection.ts'
import { DirectStatements } from './direct-statements.ts'
import type { AnyDatabase } from '../schema/index.ts'
import { asTesseraConnection, TesseraConnection, type TesseraPoolClient } from './tessera-connection.ts'

export type { TesseraPoolClient, TesseraQueryConfig, TesseraQueryResult } from './tessera-connection.ts'

/** The subset of a `pg.Pool` the dialect uses. */
export interface TesseraPool {
  connect(): Promise<TesseraPoolClient>
  end(): Promise<void>
  readonly options?: { readonly connectionTimeoutMillis?: number | undefined }
}

export interface TesseraDialectOptions {
  readonly pool: TesseraPool
  /** Distinct named statements prepared per connection before further texts run unnamed. Default 256. */
  readonly maxPreparedPerConnection?: number
  /**
   * Bound on the wait for a connection, used only when the pool has no `connectionTimeoutMillis` of its
   * own. Default 5000. On expiry the query fails with PoolExhaustedError (mapped to INTERNAL_ERROR).
   */
  readonly acquireTimeoutMillis?: number
  /**
   * When set, each new connection runs `select set_config('statement_timeout', $1, false)` once, and the
   * executor knows every connection of this dialect has that session default (sessionStatementTimeoutOf).
   */
  readonly statementTimeoutMs?: number
}

export const DEFAULT_MAX_PREPARED_PER_CONNECTION = 256
export const DEFAULT_ACQUIRE_TIMEOUT_MILLIS = 5000

/**
 * kysely's PostgresAdapter, plus the session statement_timeout this dialect establishes (if any) and the direct
 * statement path of the driver created with it (direct-statements.ts).
 */
export class TesseraPostgresAdapter extends PostgresAdapter {
  readonly sessionStatementTimeoutMs: number | undefined
  readonly directStatements: DirectStatements | undefined

  constructor(sessionStatementTimeoutMs: number | undefined, directStatements?: DirectStatements) {
    super()
    this.sessionStatementTimeoutMs = sessionStatementTimeoutMs
    this.directStatements = directStatements
  }
}

/**
 * The statement_timeout every connection of `db` carries as its session default, or undefined when `db`
 * does not use a Tessera dialect that establishes one.
 */
export function sessionStatementTimeoutOf(db: AnyDatabase): number | undefined {
  const adapter = db.getExecutor().adapter
  return adapter instanceof TesseraPostgresAdapter ? adapter.sessionStatementTimeoutMs : undefined
}

/** The direct statement path of `db`'s Tessera driver (direct-statements.ts); undefined on another dialect. */
export function directStatementsOf(db: AnyDatabase): DirectStatements | undefined {
  const adapter = db.getExecutor().adapter
  return adapter instanceof TesseraPostgresAdapter ? adapter.directStatements : undefined
}

/** Whether `db` sends session statements (src/sql printSessionStatement) as one batch: a Tessera dialect does. */
export function sessionBatchesOf(db: AnyDatabase): boolean {
  return db.getExecutor().adapter instanceof TesseraPostgresAdapter
}

export function createTesseraDialect(options: TesseraDialectOptions): Dialect {
  const maxPrepared = options.maxPreparedPerConnection ?? DEFAULT_MAX_PREPARED_PER_CONNECTION
  if (!Number.isSafeInteger(maxPrepared) || maxPrepared < 0) {
    throw new RangeError('maxPreparedPerConnection must be a non-negative integer')
  }
  const acquireTimeout = options.acquireTimeoutMillis ?? DEFAULT_ACQUIRE_TIMEOUT_MILLIS
  if (!Number.isSafeInteger(acquireTimeout) || acquireTimeout <= 0) {
    throw new RangeError('acquireTimeoutMillis must be a positive integer')
  }
  const timeout = options.statementTimeoutMs
  if (timeout !== undefined && (!Number.isSafeInteger(timeout) || timeout <= 0 || timeout > 2_147_483_647)) {
    throw new RangeError('statementTimeoutMs must be a positive integer of milliseconds')
  }
  const config: DriverConfig = {
    pool: options.pool,
    maxPrepared,
    acquireTimeout,
    sessionStatementTimeoutMs: timeout,
  }
  // Kysely creates a dialect's driver, then its adapter (kysely.js), for each instance: the adapter carries
  // the direct statement path of the driver created just before it.
  let lastDriver: TesseraDriver | undefined
  return {
    createDriver: () => (lastDriver = new TesseraDriver(config)),
    createQueryCompiler: () => new PostgresQueryCompiler(),
    createAdapter: () => new TesseraPostgresAdapter(timeout, lastDriver?.directStatements),
    createIntrospector: (db: AnyDatabase): DatabaseIntrospector => new PostgresIntrospector(db),
  }
}

interface DriverConfig {
  readonly pool: TesseraPool
  readonly maxPrepared: number
  readonly acquireTimeout: number
  readonly sessionStatementTimeoutMs: number | undefined
}

/** Mirrors kysely's PostgresDriver (dialect/postgres/postgres-driver.js) with the changes listed above. */
class TesseraDriver implements Driver {
  readonly #config: DriverConfig
  #pool: TesseraPool | undefined
  readonly #connections = new WeakMap<TesseraPoolClient, TesseraConnection>()
  readonly #names: StatementNamer
  readonly #connect: () => Promise<TesseraPoolClient>
  /** Statements sent on a connection of this driver without Kysely's connection provider (direct-statements.ts). */
  readonly directStatements: DirectStatements

  constructor(config: DriverConfig) {
    this.#config = config
    this.#names = new StatementNamer(config.maxPrepared)
    this.#connect = boundedConnect(config.pool, config.acquireTimeout)
    this.directStatements = new DirectStatements(this)
  }

  async init(): Promise<void> {
    this.#pool = this.#config.pool
  }

  async acquireConnection(): Promise<TesseraConnection> {
    // Synchronously, before the first await: what tells the direct path that a Kysely executor's connections
    // come from this driver (direct-statements.ts).
    this.directStatements.sawAcquire()
    const pool = this.#pool
    if (!pool) throw new Error('driver has already been destroyed')
    const connection = this.#connectionOf(await this.#connect())
    return connection instanceof TesseraConnection ? connection : await connection
  }

  /**
   * acquireConnection, `statement` on the connection, release — the direct path's one call (direct-statements.ts):
   * the same steps in one async function instead of three.
   */
  async runDirect<R>(statement: CompiledQuery): Promise<QueryResult<R>> {
    if (!this.#pool) throw new Error('driver has already been destroyed')
    const adopted = this.#connectionOf(await this.#connect())
    const connection = adopted instanceof TesseraConnection ? adopted : await adopted
    try {
      return await connection.executeQuery<R>(statement)
    } finally {
      connection.release()
    }
  }

  /** The connection of a client just taken from the pool, reserved; a promise while a new one gets its timeout. */
  #connectionOf(client: TesseraPoolClient): TesseraConnection | Promise<TesseraConnection> {
    if (!this.#pool) {
      client.release()
      throw new Error('driver has already been destroyed')
    }
    let connection = this.#connections.get(client)
    const isNew = connection === undefined
    if (!connection) {
      connection = new TesseraConnection(client, this.#names)
      this.#connections.set(client, connection)
    }
    connection.reserve()
    if (isNew && this.#config.sessionStatementTimeoutMs !== undefined) {
      return this.#withSessionTimeout(connection, this.#config.sessionStatementTimeoutMs)
    }
    return connection
  }

  async #withSessionTimeout(connection: TesseraConnection, timeoutMs: number): Promise<TesseraConnection> {
    try {
      await connection.executeQuery(
        CompiledQuery.raw("select set_config('statement_timeout', $1, false)", [String(timeoutMs)]),
      )
    } catch (err) {
      // The default must be in place before anyone relies on it: never hand out this connection.
      connection.markForDiscard(err)
      connection.release()
      throw err
    }
    return connection
  }

  async beginTransaction(connection: DatabaseConnection, settings: TransactionSettings): Promise<void> {
    let text = 'begin'
    if (settings.isolationLevel || settings.accessMode) {
      text = 'start transaction'
      if (settings.isolationLevel) text += ` isolation level ${settings.isolationLevel}`
      if (settings.accessMode) text += ` ${settings.accessMode}`
    }
    const conn = asTesseraConnection(connection)
    if (conn.canBatch()) conn.deferBegin(text)
    else await conn.executeQuery(CompiledQuery.raw(text))
    conn.inTransaction = true
  }

  async commitTransaction(connection: DatabaseConnection): Promise<void> {
    const conn = asTesseraConnection(connection)
    conn.inTransaction = false
    // Nothing was sent, so there is no transaction on the server to commit.
    if (conn.dropDeferredBegin()) return
    // Statements held for the commit go out with it (executeQuery).
    const { rows } = await conn.executeQuery<{ command?: string }>(CompiledQuery.raw('commit'))
    // PostgreSQL completes COMMIT with a ROLLBACK tag when an earlier error aborted the transaction.
    if (rows[0]?.command === 'ROLLBACK') throw new AbortedTransactionError()
  }

  /**
   * Unlike kysely, a failed ROLLBACK does not replace the error that caused it: the connection is marked
   * for destruction (the server aborts the open transaction when the session ends) and the original error
   * keeps propagating, so it is the one that gets mapped and logged.
   */
  async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    const conn = asTesseraConnection(connection)
    conn.inTransaction = false
    // Held statements never go out: the transaction they belong to is rolled back.
    conn.dropHeld()
    if (conn.dropDeferredBegin() || conn.isDiscarded()) return
    try {
      await conn.executeQuery(CompiledQuery.raw('rollback'))
    } catch (err) {
      conn.markForDiscard(err)
    }
  }

  async savepoint(
    connection: DatabaseConnection,
    savepointName: string,
    compileQuery: QueryCompiler['compileQuery'],
  ): Promise<void> {
    await connection.executeQuery(compileQuery(savepointCommand('savepoint', savepointName), createQueryId()))
  }

  async rollbackToSavepoint(
    connection: DatabaseConnection,
    savepointName: string,
    compileQuery: QueryCompiler['compileQuery'],
  ): Promise<void> {
    await connection.executeQuery(
      compileQuery(savepointCommand('rollback to', savepointName), createQueryId()),
    )
  }

  async releaseSavepoint(
    connection: DatabaseConnection,
    savepointName: string,
    compileQuery: QueryCompiler['compileQuery'],
  ): Promise<void> {
    await connection.executeQuery(compileQuery(savepointCommand('release', savepointName), createQueryId()))
  }

  async releaseConnection(connection: DatabaseConnection): Promise<void> {
    asTesseraConnection(connection).release()
  }

  async destroy(): Promise<void> {
    if (this.#pool) {
      const pool = this.#pool
      this.#pool = undefined
      await pool.end()
    }
  }
}

function savepointCommand(command: string, savepointName: string): RawNode {
  // IdentifierNode quotes the name, exactly like kysely's parseSavepointCommand.
  return RawNode.createWithChildren([
    RawNode.createWithSql(`${command} `),
    IdentifierNode.create(savepointName),
  ])
}
