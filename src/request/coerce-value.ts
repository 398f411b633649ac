/**
 * Type-checks filter values against the column they compare with, in JavaScript, before any SQL exists.
 * The database must never be the one to reject a value: a per-row parse or cast error can carry another
 * tenant's data in its text (docs/threats.md fact 1), so the SQL compares columns with bound parameters of the
 * column's own type and no casts, and every value that reaches it is already known to parse.
 */
import type { ColumnInfo } from '../schema/index.ts'
import { printable, validationError } from '../errors/index.ts'
import { LIST_OPS, PATTERN_OPS, type FilterOp, type ListOp, type PatternOp } from './filter-schema.ts'

/** Longest literal accepted by contains / startswith / endswith (unanchored LIKE costs grow with it). */
export const MAX_PATTERN_LENGTH = 1_000
/**
 * Longest literal for `contains` / `endswith`: an unanchored LIKE compares the pattern at every position of
 * every row it scans (work ~ rows × column width × pattern length), so a 1,000-character pattern over
 * 10,000-character rows ran for seconds under a low cost estimate. Anchored `startswith` keeps the longer cap.
 */
export const MAX_UNANCHORED_PATTERN_LENGTH = 100
/** Longest decimal string accepted for numeric columns. */
export const MAX_NUMERIC_LENGTH = 200

export const UUID_PATTERN = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/
const DECIMAL_PATTERN = /^-?\d+(\.\d+)?$/
const INTEGER_TEXT = /^-?\d{1,20}$/
const DATE_TIME_PATTERN =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,6})?)?(Z|[+-](\d{2}):(\d{2}))?)?$/
const TIME_PATTERN = /^(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,6})?)?(Z|[+-](\d{2}):(\d{2}))?$/

const INT_RANGES: Readonly<Record<string, readonly [number, number]>> = {
  int2: [-32_768, 32_767],
  int4: [-2_147_483_648, 2_147_483_647],
}
const INT8_MIN = -(2n ** 63n)
const INT8_MAX = 2n ** 63n - 1n
const FLOAT4_MAX = 3.4028234663852886e38

/** Enum labels listed in an error; a longer list is cut (the message length is bounded). */
const MAX_LISTED_LABELS = 20

const ORDERING_OPS: ReadonlySet<FilterOp> = new Set(['lt', 'lte', 'gt', 'gte', 'between'])

function fail(path: string, message: string): never {
  throw validationError(`Invalid filter value at ${path}: ${message}`, [{ path, message }])
}

function isListOp(op: FilterOp): op is ListOp {
  return (LIST_OPS as readonly FilterOp[]).includes(op)
}

function isPatternOp(op: FilterOp): op is PatternOp {
  return (PATTERN_OPS as readonly FilterOp[]).includes(op)
}

function inRange(n: number, [lo, hi]: readonly [number, number]): boolean {
  return n >= lo && n <= hi
}

function validDateParts(year: string, month: string, day: string): boolean {
  const y = Number(year)
  const m = Number(month)
  const d = Number(day)
  if (y < 1 || m < 1 || m > 12 || d < 1) return false
  // Day 0 of the next month is the last day of this one (UTC, so no DST surprises).
  return d <= new Date(Date.UTC(y, m, 0)).getUTCDate()
}

function validClock(hour?: string, minute?: string, second?: string): boolean {
  return Number(hour ?? 0) <= 23 && Number(minute ?? 0) <= 59 && Number(second ?? 0) <= 59
}

function validOffset(offsetHours?: string, offsetMinutes?: string): boolean {
  return Number(offsetHours ?? 0) <= 15 && Number(offsetMinutes ?? 0) <= 59
}

/** ISO-8601 date or date-time (`2024-05-01`, `2024-05-01T10:30:00.123Z`, `…+02:00`). */
export function isIsoTimestamp(text: string): boolean {
  const m = DATE_TIME_PATTERN.exec(text)
  if (m === null) return false
  const [, year = '', month = '', day = '', hour, minute, second, , offH, offM] = m
  return (
    validDateParts(year, month, day) &&
    validClock(hour, minute, second) &&
    validOffset(offH, offM) &&
    !Number.isNaN(Date.parse(text.replace(' ', 'T')))
  )
}

/** ISO-8601 time of day (`10:30`, `10:30:00.5`, `10:30:00+02:00`) for `time` / `timetz` columns. */
export function isIsoTime(text: string): boolean {
  const m = TIME_PATTERN.exec(text)
  if (m === null) return false
  const [, hour, minute, second, , offH, offM] = m
  return validClock(hour, minute, second) && validOffset(offH, offM)
}

function coerceInteger(column: ColumnInfo, value: unknown, path: string): number {
  const range = INT_RANGES[column.udtName] ?? INT_RANGES.int4
  let n: number | undefined
  if (typeof value === 'number' && Number.isSafeInteger(value)) n = value
  else if (typeof value === 'string' && INTEGER_TEXT.test(value)) n = Number(value)
  if (n === undefined) return fail(path, `expected an integer for field '${column.name}'`)
  if (range === undefined || !inRange(n, range)) {
    return fail(path, `integer out of range for field '${column.name}'`)
  }
  return n
}

function coerceBigint(column: ColumnInfo, value: unknown, path: string): string {
  let n: bigint | undefined
  if (typeof value === 'number' && Number.isSafeInteger(value)) n = BigInt(value)
  else if (typeof value === 'string' && INTEGER_TEXT.test(value)) n = BigInt(value)
  if (n === undefined) {
    return fail(
      path,
      `expected an integer for field '${column.name}' (send integers above 2^53 as digit strings)`,
    )
  }
  if (n < INT8_MIN || n > INT8_MAX) return fail(path, `integer out of range for field '${column.name}'`)
  return n.toString()
}

function coerceNumeric(column: ColumnInfo, value: unknown, path: string): string {
  if (typeof value === 'number' && Number.isFinite(value)) return String(value)
  if (typeof value === 'string' && value.length <= MAX_NUMERIC_LENGTH && DECIMAL_PATTERN.test(value)) {
    return value
  }
  return fail(path, `expected a number or a decimal string such as "12.50" for field '${column.name}'`)
}

function coerceFloat(column: ColumnInfo, value: unknown, path: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    return fail(path, `expected a finite number for field '${column.name}'`)
  }
  // float4 rejects a non-zero value that rounds to zero (`1e-46`) as well as one above its maximum: both are
  // refused here, so the database is never the one to reject the parameter.
  if (
    column.udtName === 'float4' &&
    (Math.abs(value) > FLOAT4_MAX || (value !== 0 && Math.fround(value) === 0))
  ) {
    return fail(path, `number out of range for field '${column.name}'`)
  }
  return value
}

function coerceTimestamp(column: ColumnInfo, value: unknown, path: string): string {
  const timeOfDay = column.udtName === 'time' || column.udtName === 'timetz'
  if (typeof value === 'string' && (timeOfDay ? isIsoTime(value) : isIsoTimestamp(value))) return value
  return fail(
    path,
    timeOfDay
      ? `expected an ISO-8601 time such as "14:30:00" for field '${column.name}'`
      : `expected an ISO-8601 date or timestamp such as "2024-05-01T14:30:00Z" for field '${column.name}'`,
  )
}

/** `'a', 'b', 'c'` (the schema's labels, not request text), cut after MAX_LISTED_LABELS. */
function listLabels(labels: readonly string[]): string {
  const shown = labels.slice(0, MAX_LISTED_LABELS).map((l) => `'${printable(l)}'`)
  const more = labels.length - shown.length
  return more > 0 ? `${shown.join(', ')} (and ${more} more)` : shown.join(', ')
}

/** One scalar against the column type; returns the value to bind. */
function coerceScalar(column: ColumnInfo, value: unknown, path: string): unknown {
  if (value === null) return fail(path, `null is not a comparison value; use { op: 'is_null' } instead`)
  switch (column.typeClass) {
    case 'string':
      if (typeof value !== 'string') return fail(path, `expected a string for field '${column.name}'`)
      if (column.enumValues !== undefined && !column.enumValues.includes(value)) {
        // The rejected value is not repeated: it may be a secret pasted into the wrong field.
        return fail(path, `expected one of ${listLabels(column.enumValues)} for field '${column.name}'`)
      }
      return value
    case 'uuid':
      if (typeof value === 'string' && UUID_PATTERN.test(value)) return value
      return fail(path, `expected a UUID string for field '${column.name}'`)
    case 'integer':
      return coerceInteger(column, value, path)
    case 'bigint':
      return coerceBigint(column, value, path)
    case 'numeric':
      return coerceNumeric(column, value, path)
    case 'float':
      return coerceFloat(column, value, path)
    case 'boolean':
      if (typeof value === 'boolean') return value
      return fail(path, `expected true or false for field '${column.name}'`)
    case 'timestamp':
      return coerceTimestamp(column, value, path)
    case 'json':
    case 'bytea':
    case 'array':
    case 'other':
      return fail(path, `field '${column.name}' cannot be filtered by value (only with is_null)`)
    default: {
      const unhandled: never = column.typeClass
      return fail(path, `field '${column.name}' has an unsupported type ${String(unhandled)}`)
    }
  }
}

/**
 * Checks `value` for `column op value` and returns what to bind: a scalar, an array (`in`, `not_in`), a
 * `[low, high]` pair (`between`) or a boolean (`is_null`, default true). bigint and numeric values come back
 * as strings (no precision loss); uuid and timestamp values are validated here, never by the database.
 * `path` locates the value in the request for the error (e.g. `where.and[1].value`).
 */
export function coerceFilterValue(column: ColumnInfo, op: FilterOp, value: unknown, path: string): unknown {
  if (op === 'is_null') {
    if (value === undefined) return true
    if (typeof value === 'boolean') return value
    return fail(path, 'is_null takes true or false')
  }
  if (column.typeClass === 'boolean' && ORDERING_OPS.has(op)) {
    return fail(path, `'${op}' cannot be used on boolean field '${column.name}'`)
  }
  if (isPatternOp(op)) {
    if (column.typeClass !== 'string') {
      return fail(path, `'${op}' can only be used on text fields, not on '${column.name}'`)
    }
    if (typeof value !== 'string') return fail(path, `'${op}' takes a string`)
    const max = op === 'startswith' ? MAX_PATTERN_LENGTH : MAX_UNANCHORED_PATTERN_LENGTH
    if (value.length > max) return fail(path, `'${op}' takes at most ${max} characters`)
    return value
  }
  if (isListOp(op)) {
    if (!Array.isArray(value)) return fail(path, `'${op}' takes an array of values`)
    const items: readonly unknown[] = value
    return Object.freeze(items.map((item, i) => coerceScalar(column, item, `${path}[${i}]`)))
  }
  if (op === 'between') {
    if (!Array.isArray(value) || value.length !== 2) {
      return fail(path, `'between' takes a two-item array [low, high]`)
    }
    const pair: readonly unknown[] = value
    return Object.freeze([
      coerceScalar(column, pair[0], `${path}[0]`),
      coerceScalar(column, pair[1], `${path}[1]`),
    ])
  }
  if (Array.isArray(value)) return fail(path, `'${op}' takes a single value, not an array`)
  return coerceScalar(column, value, path)
}
