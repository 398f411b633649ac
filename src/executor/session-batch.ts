/**
 * One round trip for a call that needs session settings (claims, timeout, role) before its one statement: the
 * extended-protocol messages of both statements go out in one write with a single Sync at the end —
 *
 *   Parse? Bind Execute  (select set_config('tessera.tenant_id', $1, true), …)
 *   Parse? Bind Describe Execute  (the statement, with its bound parameters)
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
 * then, so a batch that fails part-way never leaves a name the server lacks or parses one twice.
 */
import type { TypeSource } from './exact-json.ts'
import pg from 'pg'

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
interface ProtocolClient {
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
): Promise<BatchResult> {
  const first: readonly BatchStatement[] = Array.isArray(leading) ? leading : [leading as BatchStatement]
  return new Promise((resolve, reject) => {
    const batch = new SessionBatch(first, statement, (err, result) => {
      if (err) reject(err)
      else resolve(result as BatchResult)
    })
    // Set before submitting, so pg does not put the client's own parsers there (exact-json.ts).
    ;(batch._result as unknown as { _types: TypeSource })._types = types
    client.query(batch)
  })
}

type Callback = (err: Error | undefined, result?: BatchResult) => void

class SessionBatch {
  /** Its type parsers are set by runSessionBatch (pg would set the client's own when none are). */
  readonly _result = new pg.Result('', undefined as unknown as ConstructorParameters<typeof pg.Result>[1])
  readonly #leading: readonly BatchStatement[]
  readonly #statement: BatchStatement
  #callback: Callback | undefined
  /** Leading statements whose replies are still arriving (their rows are not kept); then the statement's. */
  #leadingLeft: number
  /** Names whose Parse is on the wire, in order: each ParseComplete records the first. */
  readonly #parsing: { name: string; text: string }[] = []
  #connection: ProtocolConnection | undefined
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
    connection.on('parseComplete', this.#onParseComplete)
    connection.stream?.cork?.()
    try {
      this.#leading.forEach((s, i) => {
        const name = this.#prepare(connection, s)
        connection.bind({ statement: name, portal: '', values: leadingValues[i] ?? [] })
        connection.execute({ portal: '', rows: 0 })
      })
      const statement = this.#prepare(connection, this.#statement)
      connection.bind({ statement, portal: '', values: statementValues })
      connection.describe({ type: 'P', name: '' })
      connection.execute({ portal: '', rows: 0 })
      connection.sync()
    } finally {
      connection.stream?.uncork?.()
    }
    return null
  }

  /** Writes Parse unless the name is already parsed with this text; returns the statement name to bind. */
  #prepare(connection: ProtocolConnection, s: BatchStatement): string {
    const name = s.name ?? ''
    const parsed = name === '' ? undefined : connection.parsedStatements[name]
    if (parsed === s.text) return name
    // A name taken by another text (never for sha1-derived names, but pg would refuse it): run unnamed.
    const use = parsed === undefined ? name : ''
    connection.parse({ text: s.text, name: use })
    this.#parsing.push({ name: use, text: s.text })
    return use
  }

  handleRowDescription(message: { fields: unknown[] }): void {
    if (this.#leadingLeft === 0) addFields(this._result, message.fields)
  }

  handleDataRow(message: { fields: unknown[] }): void {
    if (this.#leadingLeft > 0 || this.#rowError) return
    try {
      this._result.rows.push(parseRow(this._result, message.fields))
    } catch (err) {
      this.#rowError = err instanceof Error ? err : new Error('row could not be parsed')
    }
  }

  handleCommandComplete(message: object): void {
    if (this.#leadingLeft > 0) {
      this.#leadingLeft--
      return
    }
    addCommandComplete(this._result, message)
  }

  handleEmptyQuery(): void {}

  handlePortalSuspended(): void {}

  handleCopyInResponse(connection: { sendCopyFail(message: string): void }): void {
    connection.sendCopyFail('COPY is not part of a session batch')
  }

  handleCopyData(): void {}

  /** The first error ends the batch: the server skips to Sync, which rolls the implicit transaction back. */
  handleError(err: Error): void {
    this.#finish(err)
  }

  handleReadyForQuery(): void {
    this.#finish(this.#rowError)
  }

  #finish(err: Error | undefined): void {
    this.#connection?.removeListener('parseComplete', this.#onParseComplete)
    const callback = this.#callback
    this.#callback = undefined
    if (!callback) return
    if (err) callback(err)
    else {
      const { command, rowCount, rows } = this._result
      callback(undefined, { command, rowCount, rows })
    }
  }
}

/** pg.Result's row-building methods, which its type declarations leave out. */
interface ResultInternals {
  addFields(fields: unknown[]): void
  parseRow(fields: unknown[]): unknown
  addCommandComplete(message: object): void
}

function addFields(result: pg.Result, fields: unknown[]): void {
  ;(result as unknown as ResultInternals).addFields(fields)
}

function parseRow(result: pg.Result, fields: unknown[]): unknown {
  return (result as unknown as ResultInternals).parseRow(fields)
}

function addCommandComplete(result: pg.Result, message: object): void {
  ;(result as unknown as ResultInternals).addCommandComplete(message)
}
