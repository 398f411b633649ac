/**
 * The result columns of a named prepared statement, remembered per protocol connection, and rows built from them
 * exactly as pg.Result builds them. Shared by the dialect's two submittables — one statement (prepared-query.ts)
 * and a session batch (session-batch.ts) — so a statement described by either is read by both without another
 * Describe.
 *
 * Skipping Describe is sound because a statement prepared through the protocol has a fixed result type: when a
 * schema change would alter its columns, PostgreSQL refuses to run it ("cached plan must not change result
 * type", 0A000) rather than return other columns under the same name. A shape is used only while the name is
 * parsed on that connection with the same text (pg's own `parsedStatements`), and only a statement that ran to
 * its CommandComplete records one.
 */
import pg from 'pg'

export type TypeParser = (raw: string) => unknown

/** What pg's client hands a submittable in `_result._types` (its `types` option, or pg's defaults). */
export interface TypeSource {
  getTypeParser(oid: number, format: 'text'): TypeParser
}

export interface FieldDescription {
  readonly name: string
  readonly dataTypeID: number
}

/** The result columns of one statement, as pg.Result.addFields prepares them. */
export interface RowShape {
  /** The statement text this shape belongs to (a name is only ever reused for the same text). */
  readonly text: string
  readonly names: readonly string[]
  readonly parsers: readonly TypeParser[]
  /** Every column null, in column order: each row starts as a copy of it (pg's prebuilt empty row). */
  readonly empty: Record<string, null>
}

/** Shapes of named statements, per protocol connection; bounded by the dialect's per-connection name budget. */
const shapesByConnection = new WeakMap<object, Map<string, RowShape>>()

/**
 * The remembered columns of `name` on `connection`, or undefined when the statement must be described: unnamed,
 * not parsed there with this text (a Parse goes out with it), or never run to completion there.
 */
export function knownRowShape(
  connection: { readonly parsedStatements: Record<string, string | undefined> },
  name: string,
  text: string,
): RowShape | undefined {
  if (name === '' || connection.parsedStatements[name] !== text) return undefined
  const shape = shapesByConnection.get(connection)?.get(name)
  return shape !== undefined && shape.text === text ? shape : undefined
}

/** Records the columns of `name` on `connection` once it ran (NoData: `describeRowShape(text, [], …)`). */
export function rememberRowShape(connection: object, name: string, shape: RowShape): void {
  if (name === '') return
  let shapes = shapesByConnection.get(connection)
  if (shapes === undefined) {
    shapes = new Map()
    shapesByConnection.set(connection, shapes)
  }
  shapes.set(name, shape)
}

/** The shape a RowDescription gives, with the client's type parsers (pg's defaults when it handed none). */
export function describeRowShape(
  text: string,
  fields: readonly FieldDescription[],
  types: TypeSource | undefined,
): RowShape {
  const names: string[] = []
  const parsers: TypeParser[] = []
  // As pg.Result.addFields: a null-prototype object (a column may be called `__proto__`), copied once.
  const empty = Object.create(null) as Record<string, null>
  for (const field of fields) {
    names.push(field.name)
    empty[field.name] = null
    parsers.push(
      types === undefined
        ? (pg.types.getTypeParser(field.dataTypeID, 'text') as TypeParser)
        : types.getTypeParser(field.dataTypeID, 'text'),
    )
  }
  return { text, names, parsers, empty: { ...empty } }
}

/** One DataRow as pg.Result.parseRow builds it: a copy of the all-null row, each column through its parser. */
export function buildRow(shape: RowShape, fields: readonly (string | null)[]): Record<string, unknown> {
  const row: Record<string, unknown> = { ...shape.empty }
  const { names, parsers } = shape
  for (let i = 0; i < fields.length; i++) {
    const raw = fields[i]
    row[names[i] as string] = raw === null || raw === undefined ? null : (parsers[i] as TypeParser)(raw)
  }
  return row
}

/** pg's command-tag reading (pg.Result.addCommandComplete). */
const COMMAND_TAG = /^([A-Za-z]+)(?: (\d+))?(?: (\d+))?/

/** The command and row count of a CommandComplete message, as pg.Result reads them. */
export function readCommandTag(message: { text?: string; command?: string }): {
  command: string
  rowCount: number | null
} {
  const match = COMMAND_TAG.exec(message.text ?? message.command ?? '')
  if (!match) return { command: '', rowCount: null }
  const count = match[3] ?? match[2]
  return { command: match[1] as string, rowCount: count ? parseInt(count, 10) : null }
}
