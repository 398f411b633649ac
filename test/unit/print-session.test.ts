/**
 * The executor's session statements (src/sql/print-session.ts): the `set_config` text is printed once per list of
 * setting names and each call only carries its values; a session statement carries its settings statement in a
 * private field, so no object made elsewhere is taken for a settings or session statement.
 */
import { CompiledQuery } from 'kysely'
import { describe, expect, it } from 'vitest'
import {
  isPrintedStatement,
  isSessionSettings,
  printSessionSettings,
  printSessionStatement,
  sessionPrefixOf,
} from '../../src/sql/index.ts'
import { markPrinted } from '../../src/sql/printed-statement.ts'

const TENANT = { name: 'tessera.tenant_id', value: 'acme' }
const USER = { name: 'tessera.user_id', value: "o'brien" }

describe('session settings statements', () => {
  it('prints every setting transaction-local with its value bound, in order', () => {
    const settings = printSessionSettings([TENANT, USER])
    expect(settings.sql).toBe(
      "select set_config('tessera.tenant_id', $1, true), set_config('tessera.user_id', $2, true)",
    )
    expect(settings.parameters).toEqual(['acme', "o'brien"])
    expect(isPrintedStatement(settings)).toBe(true)
    expect(isSessionSettings(settings)).toBe(true)
  })

  it('reuses the text of a list of names and keeps each call’s values apart', () => {
    const a = printSessionSettings([TENANT, USER])
    const b = printSessionSettings([
      { ...TENANT, value: 'globex' },
      { ...USER, value: '' },
    ])
    expect(b.sql).toBe(a.sql)
    expect(b.query).toBe(a.query)
    expect(a.parameters).toEqual(['acme', "o'brien"])
    expect(b.parameters).toEqual(['globex', ''])
    expect(Object.isFrozen(a)).toBe(true)
    // Another order is another text: the template is keyed by the names in order.
    expect(printSessionSettings([USER, TENANT]).sql).toBe(
      "select set_config('tessera.user_id', $1, true), set_config('tessera.tenant_id', $2, true)",
    )
  })

  it('refuses a setting name that is not a plain dotted identifier, and an empty list', () => {
    expect(() => printSessionSettings([{ name: "x', 'y", value: '' }])).toThrow(
      'invalid session setting name',
    )
    expect(() => printSessionSettings([])).toThrow('no session settings')
  })

  it('takes no statement made elsewhere for a settings statement', () => {
    const lookalike = markPrinted(
      CompiledQuery.raw("select set_config('tessera.tenant_id', $1, true)", ['x']),
    )
    expect(isSessionSettings(lookalike)).toBe(false)
    const copy = { ...printSessionSettings([TENANT]) }
    expect(isSessionSettings(copy)).toBe(false)
    expect(isPrintedStatement(copy)).toBe(false)
  })
})

describe('session statements', () => {
  const statement = markPrinted(CompiledQuery.raw('select 1 where $1::text is not null', ['v']))

  it('carries its settings statement; the statement itself is unchanged', () => {
    const session = printSessionStatement([TENANT], statement)
    expect(session).not.toBe(statement)
    expect(session.sql).toBe(statement.sql)
    expect(session.parameters).toBe(statement.parameters)
    expect(session.queryId).toBe(statement.queryId)
    expect(isPrintedStatement(session)).toBe(true)
    const prefix = sessionPrefixOf(session)
    expect(prefix?.sql).toBe("select set_config('tessera.tenant_id', $1, true)")
    expect(prefix?.parameters).toEqual(['acme'])
    expect(prefix !== undefined && isSessionSettings(prefix)).toBe(true)
    expect(sessionPrefixOf(statement)).toBeUndefined()
  })

  it('gives no settings to a copy or a look-alike, and refuses a statement src/sql did not print', () => {
    const session = printSessionStatement([TENANT], statement)
    expect(sessionPrefixOf({ ...session })).toBeUndefined()
    const forged = Object.assign(Object.create(Object.getPrototypeOf(session) as object) as object, session)
    expect(sessionPrefixOf(forged as CompiledQuery)).toBeUndefined()
    expect(() => printSessionStatement([TENANT], CompiledQuery.raw('select 1'))).toThrow(
      'session statement over a statement src/sql did not print',
    )
  })
})
