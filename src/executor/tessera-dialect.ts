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
import pg from 'pg'
import { isRidingWithCommit, isSessionSettings, sessionPrefixOf } from '../sql/index.ts'
import { isConnectionLevelError } from './database-error-kind.ts'
import { exactJsonTypes } from './exact-json.ts'
import type { TypeSource } from './exact-json.ts'
import { protocolClientOf, runSessionBatch, type ProtocolClient } from './session-batch.ts'
import { StatementNamer } from './statement-namer.ts'
import { PreparedQuery, type PreparedQueryResult } from './prepared-query.ts'
import { boundedConnect } from './acquire-connection.ts'
import { DirectStatements } from './direct-statements.ts'
import type { AnyDatabase } from '../schema/index.ts'

/** The query shape sent to node-postgres: never a bare string, so never the simple protocol. */
export interface TesseraQueryConfig {
  readonly text: string
  readonly values: unknown[]
  readonly name?: string
  readonly queryMode: 'extended'
}

export interface TesseraQueryResult {
  readonly command: string
  readonly rowCount: number | null
  readonly rows: unknown[]
}

/** The subset of a `pg.PoolClient` the dialect uses. */
export interface TesseraPoolClient {
  query(config: TesseraQueryConfig): Promise<TesseraQueryResult>
  /** pg-pool destroys the client when given a truthy argument. */
  release(err?: Error | boolean): void
  on?(event: 'error', listener: (err: Error) => void): unknown
  removeListener?(event: 'error', listener: (err: Error) => void): unknown
}

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

export class TesseraConnection implements DatabaseConnection {
  readonly #client: TesseraPoolClient
  readonly #names: StatementNamer
  /** How #send submits on this client (fixed per client, so decided once). */
  readonly #submission: Submission
  /** The client's type parsers with json and jsonb read exactly (exact-json.ts), handed to every statement. */
  readonly #types: TypeSource
  /** The client as a protocol client, for session batches; undefined when it gives no access (decided once). */
  readonly #protocol: ProtocolClient | undefined
  #discardReason: Error | undefined
  /**
   * A transaction's BEGIN, and its settings statement if that came next, held back to go out with the
   * transaction's first other statement; undefined once anything of the transaction has been sent.
   */
  #deferred: CompiledQuery[] | undefined
  /** Statements riding with the commit (src/sql isRidingWithCommit), held for the transaction's next statement. */
  #held: CompiledQuery[] | undefined
  /** Between beginTransaction and commitTransaction/rollbackTransaction: only then is anything held. */
  inTransaction = false
  readonly #onClientError = (err: Error): void => {
    // A socket error or a FATAL message between statements: pg marks the client unusable and emits it
    // here. Without a listener an 'error' event on a checked-out client would crash the process.
    this.markForDiscard(err)
  }

  constructor(client: TesseraPoolClient, names: StatementNamer) {
    this.#client = client
    this.#names = names
    this.#protocol = protocolClientOf(client)
    this.#submission = submissionFor(client, this.#protocol)
    this.#types = exactJsonTypes(typeSourceOf(client))
  }

  reserve(): void {
    this.#client.on?.('error', this.#onClientError)
  }

  isDiscarded(): boolean {
    return this.#discardReason !== undefined
  }

  /** Whether the client gives access to its protocol connection, so statements can go out as one batch. */
  canBatch(): boolean {
    return this.#protocol !== undefined
  }

  deferBegin(text: string): void {
    this.#deferred = [CompiledQuery.raw(text)]
  }

  /**
   * Forgets a BEGIN (and settings) not sent yet; true when there was one: the transaction never reached the
   * server, and its settings were transaction-local, so there is nothing to commit or roll back.
   */
  dropDeferredBegin(): boolean {
    const had = this.#deferred !== undefined
    this.#deferred = undefined
    return had
  }

  dropHeld(): void {
    this.#held = undefined
  }

  markForDiscard(err: unknown): void {
    this.#discardReason ??= err instanceof Error ? err : new Error('connection-level failure')
  }

  release(): void {
    this.#deferred = undefined
    this.#held = undefined
    this.inTransaction = false
    this.#client.removeListener?.('error', this.#onClientError)
    const reason = this.#discardReason
    if (reason) this.#client.release(reason)
    else this.#client.release()
  }

  executeQuery<R>(compiledQuery: CompiledQuery): Promise<QueryResult<R>> {
    // The common case — nothing held or deferred, outside a transaction (every read, a self-committing write) —
    // hands #send's promise on as it is: an async function returning it would add a promise and two ticks.
    if (
      this.#discardReason === undefined &&
      this.#deferred === undefined &&
      this.#held === undefined &&
      !this.inTransaction &&
      sessionPrefixOf(compiledQuery) === undefined
    ) {
      return this.#send(compiledQuery)
    }
    return this.#executeQueryHolding(compiledQuery)
  }

  async #executeQueryHolding<R>(compiledQuery: CompiledQuery): Promise<QueryResult<R>> {
    if (this.#discardReason) throw new Error('Postgres connection has been discarded')
    const deferred = this.#deferred
    const prefix = sessionPrefixOf(compiledQuery)
    if (
      deferred === undefined &&
      this.inTransaction &&
      this.#protocol !== undefined &&
      prefix === undefined &&
      isRidingWithCommit(compiledQuery)
    ) {
      // Its result is never read: it waits for the transaction's next statement (normally COMMIT).
      ;(this.#held ??= []).push(compiledQuery)
      return { rows: [] }
    }
    const held = this.#held
    if (held !== undefined) {
      this.#held = undefined
      if (prefix === undefined) return this.#executeBatch(held, compiledQuery, heldStatementError)
      // A session statement brings its own settings statement: what was held goes first, on its own.
      const last = held.pop() as CompiledQuery
      if (held.length > 0) await this.#executeBatch(held, last, heldStatementError)
      else await this.#send(last).catch((err: unknown) => Promise.reject(heldStatementError(asError(err))))
    }
    if (deferred !== undefined) {
      // The settings statement's result is never read (executor.ts): it waits for the next statement.
      if (isSessionSettings(compiledQuery) && prefix === undefined) {
        deferred.push(compiledQuery)
        return { rows: [] }
      }
      this.#deferred = undefined
      if (prefix === undefined) return this.#executeBatch(deferred, compiledQuery)
      // A session statement brings its own settings statement: what was held back goes first, on its own.
      const last = deferred.pop() as CompiledQuery
      if (deferred.length === 0) await this.#send(last)
      else await this.#executeBatch(deferred, last)
    }
    if (prefix !== undefined) return this.#executeWithSession(prefix, compiledQuery)
    return this.#send(compiledQuery)
  }

  /** One statement, as it is (a session statement's own text and parameters, without its settings). */
  async #send<R>(compiledQuery: CompiledQuery): Promise<QueryResult<R>> {
    const client = this.#client
    const name = this.#names.nameFor(client, compiledQuery.sql)
    // node-postgres only reads the values (serialising them into its Bind message): no copy needed.
    const values = compiledQuery.parameters as unknown[]
    let result: TesseraQueryResult
    try {
      const submission = this.#submission
      result =
        submission === 'prepared'
          ? await submitPrepared(
              client as unknown as PreparedQueryClient,
              compiledQuery.sql,
              values,
              name,
              this.#types,
            )
          : submission === 'query'
            ? await submitQuery(client as unknown as pg.Client, compiledQuery.sql, values, name, this.#types)
            : // A config object's `types` would also reach node-postgres' Parse message as parameter types, so
              // a client reached this way (pg-native, a double) keeps its own json parsing (exact-json.ts).
              await client.query(
                name === undefined
                  ? { text: compiledQuery.sql, values, queryMode: 'extended' }
                  : { text: compiledQuery.sql, values, queryMode: 'extended', name },
              )
    } catch (err) {
      if (isConnectionLevelError(err)) this.markForDiscard(err)
      throw err
    }
    return queryResult(result)
  }

  /**
   * A session statement (src/sql printSessionStatement): its settings statement, then it, in one implicit
   * transaction and one round trip (session-batch.ts). A client without access to its protocol connection
   * (pg-native, a test double) gets the same in an explicit transaction, four round trips.
   */
  async #executeWithSession<R>(prefix: CompiledQuery, compiledQuery: CompiledQuery): Promise<QueryResult<R>> {
    if (this.#protocol === undefined) return this.#executeInTransaction(prefix, compiledQuery)
    return this.#executeBatch(prefix, compiledQuery)
  }

  /** `first` (one or several) then `compiledQuery` as one batch with one Sync (session-batch.ts); the result is the last's. */
  async #executeBatch<R>(
    first: CompiledQuery | readonly CompiledQuery[],
    compiledQuery: CompiledQuery,
    leadingError?: (err: Error) => Error,
  ): Promise<QueryResult<R>> {
    const protocol = this.#protocol
    if (protocol === undefined) throw new Error('the client gives no access to its protocol connection')
    const statement = (c: CompiledQuery) => ({
      text: c.sql,
      values: c.parameters,
      name: this.#names.nameFor(this.#client, c.sql),
    })
    try {
      const leading = Array.isArray(first) ? first.map(statement) : statement(first as CompiledQuery)
      return queryResult(
        await runSessionBatch(protocol, leading, statement(compiledQuery), this.#types, leadingError),
      )
    } catch (err) {
      // A held statement's failure is judged by the server's error it wraps: a clean one leaves the session
      // usable, for the ROLLBACK that follows.
      if (isConnectionLevelError(err instanceof HeldStatementError ? err.cause : err))
        this.markForDiscard(err)
      throw err
    }
  }

  async #executeInTransaction<R>(
    prefix: CompiledQuery,
    compiledQuery: CompiledQuery,
  ): Promise<QueryResult<R>> {
    await this.#send(CompiledQuery.raw('begin'))
    try {
      await this.#send(prefix)
      const result = await this.#send<R>(compiledQuery)
      const { rows } = await this.#send<{ command?: string }>(CompiledQuery.raw('commit'))
      if (rows[0]?.command === 'ROLLBACK') throw new AbortedTransactionError()
      return result
    } catch (err) {
      if (!this.isDiscarded()) {
        try {
          await this.#send(CompiledQuery.raw('rollback'))
        } catch (rollbackError) {
          this.markForDiscard(rollbackError)
        }
      }
      throw err
    }
  }

  // eslint-disable-next-line require-yield
  async *streamQuery<R>(): AsyncIterableIterator<QueryResult<R>> {
    throw new Error('streaming is not supported by the Tessera dialect')
  }
}

/**
 * A statement held for the commit failed, so the transaction did not commit. Not the error of the statement that
 * carried it (a COMMIT, or the write's next statement): the caller must not read it as the write's own (a
 * constraint of the audit table is no VALIDATION_ERROR of the request), and it has no SQLSTATE of its own, so it
 * maps to INTERNAL_ERROR. A connection-level failure stays as it is (the connection must be discarded).
 */
export class HeldStatementError extends Error {
  constructor(cause: Error) {
    // Not the cause's message, which reaches the log (map-database-error.ts): the held statement is the audit
    // INSERT, and its class 22 and 23 messages quote the record's values (docs/decisions.md, "A failed audit
    // INSERT"). The SQLSTATE and the names the server reports say what failed; the cause keeps the rest.
    super(`a statement held for the commit failed, nothing was committed: ${heldFailure(cause)}`, { cause })
    this.name = 'HeldStatementError'
  }
}

/** `SQLSTATE 22P02 (table tessera_audit, constraint …)` for a server error; the client's own message otherwise. */
function heldFailure(cause: Error): string {
  const fields = cause as Error & Partial<Record<'code' | 'table' | 'column' | 'constraint', unknown>>
  const code = fields.code
  if (typeof code !== 'string' || !/^[0-9A-Z]{5}$/.test(code)) return cause.message
  const names = (['table', 'column', 'constraint'] as const).flatMap((name) => {
    const value = fields[name]
    return typeof value === 'string' && value !== '' ? [`${name} ${value.slice(0, 128)}`] : []
  })
  return `SQLSTATE ${code}${names.length > 0 ? ` (${names.join(', ')})` : ''}`
}

function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err))
}

function heldStatementError(err: Error): Error {
  return isConnectionLevelError(err) ? err : new HeldStatementError(err)
}

/** A node-postgres result as Kysely's QueryResult; COMMIT and ROLLBACK report their tag as a row. */
function queryResult<R>(result: TesseraQueryResult): QueryResult<R> {
  const { command, rowCount, rows } = result
  if (command === 'ROLLBACK' || command === 'COMMIT') {
    return { rows: [{ command } as R] }
  }
  const affects = command === 'INSERT' || command === 'UPDATE' || command === 'DELETE' || command === 'MERGE'
  const out = (rows ?? []) as R[]
  return affects ? { numAffectedRows: BigInt(rowCount ?? 0), rows: out } : { rows: out }
}

/**
 * How a client takes one statement:
 * - `prepared`: a protocol client (duck-typed, not `instanceof pg.Client`: an application whose pool comes from
 *   another copy of pg has clients of another class that take a submittable just the same) in text mode
 *   without a pipeline gets a PreparedQuery (prepared-query.ts: no Describe once a name's columns are known);
 * - `query`: another protocol client (binary mode, pipeline) gets pg's own Query;
 * - `config`: anything else (pg-native, a test double) gets a config object.
 */
type Submission = 'prepared' | 'query' | 'config'

function submissionFor(client: TesseraPoolClient, protocol: ProtocolClient | undefined): Submission {
  if (protocol === undefined) return 'config'
  const flags = client as { binary?: unknown; pipeline?: unknown }
  return flags.binary || flags.pipeline ? 'query' : 'prepared'
}

interface PreparedQueryClient {
  query(submittable: PreparedQuery): unknown
}

function submitPrepared(
  client: PreparedQueryClient,
  text: string,
  values: unknown[],
  name: string | undefined,
  types: TypeSource,
): Promise<PreparedQueryResult> {
  return new Promise((resolve, reject) => {
    const query = new PreparedQuery(text, values, name, (err, result) => {
      if (err) reject(err)
      else resolve(result as PreparedQueryResult)
    })
    // Set before submitting, so pg does not put the client's own parsers there.
    query._result._types = types
    client.query(query)
  })
}

/**
 * Sends one statement on a node-postgres client as a Query it builds from the text: handed a config object,
 * node-postgres copies it property by property through descriptors on every call (~5 µs, more than the rest of
 * the driver). Same protocol as the config object: extended mode, the statement name when there is one.
 */
function submitQuery(
  client: pg.Client,
  text: string,
  values: unknown[],
  name: string | undefined,
  types: TypeSource,
): Promise<TesseraQueryResult> {
  return new Promise((resolve, reject) => {
    const query = new pg.Query(text, values, (err, res) => {
      if (err) reject(err)
      else resolve(res as unknown as TesseraQueryResult)
    })
    // The fields node-postgres reads from a config object, set on the Query it would have built from one
    // (the type parsers before submitting, so pg does not put the client's own there).
    const fields = query as unknown as {
      name: string | undefined
      queryMode: 'extended'
      _result: { _types: TypeSource }
    }
    fields.name = name
    fields.queryMode = 'extended'
    fields._result._types = types
    client.query(query)
  })
}

/** A node-postgres client's own type parsers (its `types` option), when it exposes them. */
function typeSourceOf(client: TesseraPoolClient): TypeSource | undefined {
  const own = client as { getTypeParser?: unknown }
  return typeof own.getTypeParser === 'function' ? (client as unknown as TypeSource) : undefined
}

function asTesseraConnection(connection: DatabaseConnection): TesseraConnection {
  if (!(connection instanceof TesseraConnection)) throw new Error('not a Tessera dialect connection')
  return connection
}

function savepointCommand(command: string, savepointName: string): RawNode {
  // IdentifierNode quotes the name, exactly like kysely's parseSavepointCommand.
  return RawNode.createWithChildren([
    RawNode.createWithSql(`${command} `),
    IdentifierNode.create(savepointName),
  ])
}
