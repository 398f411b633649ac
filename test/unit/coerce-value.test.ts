import { describe, expect, it } from 'vitest'
import { TesseraError } from '../../src/errors/index.ts'
import { coerceFilterValue, isIsoTime, isIsoTimestamp, type FilterOp } from '../../src/request/index.ts'
import { escapeLikePattern, likePatternFor } from '../../src/sql/like-pattern.ts'
import type { ColumnInfo, ColumnTypeClass } from '../../src/schema/types.ts'

function column(typeClass: ColumnTypeClass, udtName: string, name = 'col'): ColumnInfo {
  return {
    name,
    dataType: udtName,
    udtName,
    typeClass,
    nullable: true,
    hasDefault: false,
    defaultExpression: null,
    generated: false,
    ordinal: 1,
  }
}

const text = column('string', 'text', 'name')
const uuid = column('uuid', 'uuid', 'id')
const int4 = column('integer', 'int4', 'qty')
const int2 = column('integer', 'int2', 'rank')
const int8 = column('bigint', 'int8', 'big')
const numeric = column('numeric', 'numeric', 'total')
const float8 = column('float', 'float8', 'score')
const float4 = column('float', 'float4', 'ratio')
const bool = column('boolean', 'bool', 'active')
const timestamptz = column('timestamp', 'timestamptz', 'created_at')
const date = column('timestamp', 'date', 'day')
const time = column('timestamp', 'time', 'opens_at')
const jsonb = column('json', 'jsonb', 'meta')

function rejection(col: ColumnInfo, op: FilterOp, value: unknown, path = 'where.value'): TesseraError {
  try {
    coerceFilterValue(col, op, value, path)
  } catch (error) {
    expect(error).toBeInstanceOf(TesseraError)
    const e = error as TesseraError
    expect(e.code).toBe('VALIDATION_ERROR')
    return e
  }
  throw new Error(`expected ${JSON.stringify(value)} to be rejected for ${col.udtName} ${op}`)
}

function issuePath(error: TesseraError): string | undefined {
  return (error.details.issues as { path: string }[])[0]?.path
}

describe('coerceFilterValue', () => {
  it('accepts strings for text columns and nothing else', () => {
    expect(coerceFilterValue(text, 'eq', 'Ada', 'p')).toBe('Ada')
    rejection(text, 'eq', 1)
    rejection(text, 'eq', true)
  })

  it('accepts only well-formed UUIDs for uuid columns, so the database never parses one', () => {
    const id = '3f9a1c2e-8b7d-4e6f-9a0b-1c2d3e4f5a6b'
    expect(coerceFilterValue(uuid, 'eq', id, 'p')).toBe(id)
    expect(coerceFilterValue(uuid, 'eq', id.toUpperCase(), 'p')).toBe(id.toUpperCase())
    for (const bad of ['not-a-uuid', `${id} `, `{${id}}`, id.replaceAll('-', ''), "' or 1=1 --", 42]) {
      expect(rejection(uuid, 'eq', bad).message).toContain('UUID')
    }
  })

  it('accepts safe integers and digit strings within the int4 range for integer columns', () => {
    expect(coerceFilterValue(int4, 'eq', 42, 'p')).toBe(42)
    expect(coerceFilterValue(int4, 'eq', '-17', 'p')).toBe(-17)
    expect(coerceFilterValue(int4, 'gte', 2_147_483_647, 'p')).toBe(2_147_483_647)
    expect(rejection(int4, 'eq', 2_147_483_648).message).toContain('out of range')
    expect(rejection(int4, 'eq', '99999999999').message).toContain('out of range')
    for (const bad of [1.5, '1.5', '1e3', ' 1', '0x10', Number.MAX_SAFE_INTEGER + 2, true])
      rejection(int4, 'eq', bad)
  })

  it('applies the int2 range to smallint columns', () => {
    expect(coerceFilterValue(int2, 'eq', 32_767, 'p')).toBe(32_767)
    rejection(int2, 'eq', 32_768)
  })

  it('returns bigint values as strings and accepts digit strings beyond 2^53', () => {
    expect(coerceFilterValue(int8, 'eq', 42, 'p')).toBe('42')
    expect(coerceFilterValue(int8, 'eq', '9223372036854775807', 'p')).toBe('9223372036854775807')
    expect(coerceFilterValue(int8, 'eq', '-0009', 'p')).toBe('-9')
    rejection(int8, 'eq', '9223372036854775808')
    expect(rejection(int8, 'eq', 2 ** 60).message).toContain('digit strings')
    rejection(int8, 'eq', 1.5)
  })

  it('returns numeric values as strings and accepts only plain decimals', () => {
    expect(coerceFilterValue(numeric, 'gt', 12.5, 'p')).toBe('12.5')
    expect(coerceFilterValue(numeric, 'gt', '-0012.50', 'p')).toBe('-0012.50')
    for (const bad of ['NaN', 'Infinity', '1e5', '1.', '.5', '1,5', '', '1'.repeat(201), true]) {
      rejection(numeric, 'eq', bad)
    }
  })

  it('accepts finite numbers for float columns and checks the real range', () => {
    expect(coerceFilterValue(float8, 'lt', 0.25, 'p')).toBe(0.25)
    rejection(float8, 'lt', '0.25')
    rejection(float8, 'lt', Number.NaN)
    expect(coerceFilterValue(float4, 'lt', 1e38, 'p')).toBe(1e38)
    rejection(float4, 'lt', 1e39)
  })

  it('accepts booleans for boolean columns but no ordering operators', () => {
    expect(coerceFilterValue(bool, 'eq', false, 'p')).toBe(false)
    rejection(bool, 'eq', 'true')
    rejection(bool, 'eq', 1)
    for (const op of ['lt', 'lte', 'gt', 'gte'] as const) {
      expect(rejection(bool, op, true).message).toContain('boolean')
    }
    expect(rejection(bool, 'between', [false, true]).message).toContain('boolean')
  })

  it('accepts strict ISO-8601 timestamps and dates', () => {
    for (const ok of [
      '2024-05-01',
      '2024-05-01T14:30',
      '2024-05-01T14:30:00Z',
      '2024-05-01T14:30:00.123456+02:00',
      '2024-05-01 14:30:00',
      '2024-02-29T00:00:00Z',
    ]) {
      expect(coerceFilterValue(timestamptz, 'gte', ok, 'p')).toBe(ok)
    }
    for (const bad of [
      '2023-02-29',
      '2024-13-01',
      '2024-04-31',
      '0000-01-01',
      '2024-05-01T24:00:00Z',
      '2024-05-01T14:60',
      '2024-05-01T14:30:00.1234567Z',
      '2024-05-01T14:30:00+0200',
      'yesterday',
      'now',
      'infinity',
      '2024-5-1',
      1714573800000,
      '2024-05-01T14:30:00Z; drop table x',
    ]) {
      rejection(timestamptz, 'gte', bad)
    }
    expect(coerceFilterValue(date, 'eq', '2024-05-01', 'p')).toBe('2024-05-01')
  })

  it('accepts ISO times of day for time columns', () => {
    expect(coerceFilterValue(time, 'gt', '09:30', 'p')).toBe('09:30')
    expect(coerceFilterValue(time, 'gt', '09:30:15.5+01:00', 'p')).toBe('09:30:15.5+01:00')
    rejection(time, 'gt', '25:00')
    rejection(time, 'gt', '2024-05-01T09:30:00Z')
    expect(isIsoTime('23:59:59')).toBe(true)
    expect(isIsoTimestamp('2024-05-01T23:59:59Z')).toBe(true)
  })

  it('refuses value filters on json, bytea, array and other columns but allows is_null', () => {
    for (const col of [
      jsonb,
      column('bytea', 'bytea'),
      column('array', '_text'),
      column('other', 'tsvector'),
    ]) {
      expect(rejection(col, 'eq', 'x').message).toContain('cannot be filtered')
      expect(coerceFilterValue(col, 'is_null', undefined, 'p')).toBe(true)
    }
  })

  it('rejects null comparison values and points to is_null', () => {
    for (const op of ['eq', 'ne', 'lt'] as const) {
      expect(rejection(text, op, null).message).toContain('is_null')
    }
  })

  it('treats is_null as true by default and requires a boolean', () => {
    expect(coerceFilterValue(text, 'is_null', undefined, 'p')).toBe(true)
    expect(coerceFilterValue(text, 'is_null', false, 'p')).toBe(false)
    rejection(text, 'is_null', 'yes')
  })

  it('checks every item of in / not_in lists and reports the item path', () => {
    expect(coerceFilterValue(int8, 'in', [1, '2'], 'p')).toEqual(['1', '2'])
    expect(coerceFilterValue(uuid, 'not_in', [], 'p')).toEqual([])
    const error = rejection(
      uuid,
      'in',
      ['3f9a1c2e-8b7d-4e6f-9a0b-1c2d3e4f5a6b', 'nope'],
      'where.and[2].value',
    )
    expect(issuePath(error)).toBe('where.and[2].value[1]')
    expect(rejection(text, 'in', 'a').message).toContain('array')
    rejection(text, 'in', ['a', null])
  })

  it('checks both bounds of between', () => {
    expect(coerceFilterValue(int4, 'between', [1, '9'], 'p')).toEqual([1, 9])
    expect(issuePath(rejection(int4, 'between', [1, 'x'], 'w'))).toBe('w[1]')
    rejection(int4, 'between', [1])
    rejection(int4, 'between', 5)
    rejection(int4, 'between', [null, 5])
  })

  it('rejects arrays for single-value operators', () => {
    expect(rejection(text, 'eq', ['a']).message).toContain('single value')
  })

  it('allows contains, startswith and endswith only on text columns with a bounded string', () => {
    expect(coerceFilterValue(text, 'contains', '50%_off', 'p')).toBe('50%_off')
    for (const col of [uuid, int4, numeric, timestamptz, bool]) {
      expect(rejection(col, 'startswith', '1').message).toContain('text fields')
    }
    rejection(text, 'endswith', 5)
    expect(rejection(text, 'startswith', 'x'.repeat(1_001)).message).toContain('at most 1000')
    // Unanchored patterns compare at every position of every value: a far lower cap.
    expect(rejection(text, 'contains', 'x'.repeat(101)).message).toContain('at most 100 characters')
    expect(rejection(text, 'endswith', 'x'.repeat(101)).message).toContain('at most 100 characters')
  })

  it('never echoes the rejected value in the error', () => {
    const hostile = `${'A'.repeat(500)}\u202e`
    const error = rejection(uuid, 'eq', hostile)
    expect(JSON.stringify(error.toJSON())).not.toContain('AAAA')
  })
})

describe('LIKE patterns', () => {
  it('escapes backslash, percent and underscore', () => {
    expect(escapeLikePattern('100%_a\\b')).toBe('100\\%\\_a\\\\b')
    expect(escapeLikePattern('plain')).toBe('plain')
  })

  it('builds literal patterns for each operator', () => {
    expect(likePatternFor('contains', '50%')).toBe('%50\\%%')
    expect(likePatternFor('startswith', 'a_')).toBe('a\\_%')
    expect(likePatternFor('endswith', '\\')).toBe('%\\\\')
  })
})
