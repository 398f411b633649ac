import { describe, expect, it } from 'vitest'
import {
  canonicalText,
  columnTypeClass,
  isCanonicalText,
  looseEquality,
  type PgTypeDescriptor,
} from '../../src/schema/index.ts'

function builtIn(typname: string, typcategory = 'X'): PgTypeDescriptor {
  return { typname, typschema: 'pg_catalog', typtype: 'b', typcategory }
}

describe('columnTypeClass', () => {
  it.each([
    ['text', 'string'],
    ['varchar', 'string'],
    ['bpchar', 'string'],
    ['name', 'string'],
    ['uuid', 'uuid'],
    ['int2', 'integer'],
    ['int4', 'integer'],
    ['int8', 'bigint'],
    ['numeric', 'numeric'],
    ['float4', 'float'],
    ['float8', 'float'],
    ['bool', 'boolean'],
    ['timestamp', 'timestamp'],
    ['timestamptz', 'timestamp'],
    ['date', 'timestamp'],
    ['time', 'timestamp'],
    ['timetz', 'timestamp'],
    ['json', 'json'],
    ['jsonb', 'json'],
    ['bytea', 'bytea'],
  ] as const)('maps the built-in type %s to %s', (typname, expected) => {
    expect(columnTypeClass(builtIn(typname))).toBe(expected)
  })

  it.each(['interval', 'inet', 'money', 'xml', 'tsvector', 'oid', 'char', 'point'])(
    'maps the built-in type %s, which no family covers, to other',
    (typname) => {
      expect(columnTypeClass(builtIn(typname))).toBe('other')
    },
  )

  it('maps citext to string whatever schema the extension was installed into', () => {
    expect(
      columnTypeClass({ typname: 'citext', typschema: 'extensions', typtype: 'b', typcategory: 'S' }),
    ).toBe('string')
  })

  it('maps array types to array, by category and by the underscore name of a base array type', () => {
    expect(columnTypeClass(builtIn('_text', 'A'))).toBe('array')
    expect(columnTypeClass(builtIn('_int4', 'A'))).toBe('array')
    expect(columnTypeClass({ typname: '_mood', typschema: 'public', typtype: 'b', typcategory: 'A' })).toBe(
      'array',
    )
    expect(columnTypeClass(builtIn('_legacy'))).toBe('array')
  })

  it('maps an enum to string even when its name looks like an array type', () => {
    expect(columnTypeClass({ typname: 'mood', typschema: 'public', typtype: 'e', typcategory: 'E' })).toBe(
      'string',
    )
    expect(columnTypeClass({ typname: '_mood', typschema: 'public', typtype: 'e', typcategory: 'E' })).toBe(
      'string',
    )
  })

  it('does not treat a user type that borrows a built-in name as the built-in', () => {
    expect(columnTypeClass({ typname: 'uuid', typschema: 'public', typtype: 'b', typcategory: 'U' })).toBe(
      'other',
    )
    expect(columnTypeClass({ typname: 'text', typschema: 'public', typtype: 'c', typcategory: 'C' })).toBe(
      'other',
    )
  })

  it('maps an unresolved domain, a composite, a range and a pseudo type to other', () => {
    expect(
      columnTypeClass({ typname: 'text', typschema: 'pg_catalog', typtype: 'd', typcategory: 'S' }),
    ).toBe('other')
    expect(columnTypeClass({ typname: 'address', typschema: 'public', typtype: 'c', typcategory: 'C' })).toBe(
      'other',
    )
    expect(
      columnTypeClass({ typname: 'int4range', typschema: 'pg_catalog', typtype: 'r', typcategory: 'R' }),
    ).toBe('other')
    expect(
      columnTypeClass({ typname: 'record', typschema: 'pg_catalog', typtype: 'p', typcategory: 'P' }),
    ).toBe('other')
  })

  it('does not resolve names inherited from Object.prototype', () => {
    expect(columnTypeClass(builtIn('constructor'))).toBe('other')
    expect(columnTypeClass(builtIn('hasOwnProperty'))).toBe('other')
    expect(columnTypeClass(builtIn('toString'))).toBe('other')
  })
})

describe('looseEquality (a tenant column under it does not load)', () => {
  it('names a nondeterministic collation, citext in any schema and char(n)', () => {
    expect(looseEquality(builtIn('text'), false)).toBe('nondeterministic-collation')
    expect(looseEquality(undefined, false)).toBe('nondeterministic-collation')
    expect(looseEquality({ ...builtIn('citext'), typschema: 'extensions' }, true)).toBe('citext')
    expect(looseEquality(builtIn('bpchar'), true)).toBe('blank-padded')
  })

  it('names numeric (scale), real and double precision (rounding) and the date and time types', () => {
    expect(looseEquality(builtIn('numeric'), null)).toBe('numeric')
    expect(looseEquality(builtIn('float4'), null)).toBe('float')
    expect(looseEquality(builtIn('float8'), null)).toBe('float')
    for (const t of ['timestamp', 'timestamptz', 'date', 'time', 'timetz'])
      expect(looseEquality(builtIn(t), null), t).toBe('time')
  })

  it('names name, whose input keeps the first 63 bytes (a longer tenant id reads the one it begins with)', () => {
    expect(looseEquality(builtIn('name'), true)).toBe('truncating')
    expect(looseEquality({ ...builtIn('name'), typschema: 'public' }, true)).toBeUndefined()
  })

  it('leaves out exact types, the canonical-text ones (int2, int4, int8, uuid) and look-alikes', () => {
    for (const t of ['text', 'varchar', 'uuid', 'int2', 'int4', 'int8'])
      expect(looseEquality(builtIn(t), t.startsWith('int') || t === 'uuid' ? null : true), t).toBe(undefined)
    expect(looseEquality({ ...builtIn('bpchar'), typschema: 'public' }, true)).toBeUndefined()
    expect(looseEquality({ ...builtIn('numeric'), typschema: 'public' }, null)).toBeUndefined()
    expect(looseEquality({ ...builtIn('citext'), typtype: 'd' }, true)).toBeUndefined()
    expect(looseEquality(undefined, null)).toBeUndefined()
  })
})

describe('canonicalText (a principal meeting a tenant column must spell it so)', () => {
  it('holds the integer types and uuid to one text each, and nothing else', () => {
    expect(canonicalText('integer')).toBe('integer')
    expect(canonicalText('bigint')).toBe('integer')
    expect(canonicalText('uuid')).toBe('uuid')
    for (const c of ['string', 'numeric', 'float', 'boolean', 'timestamp', 'json', 'other'] as const)
      expect(canonicalText(c), c).toBeUndefined()
  })

  it('accepts 0 and integers without sign, leading zero or blank; refuses every other spelling', () => {
    for (const ok of ['0', '1', '-1', '10', '9223372036854775807', '-2147483648'])
      expect(isCanonicalText('integer', ok), ok).toBe(true)
    for (const bad of ['01', '+1', ' 1', '1 ', '1.0', '-0', '00', '1e3', '', '-', '٣', '1\n'])
      expect(isCanonicalText('integer', bad), bad).toBe(false)
  })

  it('accepts a lower-case hyphenated uuid only', () => {
    const id = 'a0000000-0000-4000-8000-00000000000a'
    expect(isCanonicalText('uuid', id)).toBe(true)
    for (const bad of [id.toUpperCase(), id.replaceAll('-', ''), `{${id}}`, ` ${id}`, `${id}\n`, id.slice(1)])
      expect(isCanonicalText('uuid', bad), bad).toBe(false)
  })
})
