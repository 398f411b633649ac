import { describe, expect, it } from 'vitest'
import { sqlIdent } from '../../src/rls/sql-text.ts'

describe('sqlIdent', () => {
  it('leaves a lower-case name that is not a keyword bare', () => {
    expect(sqlIdent('tessera_app')).toBe('tessera_app')
    expect(sqlIdent('_x9')).toBe('_x9')
  })

  it('quotes mixed case, spaces, leading digits, embedded quotes and keywords, as quote_ident does', () => {
    expect(sqlIdent('AppRole')).toBe('"AppRole"')
    expect(sqlIdent('app role')).toBe('"app role"')
    expect(sqlIdent('9lives')).toBe('"9lives"')
    expect(sqlIdent('a"b')).toBe('"a""b"')
    expect(sqlIdent('user')).toBe('"user"')
    expect(sqlIdent('select')).toBe('"select"')
  })
})
