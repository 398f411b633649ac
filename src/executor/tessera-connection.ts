/**
 * A connection of the Tessera dialect (tessera-dialect.ts): how one pooled node-postgres client sends the
 * planner's statements — always the extended protocol, named prepared statements, a transaction's BEGIN and
 * settings held back to ride with its first statement, a write's audit INSERT held to ride with its COMMIT, and
 * a client that saw a connection-level failure released for destruction. The dialect's file comment lists why
 * each of these exists.
 */
import { AbortedTransactionError, CompiledQuery, type DatabaseConnection, type QueryResult } from 'kysely'
import pg from 'pg'
import { isRidingWithCommit, isSessionSettings, sessionPrefixOf } from '../sql/index.ts'
import { isConnectionLevelError } from './database-error-kind.ts'
import { exactJsonTypes } from './exact-json.ts'
import type { TypeSource } from './exact-json.ts'
import { protocolClientOf, runSessionBatch, type ProtocolClient } from './session-batch.ts'
import type { StatementNamer } from './statement-namer.ts'
import { PreparedQuery, type PreparedQueryResult } from './prepared-query.ts'

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

export function asTesseraConnection(connection: DatabaseConnection): TesseraConnection {
  if (!(connection instanceof TesseraConnection)) throw new Error('not a Tessera dialect connection')
  return connection
}
