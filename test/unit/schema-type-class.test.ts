import { describe, expect, it } from 'vitest'
import { columnTypeClass, looseEquality, type PgTypeDescriptor } from '../../src/schema/index.ts'

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

  it('leaves out exact types and those merely not exact (int8, numeric, a look-alike bpchar)', () => {
    for (const t of ['text', 'varchar', 'name', 'uuid', 'int4', 'int8', 'numeric'])
      expect(
        looseEquality(builtIn(t), t.startsWith('int') || t === 'uuid' || t === 'numeric' ? null : true),
        t,
      ).toBe(undefined)
    expect(looseEquality({ ...builtIn('bpchar'), typschema: 'public' }, true)).toBeUndefined()
    expect(looseEquality({ ...builtIn('citext'), typtype: 'd' }, true)).toBeUndefined()
    expect(looseEquality(undefined, null)).toBeUndefined()
  })
})
