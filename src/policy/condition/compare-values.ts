/**
 * How the in-memory evaluator compares two values, made to agree with what PostgreSQL does once the compiled
 * condition binds the same values as parameters. The evaluator does not know column types, so it works from
 * the JS values node-postgres produces: int2/int4/float8 as numbers, int8/numeric as decimal strings
 * ("120.50"), booleans, timestamps as Date.
 *
 * A pair SQL could not compare (a word against a number, a Date against a boolean, an object) is `null`,
 * unknown: three-valued logic never turns an unknown into TRUE, so such a pair can never grant a row.
 */
import { TesseraError } from '../../errors/index.ts'
import type { CompareOp } from './ast.ts'

export type Ordering = -1 | 0 | 1

/** SQL `a op b`: null when either side is null or the two cannot be compared. */
export function compareHolds(op: CompareOp, a: unknown, b: unknown): boolean | null {
  const order = compareValues(a, b)
  if (order === null) return null
  switch (op) {
    case '=':
      return order === 0
    case '!=':
      return order !== 0
    case '<':
      return order < 0
    case '<=':
      return order <= 0
    case '>':
      return order > 0
    case '>=':
      return order >= 0
    default:
      return assertNever(op)
  }
}

export function compareValues(a: unknown, b: unknown): Ordering | null {
  if (a === null || a === undefined || b === null || b === undefined) return null
  if (typeof a === 'number' && typeof b === 'number') return compareNumbers(a, b)
  if (
    (isNumberLike(a) && (isNumberLike(b) || typeof b === 'string')) ||
    (isNumberLike(b) && typeof a === 'string')
  ) {
    // A number against a decimal string or a bigint: compare exactly, as PostgreSQL's numeric does.
    const x = toDecimal(a)
    const y = toDecimal(b)
    return x === null || y === null ? null : compareDecimals(x, y)
  }
  if (typeof a === 'string' && typeof b === 'string') return a < b ? -1 : a > b ? 1 : 0
  if (typeof a === 'boolean' || typeof b === 'boolean') return compareBooleans(toBoolean(a), toBoolean(b))
  if (a instanceof Date || b instanceof Date) return compareTimes(toTime(a), toTime(b))
  return null
}

/** A number and a string compare as numbers only when the string is a decimal, the way numeric/int8 print. */
function isNumberLike(value: unknown): value is number | bigint {
  return typeof value === 'number' || typeof value === 'bigint'
}

function compareNumbers(a: number, b: number): Ordering {
  // PostgreSQL orders NaN above every other number and equal to itself (float8 and numeric alike).
  if (Number.isNaN(a) || Number.isNaN(b)) return Number.isNaN(a) ? (Number.isNaN(b) ? 0 : 1) : -1
  return a < b ? -1 : a > b ? 1 : 0
}

type Decimal =
  | { readonly kind: 'nan' }
  | { readonly kind: 'infinite'; readonly sign: 1 | -1 }
  /** value = digits × 10^exponent */
  | { readonly kind: 'finite'; readonly digits: bigint; readonly exponent: number }

const DECIMAL = /^\s*([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?\s*$/
// Beyond these, a value is far outside anything a policy compares; refusing keeps BigInt work bounded.
const MAX_DIGITS = 1_000
const MAX_EXPONENT = 1_000

function toDecimal(value: unknown): Decimal | null {
  if (typeof value === 'bigint') return parseDecimal(value.toString())
  if (typeof value === 'number') {
    if (Number.isNaN(value)) return { kind: 'nan' }
    if (!Number.isFinite(value)) return { kind: 'infinite', sign: value > 0 ? 1 : -1 }
    // node-postgres sends a number parameter as String(n), and PostgreSQL parses that text exactly.
    return parseDecimal(String(value))
  }
  if (typeof value === 'string') return parseDecimal(value)
  return null
}

function parseDecimal(text: string): Decimal | null {
  const special = text.trim().toLowerCase()
  if (special === 'nan') return { kind: 'nan' }
  if (special === 'infinity' || special === '+infinity' || special === 'inf' || special === '+inf') {
    return { kind: 'infinite', sign: 1 }
  }
  if (special === '-infinity' || special === '-inf') return { kind: 'infinite', sign: -1 }
  const match = DECIMAL.exec(text)
  if (!match) return null
  const [, sign = '', whole = '', fraction = '', exponentText = '0'] = match
  if (whole === '' && fraction === '') return null
  const digitText = (whole + fraction).replace(/^0+/, '')
  const exponent = Number(exponentText) - fraction.length
  if (digitText.length > MAX_DIGITS || Math.abs(exponent) > MAX_EXPONENT) return null
  const digits = BigInt(digitText === '' ? '0' : digitText)
  return { kind: 'finite', digits: sign === '-' ? -digits : digits, exponent }
}

function compareDecimals(x: Decimal, y: Decimal): Ordering {
  const rx = rank(x)
  const ry = rank(y)
  if (rx !== ry) return rx < ry ? -1 : 1
  if (x.kind !== 'finite' || y.kind !== 'finite') return 0
  const shift = x.exponent - y.exponent
  const a = shift > 0 ? x.digits * 10n ** BigInt(shift) : x.digits
  const b = shift < 0 ? y.digits * 10n ** BigInt(-shift) : y.digits
  return a < b ? -1 : a > b ? 1 : 0
}

/** -Infinity < finite < +Infinity < NaN, as in PostgreSQL. */
function rank(d: Decimal): number {
  if (d.kind === 'nan') return 3
  if (d.kind === 'infinite') return d.sign > 0 ? 2 : 0
  return 1
}

/** PostgreSQL's boolean input: true/false/yes/no and their unique prefixes, on/off, 1/0, any case. */
function toBoolean(value: unknown): boolean | null {
  if (typeof value === 'boolean') return value
  if (typeof value !== 'string') return null
  const text = value.trim().toLowerCase()
  if (text === '') return null
  if ('true'.startsWith(text) || 'yes'.startsWith(text) || text === 'on' || text === '1') return true
  if ('false'.startsWith(text) || 'no'.startsWith(text) || text === 'off' || text === 'of' || text === '0') {
    return false
  }
  return null
}

function compareBooleans(a: boolean | null, b: boolean | null): Ordering | null {
  if (a === null || b === null) return null
  return a === b ? 0 : a ? 1 : -1
}

// A timestamp string must carry its zone: without one PostgreSQL reads it in the session's time zone,
// which the evaluator cannot know, so it stays unknown rather than guessing.
const ISO_TIMESTAMP =
  /^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?)(Z|[+-]\d{2}(?::?\d{2})?)$/i

function toTime(value: unknown): number | null {
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value.getTime()
  if (typeof value !== 'string') return null
  const match = ISO_TIMESTAMP.exec(value.trim())
  if (!match) return null
  const [, date = '', time = '', zoneText = ''] = match
  const zone = normaliseZone(zoneText)
  const ms = Date.parse(`${date}T${time.length === 5 ? `${time}:00` : time}${zone}`)
  return Number.isNaN(ms) ? null : ms
}

function normaliseZone(zone: string): string {
  if (zone.toUpperCase() === 'Z') return 'Z'
  const digits = zone.slice(1).replace(':', '')
  return `${zone[0]}${digits.slice(0, 2)}:${digits.length > 2 ? digits.slice(2) : '00'}`
}

function compareTimes(a: number | null, b: number | null): Ordering | null {
  if (a === null || b === null) return null
  return a < b ? -1 : a > b ? 1 : 0
}

function assertNever(value: never): never {
  throw new TesseraError('INTERNAL_ERROR', `Unhandled comparison operator ${String(value)}`)
}
