/**
 * One statement on a connection of the Tessera driver without Kysely's connection provider: the read (and
 * self-committing write) path of the executor, where Kysely would only add layers — DefaultConnectionProvider,
 * RuntimeDriver's acquire and release, a consumer closure: five async frames and their promises per call, for
 * nothing the call needs (bench/README.md, "Calls in flight").
 *
 * What Kysely's path gives a statement is kept: the connection is taken as the driver's acquireConnection takes
 * it (bounded wait, the session statement_timeout on a new connection, the error listener) and goes back through
 * its release (a connection that saw a connection-level failure is destroyed), and the statement goes through the
 * connection's executeQuery (extended protocol, named prepared statements, session batches). The executor sends
 * only statements src/sql printed here, as on Kysely's path (executor.ts checks them before).
 *
 * The direct path is taken only for a Kysely executor shown to take each connection from this driver's pool with
 * nothing around it: not a transaction's or `db.connection()`'s executor (those hold one connection, and a
 * statement must run on it), and not one that logs queries (Kysely's RuntimeDriver wraps `executeQuery` on every
 * connection it hands out when its `log` option is set). The proof is made on a real call, sent through Kysely:
 * Kysely's connection provider reaches the driver's acquireConnection synchronously when it acquires from the
 * pool (DefaultConnectionProvider → RuntimeDriver → driver, no await before once the driver is initialised), so a
 * flag raised around that synchronous start says whether this call's connection came from the driver, and the
 * connection handed to the consumer shows whether a logging wrapper was put on it.
 */
import type { CompiledQuery, QueryExecutor, QueryResult } from 'kysely'

export interface DirectDriver {
  /** acquireConnection, `statement` on the connection, then its release, as Kysely's path does them. */
  runDirect<R>(statement: CompiledQuery): Promise<QueryResult<R>>
}

export class DirectStatements {
  readonly #driver: DirectDriver
  #probing = false
  #acquired = false

  constructor(driver: DirectDriver) {
    this.#driver = driver
  }

  /** The driver calls this first thing in every acquireConnection, before any await. */
  sawAcquire(): void {
    if (this.#probing) this.#acquired = true
  }

  /** `statement` on a connection of the driver, then the connection back to the pool (as Kysely's path does). */
  run<R>(statement: CompiledQuery): Promise<QueryResult<R>> {
    return this.#driver.runDirect<R>(statement)
  }

  /**
   * `statement` sent through `executor` (Kysely's connection provider), and whether that executor's connections
   * come from this driver with nothing wrapped around them, so that `run` sends exactly as it does.
   */
  probe<R>(executor: QueryExecutor, statement: CompiledQuery): Promise<ProbedResult<R>> {
    let wrapped = false
    let answer: Promise<QueryResult<R>>
    this.#acquired = false
    this.#probing = true
    try {
      answer = executor.provideConnection((connection) => {
        // Kysely's query logging replaces executeQuery on the connection object itself (RuntimeDriver).
        wrapped = Object.hasOwn(connection, 'executeQuery')
        return connection.executeQuery<R>(statement)
      })
    } finally {
      this.#probing = false
    }
    const acquired = this.#acquired
    this.#acquired = false
    return answer.then((result) => ({ result, direct: acquired && !wrapped }))
  }
}

export interface ProbedResult<R> {
  readonly result: QueryResult<R>
  /** The executor takes each connection from the driver's pool and sends on it unwrapped. */
  readonly direct: boolean
}

/**
 * How the executor sends one statement on `executor`'s connections: through Kysely until a call has shown the
 * direct path sends the same (see the header), then directly. Without `statements` (another dialect), through
 * Kysely always.
 */
export function statementSender(
  executor: QueryExecutor,
  statements: DirectStatements | undefined,
  isTransaction: boolean,
): <R>(statement: CompiledQuery) => Promise<QueryResult<R>> {
  const viaKysely = <R>(statement: CompiledQuery): Promise<QueryResult<R>> =>
    executor.provideConnection((connection) => connection.executeQuery<R>(statement))
  if (statements === undefined || isTransaction) return viaKysely
  let direct = false
  const probed = <R>(statement: CompiledQuery): Promise<QueryResult<R>> =>
    statements.probe<R>(executor, statement).then((probe) => {
      if (probe.direct) direct = true
      return probe.result
    })
  return <R>(statement: CompiledQuery): Promise<QueryResult<R>> =>
    direct ? statements.run<R>(statement) : probed<R>(statement)
}
