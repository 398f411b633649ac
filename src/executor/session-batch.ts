/**
 * One round trip for a call that needs session settings (claims, timeout, role) before its one statement: the
 * extended-protocol messages of both statements go out in one write with a single Sync at the end —
 *
 *   Parse? Bind Execute  (select set_config('tessera.tenant_id', $1, true), …)
 *   Parse? Bind Describe? Execute  (the statement, with its bound parameters)
 *   Sync
 *
 * PostgreSQL runs every Execute before a Sync in one implicit transaction (docs/threats.md fact 2): the
 * `set_config(…, true)` values hold for the statement and are gone when Sync ends the transaction, success or
 * not; an error skips everything up to Sync, which rolls back. So there is no BEGIN, no COMMIT and no ROLLBACK
 * to send, nothing runs between the settings and the statement, and every value is a bound parameter — no
 * request value is ever spliced into SQL text (docs/threats.md, "values are parameters").
 *
 * It is a pg "submittable" (the interface pg-cursor uses): pg's Client hands it the connection to write on
 * and routes the replies to it. PGlite's node-postgres adapter implements the same connection interface, so
 * both engines take this path. Named statements follow pg's own bookkeeping (`connection.parsedStatements`):
 * a name is sent with Parse until its ParseComplete has been seen on that connection, and is recorded only
 * then, so a batch that fails part-way never leaves a name the server lacks or parses one twice. The statement's
 * result columns are remembered per connection as for a single statement (row-shape.ts): once a name has run
 * there, its Describe and the RowDescription it brings back are left out, and rows are built as pg builds them.
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

/** The part of pg's (or PGlite's) protocol connection the batch writes on. */
interface ProtocolConnection {
  readonly parsedStatements: Record<string, string | undefined>
  readonly stream?: { cork?: () => void; uncork?: () => void }
  parse(message: { text: string; name: string }): void
  bind(message: { statement: string; portal: string; values: readonly unknown[] }): void
  describe(message: { type: 'P'; name: string }): void
  execute(message: { portal: string; rows: number }): void
  sync(): void
  on(event: 'parseComplete', listener: () => void): unknown
  removeListener(event: 'parseComplete', listener: () => void): unknown
}

/** A pg client whose protocol connection the batch can use (pg.Client, with a socket or over PGlite). */
export interface ProtocolClient {
  readonly connection: ProtocolConnection
  query(submittable: SessionBatch): unknown
}

export interface BatchStatement {
  readonly text: string
  readonly values: readonly unknown[]
  /** Prepared statement name, or undefined to use the unnamed statement. */
  readonly name: string | undefined
}

export interface BatchResult {
  readonly command: string
  readonly rowCount: number | null
  readonly rows: unknown[]
}

/** The client as a protocol client, or undefined when it is not one (pg-native, a test double). */
export function protocolClientOf(client: object): ProtocolClient | undefined {
  const connection: unknown = (client as { connection?: unknown }).connection
  if (typeof (client as { query?: unknown }).query !== 'function') return undefined
  if (typeof connection !== 'object' || connection === null) return undefined
  const c = connection as Record<string, unknown>
  const methods = ['parse', 'bind', 'describe', 'execute', 'sync', 'on', 'removeListener']
  if (!methods.every((m) => typeof c[m] === 'function')) return undefined
  if (typeof c['parsedStatements'] !== 'object' || c['parsedStatements'] === null) return undefined
  return client as unknown as ProtocolClient
}

/** pg's conversion of a JavaScript value to a parameter (Date, array, Buffer, object → JSON …). */
const prepareValue = (pg as unknown as { utils: { prepareValue: (value: unknown) => unknown } }).utils
  .prepareValue

/**
 * Sends `leading` (one statement or several, in order; their results are discarded) then `statement` as one batch
 * on `client`; resolves with the statement's result.
 */
export function runSessionBatch(
  client: ProtocolClient,
  leading: BatchStatement | readonly BatchStatement[],
  statement: BatchStatement,
  types: TypeSource,
  /** What a leading statement's error becomes (its index in `leading`); by default the error as it is. */
  leadingError?: (err: Error, index: number) => Error,
): Promise<BatchResult> {
  const first: readonly BatchStatement[] = Array.isArray(leading) ? leading : [leading as BatchStatement]
  return new Promise((resolve, reject) => {
    const batch = new SessionBatch(first, statement, (err, result) => {
      if (err) reject(err)
      else resolve(result as BatchResult)
    })
    if (leadingError !== undefined) batch.leadingError = leadingError
    // Set before submitting, so pg does not put the client's own parsers there (exact-json.ts).
    batch._result._types = types
    client.query(batch)
  })
}

type Callback = (err: Error | undefined, result?: BatchResult) => void

interface BindAs {
  readonly name: string
  readonly parse: boolean
}

/** A statement without result columns (Describe answered NoData). */
const NO_COLUMNS: readonly FieldDescription[] = []

class SessionBatch {
  /** Its type parsers, set by runSessionBatch before submitting (so pg does not put the client's own there). */
  readonly _result: { _types: TypeSource | undefined } = { _types: undefined }
  leadingError: ((err: Error, index: number) => Error) | undefined
  readonly #leading: readonly BatchStatement[]
  readonly #statement: BatchStatement
  #callback: Callback | undefined
  /** Leading statements whose replies are still arriving (their rows are not kept); then the statement's. */
  #leadingLeft: number
  /** Names whose Parse is on the wire, in order: each ParseComplete records the first. */
  readonly #parsing: { name: string; text: string }[] = []
  #connection: ProtocolConnection | undefined
  #listening = false
  /** The name the statement was bound under ('' when it ran unnamed). */
  #statementName = ''
  /** The statement's columns: remembered on the connection (row-shape.ts), or from this batch's Describe. */
  #shape: RowShape | undefined
  #described = false
  #command = ''
  #rowCount: number | null = null
  readonly #rows: unknown[] = []
  #rowError: Error | undefined
  readonly #onParseComplete = (): void => {
    const parsed = this.#parsing.shift()
    if (parsed !== undefined && parsed.name !== '' && this.#connection !== undefined) {
      this.#connection.parsedStatements[parsed.name] = parsed.text
    }
  }

  constructor(leading: readonly BatchStatement[], statement: BatchStatement, callback: Callback) {
    this.#leading = leading
    this.#leadingLeft = leading.length
    this.#statement = statement
    this.#callback = callback
  }

  /** Called by pg's Client with the connection once the client is free; writes the whole batch. */
  submit(connection: ProtocolConnection): Error | null {
    // Everything that can fail is done before the first byte is written: a half-written batch without its
    // Sync would run the settings together with whatever the next caller sends.
    let leadingValues: unknown[][]
    let statementValues: unknown[]
    try {
      leadingValues = this.#leading.map((s) => s.values.map(prepareValue))
      statementValues = this.#statement.values.map(prepareValue)
    } catch (err) {
      return err instanceof Error ? err : new Error('invalid parameter value')
    }
    this.#connection = connection
    const leading = this.#leading.map((s) => this.#bindAs(connection, s))
    const statement = this.#bindAs(connection, this.#statement)
    this.#statementName = statement.name
    // Remembered columns only for a name parsed with this text before this batch (no Parse of it goes out).
    if (!statement.parse) this.#shape = knownRowShape(connection, statement.name, this.#statement.text)
    // Listening costs an EventEmitter registration: only while one of this batch's Parses is answered.
    if (this.#parsing.length > 0) {
      this.#listening = true
      connection.on('parseComplete', this.#onParseComplete)
    }
    connection.stream?.cork?.()
    try {
      this.#leading.forEach((s, i) => {
        const { name, parse } = leading[i] as BindAs
        if (parse) connection.parse({ text: s.text, name })
        connection.bind({ statement: name, portal: '', values: leadingValues[i] ?? [] })
        connection.execute({ portal: '', rows: 0 })
      })
      if (statement.parse) connection.parse({ text: this.#statement.text, name: statement.name })
      connection.bind({ statement: statement.name, portal: '', values: statementValues })
      if (this.#shape === undefined) {
        this.#described = true
        connection.describe({ type: 'P', name: '' })
      }
      connection.execute({ portal: '', rows: 0 })
      connection.sync()
    } finally {
      connection.stream?.uncork?.()
    }
    return null
  }

  /**
   * The name to bind `s` under and whether a Parse must go first: its own name when free (parsed now) or already
   * parsed with this text (no Parse); unnamed when another text holds the name (never for sha1-derived names,
   * but pg would refuse it). Each Parse is queued for its ParseComplete.
   */
  #bindAs(connection: ProtocolConnection, s: BatchStatement): BindAs {
    const name = s.name ?? ''
    const parsed = name === '' ? undefined : connection.parsedStatements[name]
    if (parsed === s.text) return { name, parse: false }
    const use = parsed === undefined ? name : ''
    this.#parsing.push({ name: use, text: s.text })
    return { name: use, parse: true }
  }

  handleRowDescription(message: { fields: readonly FieldDescription[] }): void {
    if (this.#leadingLeft === 0) {
      this.#shape = describeRowShape(this.#statement.text, message.fields, this._result._types)
    }
  }

  handleDataRow(message: { fields: readonly (string | null)[] }): void {
    if (this.#leadingLeft > 0 || this.#rowError) return
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
    if (this.#leadingLeft > 0) {
      this.#leadingLeft--
      return
    }
    const { command, rowCount } = readCommandTag(message)
    this.#command = command
    this.#rowCount = rowCount
    // The statement ran: remember its columns (NoData: none) for the name's next execution on this connection.
    if (this.#described && this.#statementName !== '' && this.#connection !== undefined) {
      rememberRowShape(
        this.#connection,
        this.#statementName,
        this.#shape ?? describeRowShape(this.#statement.text, NO_COLUMNS, undefined),
      )
    }
  }

  handleEmptyQuery(): void {}

  handlePortalSuspended(): void {}

  handleCopyInResponse(connection: { sendCopyFail(message: string): void }): void {
    connection.sendCopyFail('COPY is not part of a session batch')
  }

  handleCopyData(): void {}

  /** The first error ends the batch: the server skips to Sync, which rolls the implicit transaction back. */
  handleError(err: Error): void {
    const left = this.#leadingLeft
    this.#finish(
      left > 0 && this.leadingError !== undefined ? this.leadingError(err, this.#leading.length - left) : err,
    )
  }

  handleReadyForQuery(): void {
    this.#finish(this.#rowError)
  }

  #finish(err: Error | undefined): void {
    if (this.#listening) {
      this.#listening = false
      this.#connection?.removeListener('parseComplete', this.#onParseComplete)
    }
    const callback = this.#callback
    this.#callback = undefined
    if (!callback) return
    if (err) callback(err)
    else callback(undefined, { command: this.#command, rowCount: this.#rowCount, rows: this.#rows })
  }
}
