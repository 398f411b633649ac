/**
 * Type-checks a value written to a column, in JavaScript, before any SQL exists — the write-side twin of
 * coerceFilterValue (whose scalar checks it reuses). The database must not be the one to reject a value: its
 * error text is never shown, so the caller would get a vague message instead of the field and the reason.
 */
import { isTesseraError, validationError } from '../errors/index.ts'
import type { ColumnInfo } from '../schema/index.ts'
import { coerceFilterValue } from './coerce-value.ts'

function fail(path: string, message: string): never {
  throw validationError(`Invalid value at ${path}: ${message}`, [{ path, message }])
}

/**
 * Returns what to bind for `value` written to `column`: null (only for nullable columns), a scalar checked
 * against the column type (bigint and numeric as exact strings, UUIDs in lower case so in-memory comparisons
 * agree with PostgreSQL), or JSON text for json/jsonb columns (any JSON value). bytea and array columns are
 * not writable through the toolset; other types (enums, inet, …) take a string the database parses.
 */
export function coerceWriteValue(column: ColumnInfo, value: unknown, path: string): unknown {
  if (value === null) {
    if (!column.nullable) fail(path, `field '${column.name}' cannot be null`)
    return null
  }
  switch (column.typeClass) {
    case 'json':
      return JSON.stringify(value)
    case 'bytea':
    case 'array':
      return fail(path, `field '${column.name}' cannot be written through this tool`)
    case 'other':
      if (typeof value === 'string') return value
      return fail(path, `expected a string for field '${column.name}'`)
    case 'string':
    case 'uuid':
    case 'integer':
    case 'bigint':
    case 'numeric':
    case 'float':
    case 'boolean':
    case 'timestamp': {
      if (typeof value === 'object') fail(path, `expected a single value for field '${column.name}'`)
      const coerced = scalar(column, value, path)
      return column.typeClass === 'uuid' && typeof coerced === 'string' ? coerced.toLowerCase() : coerced
    }
    default: {
      const unhandled: never = column.typeClass
      return fail(path, `field '${column.name}' has an unsupported type ${String(unhandled)}`)
    }
  }
}

function scalar(column: ColumnInfo, value: unknown, path: string): unknown {
  try {
    return coerceFilterValue(column, 'eq', value, path)
  } catch (error) {
    // Same checks, worded for a write rather than a filter.
    if (!isTesseraError(error)) throw error
    const issues = error.details['issues']
    const first = Array.isArray(issues) ? (issues[0] as { message?: unknown } | undefined) : undefined
    return fail(
      path,
      typeof first?.message === 'string' ? first.message : `invalid value for field '${column.name}'`,
    )
  }
}
