/**
 * One statement on a node-postgres protocol client (pg.Client, with a socket or over PGlite), as a pg
 * "submittable" (the interface session-batch.ts and pg-cursor use) instead of a pg.Query — same messages,
 * same rows, less work per call:
 *
 *   Parse?  Bind  Describe?  Execute  Sync
 *
 * - The result columns of a named statement are remembered per connection from its first Describe (row-shape.ts,
 *   shared with session-batch.ts). Later executions of that name skip Describe: the server sends no RowDescription and the client builds no field
 *   list and no type parsers for it. pg's Query redoes both on every call (Result.addFields allocates a
 *   dictionary object, copies it and looks up every column's parser: more CPU than the rest of the driver).
 *   Sound because a statement prepared through the protocol has a fixed result type: when a schema change
 *   would alter its columns, PostgreSQL refuses to run it ("cached plan must not change result type",
 *   0A000) rather than return other columns under the same name.
 * - Rows are built exactly as pg.Result.parseRow builds them: a copy of the all-null row of the statement's
 *   columns, each column set by the client's type parser for its type (the client's `types` option is honoured:
 *   pg hands it over in `_result._types` before submitting).
 * - Parse is sent unless pg's own bookkeeping (`parsedStatements`, `submittedNamedStatements`) says the name
 *   is prepared on this connection; pg records the name when its ParseComplete arrives, as for its own Query.
 *
 * A client in binary mode, or one with a pipeline, gets pg's own Query (tessera-dialect.ts decides).
 */
import pg from 'pg'
import {
  buildRow,
  describeRowShape,
  knownRowShape,
  readCommandTag,
  rememberRowShape,
  type FieldDescription,
  type RowShape,
  type TypeSource,
} from './row-shape.ts'

/** The part of pg's (or PGlite's) protocol connection a prepared query writes on. */
export interface QueryConnection {
  readonly parsedStatements: Record<string, string | undefined>
  readonly submittedNamedStatements?: Record<string, string | undefined>
  readonly stream?: { cork?: () => void; uncork?: () => void }
  parse(message: { text: string; name: string }): void
  bind(message: { statement: string; portal: string; values: readonly unknown[] }): void
  describe(message: { type: 'P'; name: string }): void
  execute(message: { portal: string; rows: number }): void
  sync(): void
}

export interface PreparedQueryResult {
  readonly command: string
  readonly rowCount: number | null
  readonly rows: unknown[]
}

/** A statement that returns no rows (Describe answered NoData). */
const NO_COLUMNS: readonly FieldDescription[] = []

/** pg's conversion of a JavaScript value to a parameter (Date, array, Buffer, object → JSON …). */
const prepareValue = (pg as unknown as { utils: { prepareValue: (value: unknown) => unknown } }).utils
  .prepareValue

type Settle = (err: Error | undefined, result?: PreparedQueryResult) => void

export class PreparedQuery {
  /** Read by pg's client: it records `name` → `text` in parsedStatements when ParseComplete arrives. */
  readonly text: string
  readonly name: string | undefined
  /** Set by pg's client to the client's type parsers (its `types` option) before it submits the query. */
  readonly _result: { _types: TypeSource | undefined } = { _types: undefined }
  /** Set by pg's client when the client is in binary mode (tessera-dialect.ts never submits one then). */
  binary: boolean | undefined
  /**
   * Called once with the outcome, as pg.Query's callback is: pg's client wraps it for its `query_timeout`
   * (then calls it with the timeout error and replaces it with a no-op), and so may a host's instrumentation.
   */
  callback: Settle | undefined
  #connection: QueryConnection | undefined
  #shape: RowShape | undefined
  #described = false
  #command = ''
  #rowCount: number | null = null
  readonly #rows: unknown[] = []
  #rowError: Error | undefined
  readonly #values: readonly unknown[]

  constructor(text: string, values: readonly unknown[], name: string | undefined, settle: Settle) {
    this.text = text
    this.name = name
    this.#values = values
    this.callback = settle
  }

  /** Called by pg's Client with the connection once the client is free; writes the whole exchange. */
  submit(connection: QueryConnection): Error | null {
    const name = this.name ?? ''
    const text = this.text
    const parsed = name === '' ? undefined : connection.parsedStatements[name]
    const submitted = name === '' ? undefined : connection.submittedNamedStatements?.[name]
    // pg.Query's own refusal, kept: one name never stands for two texts on a connection.
    const previous = parsed ?? submitted
    if (previous !== undefined && previous !== text) {
      return new Error(`Prepared statements must be unique - '${name}' was used for a different statement`)
    }
    if (this.binary === true) return new Error('the Tessera dialect does not read binary-mode results')
    // Everything that can fail is done before the first byte is written.
    let values: unknown[]
    try {
      values = this.#values.map(prepareValue)
    } catch (err) {
      return err instanceof Error ? err : new Error('invalid parameter value')
    }
    this.#connection = connection
    const shape = knownRowShape(connection, name, text)
    connection.stream?.cork?.()
    try {
      if (previous === undefined) {
        connection.parse({ text, name })
        if (name !== '' && connection.submittedNamedStatements)
          connection.submittedNamedStatements[name] = text
      }
      connection.bind({ statement: name, portal: '', values })
      if (shape === undefined) {
        this.#described = true
        connection.describe({ type: 'P', name: '' })
      } else {
        this.#shape = shape
      }
      connection.execute({ portal: '', rows: 0 })
      connection.sync()
    } finally {
      connection.stream?.uncork?.()
    }
    return null
  }

  handleRowDescription(message: { fields: readonly FieldDescription[] }): void {
    this.#shape = describeRowShape(this.text, message.fields, this._result._types)
  }

  handleDataRow(message: { fields: readonly (string | null)[] }): void {
    if (this.#rowError !== undefined) return
    const shape = this.#shape
    if (shape === undefined) {
      this.#rowError = new Error('a row arrived before its description')
      return
    }
    try {
      this.#rows.push(buildRow(shape, message.fields))
    } catch (err) {
      this.#rowError = err instanceof Error ? err : new Error('row could not be parsed')
    }
  }

  handleCommandComplete(message: { text?: string; command?: string }): void {
    const { command, rowCount } = readCommandTag(message)
    this.#command = command
    this.#rowCount = rowCount
    // The statement ran: remember its columns (NoData: none) for the name's next execution.
    const name = this.name
    const connection = this.#connection
    if (this.#described && name !== undefined && name !== '' && connection !== undefined) {
      rememberRowShape(connection, name, this.#shape ?? describeRowShape(this.text, NO_COLUMNS, undefined))
    }
  }

  handleEmptyQuery(): void {}

  handlePortalSuspended(): void {}

  handleCopyInResponse(connection: { sendCopyFail(message: string): void }): void {
    connection.sendCopyFail('COPY is not supported by the Tessera dialect')
  }

  handleCopyData(): void {}

  /** The server skips to Sync after an error; pg routes nothing more to this query. */
  handleError(err: Error): void {
    this.#finish(err)
  }

  handleReadyForQuery(): void {
    this.#finish(this.#rowError)
  }

  #finish(err: Error | undefined): void {
    const settle = this.callback
    this.callback = undefined
    if (settle === undefined) return
    if (err) settle(err)
    else settle(undefined, { command: this.#command, rowCount: this.#rowCount, rows: this.#rows })
  }
}
