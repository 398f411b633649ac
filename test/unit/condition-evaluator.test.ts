import { describe, expect, it } from 'vitest'
import type { Principal } from '../../src/context/index.ts'
import { isTesseraError } from '../../src/errors/index.ts'
import { compareValues } from '../../src/policy/condition/compare-values.ts'
import {
  evaluateCondition,
  isPrincipalOnly,
  referencedFields,
  referencedPrincipalPaths,
} from '../../src/policy/condition/evaluate-condition.ts'
import { parseCondition } from '../../src/policy/condition/parse-condition.ts'

const principal: Principal = {
  tenantId: 't1',
  userId: 'u1',
  roles: ['member', 'super_admin'],
  metadata: { tenantHierarchy: ['t1', 't2'], limit: 100, nested: { orgId: 'o1' }, withNull: ['a', null] },
}

function evaluate(
  text: string,
  row: Record<string, unknown> = {},
  who: Principal = principal,
): boolean | null {
  return evaluateCondition(parseCondition(text), row, who)
}

function errorCode(fn: () => unknown): string | undefined {
  try {
    fn()
  } catch (error) {
    return isTesseraError(error) ? error.code : 'not a TesseraError'
  }
  return undefined
}

describe('evaluateCondition: three-valued logic like PostgreSQL', () => {
  it.each<[string, Record<string, unknown>, boolean | null]>([
    ['x = 1', { x: null }, null],
    ['x != 1', { x: null }, null],
    ['x = null', { x: 1 }, null],
    ['x = y', { x: null, y: null }, null],
    ['NOT x = 1', { x: null }, null],
    ['x = 1 AND TRUE', { x: null }, null],
    ['x = 1 AND FALSE', { x: null }, false],
    ['x = 1 OR TRUE', { x: null }, true],
    ['x = 1 OR FALSE', { x: null }, null],
    ['NOT (x = 1 OR FALSE)', { x: null }, null],
    ['NOT (x = 1 AND FALSE)', { x: null }, true],
    ['x IS NULL', { x: null }, true],
    ['x IS NULL', { x: undefined }, true],
    ['x IS NOT NULL', { x: null }, false],
    ['x IS NOT NULL', { x: 0 }, true],
    ['x IS NOT NULL', { x: '' }, true],
  ])('%s on %j is %s', (text, row, expected) => {
    expect(evaluate(text, row)).toBe(expected)
  })
})

describe('evaluateCondition: IN and NOT IN with nulls (= ANY / <> ALL)', () => {
  it.each<[string, Record<string, unknown>, boolean | null]>([
    ['x IN (1, 2)', { x: 2 }, true],
    ['x IN (1, 2)', { x: 3 }, false],
    ['x IN (1, null)', { x: 1 }, true],
    ['x IN (1, null)', { x: 2 }, null],
    ['x IN (1, 2)', { x: null }, null],
    ['x NOT IN (1, 2)', { x: 3 }, true],
    ['x NOT IN (1, 2)', { x: 1 }, false],
    ['x NOT IN (1, null)', { x: 2 }, null],
    ['x NOT IN (1, null)', { x: 1 }, false],
    ['x NOT IN (1, 2)', { x: null }, null],
    ['x IN (y, 3)', { x: 5, y: 5 }, true],
    ['x IN principal.metadata.withNull', { x: 'a' }, true],
    ['x IN principal.metadata.withNull', { x: 'b' }, null],
    ['x NOT IN principal.metadata.withNull', { x: 'b' }, null],
    ['x IN tags', { x: 'a', tags: ['a', 'b'] }, true],
    ['x IN tags', { x: 'c', tags: ['a', 'b'] }, false],
    ['x IN tags', { x: 'c', tags: null }, null],
    ['x NOT IN tags', { x: 'c', tags: null }, null],
    ['x IN tags', { x: null, tags: [] }, false],
    ['x NOT IN tags', { x: null, tags: [] }, true],
  ])('%s on %j is %s', (text, row, expected) => {
    expect(evaluate(text, row)).toBe(expected)
  })

  it('treats an empty principal list as matching nothing, even for a NULL value', () => {
    const empty: Principal = { tenantId: 't1', metadata: { list: [] } }
    expect(evaluate('x IN principal.metadata.list', { x: null }, empty)).toBe(false)
    expect(evaluate('x NOT IN principal.metadata.list', { x: null }, empty)).toBe(true)
  })

  it('tests role membership with a literal on the left', () => {
    expect(evaluate("'super_admin' IN principal.roles")).toBe(true)
    expect(evaluate("'auditor' IN principal.roles")).toBe(false)
    expect(evaluate("'auditor' NOT IN principal.roles")).toBe(true)
  })

  it('scopes through a tenant hierarchy in metadata', () => {
    const text = 'tenant_id IN principal.metadata.tenantHierarchy'
    expect(evaluate(text, { tenant_id: 't2' })).toBe(true)
    expect(evaluate(text, { tenant_id: 't3' })).toBe(false)
  })
})

describe('evaluateCondition: principal paths fail closed', () => {
  it('throws TENANT_SCOPE_REQUIRED when a compared principal path does not resolve', () => {
    expect(errorCode(() => evaluate('owner = principal.userId', { owner: 'u1' }, { tenantId: 't1' }))).toBe(
      'TENANT_SCOPE_REQUIRED',
    )
    expect(errorCode(() => evaluate('org = principal.metadata.nested.missing', { org: 'o1' }))).toBe(
      'TENANT_SCOPE_REQUIRED',
    )
  })

  it('throws even where another part already decides the result, so the outcome never depends on the row', () => {
    expect(errorCode(() => evaluate('FALSE AND owner = principal.metadata.nope', { owner: 'x' }))).toBe(
      'TENANT_SCOPE_REQUIRED',
    )
    expect(errorCode(() => evaluate('TRUE OR owner = principal.metadata.nope', { owner: 'x' }))).toBe(
      'TENANT_SCOPE_REQUIRED',
    )
  })

  it('throws when IN names a principal value that is not a list', () => {
    expect(errorCode(() => evaluate('tenant_id IN principal.tenantId', { tenant_id: 't1' }))).toBe(
      'TENANT_SCOPE_REQUIRED',
    )
    expect(errorCode(() => evaluate("'x' IN principal.roles", {}, { tenantId: 't1' }))).toBe(
      'TENANT_SCOPE_REQUIRED',
    )
  })

  it('throws when a list is compared as a single value, or a list holds objects', () => {
    expect(errorCode(() => evaluate('role = principal.roles', { role: 'member' }))).toBe(
      'TENANT_SCOPE_REQUIRED',
    )
    expect(errorCode(() => evaluate('x = principal.metadata.nested', { x: 'o1' }))).toBe(
      'TENANT_SCOPE_REQUIRED',
    )
    const objects: Principal = { tenantId: 't1', metadata: { list: [{ id: 1 }] } }
    expect(errorCode(() => evaluate('x IN principal.metadata.list', { x: 1 }, objects))).toBe(
      'TENANT_SCOPE_REQUIRED',
    )
  })

  it('never reads inherited properties of the principal', () => {
    const inherited = Object.create({ orgId: 'o1' }) as Record<string, unknown>
    const who: Principal = { tenantId: 't1', metadata: inherited }
    expect(errorCode(() => evaluate('org = principal.metadata.orgId', { org: 'o1' }, who))).toBe(
      'TENANT_SCOPE_REQUIRED',
    )
  })

  it('reads a nested metadata value', () => {
    expect(evaluate('org = principal.metadata.nested.orgId', { org: 'o1' })).toBe(true)
  })

  it('treats a missing principal value as NULL under IS [NOT] NULL instead of throwing', () => {
    const anonymous: Principal = { tenantId: 't1' }
    expect(evaluate('principal.userId IS NULL', {}, anonymous)).toBe(true)
    expect(evaluate('principal.userId IS NOT NULL', {}, anonymous)).toBe(false)
    expect(evaluate('principal.userId IS NOT NULL')).toBe(true)
  })

  it('throws INTERNAL_ERROR when the row lacks a field the condition names', () => {
    expect(errorCode(() => evaluate('missing = 1', { other: 1 }))).toBe('INTERNAL_ERROR')
  })

  it('does not take a field from the prototype of the row', () => {
    const row = Object.create({ x: 1 }) as Record<string, unknown>
    expect(errorCode(() => evaluateCondition(parseCondition('x = 1'), row, principal))).toBe('INTERNAL_ERROR')
  })
})

describe('evaluateCondition: comparing values', () => {
  it.each<[string, Record<string, unknown>, boolean | null]>([
    ['amount > 120', { amount: '120.50' }, true],
    ['amount = 120.5', { amount: '120.50' }, true],
    ['amount < 0.1', { amount: '0.09' }, true],
    ['amount = principal.metadata.limit', { amount: '100.00' }, true],
    ['big != n', { big: '9007199254740993', n: 9007199254740992 }, true],
    ['n >= -3', { n: -3 }, true],
    ['n < m', { n: 2, m: '10' }, true],
    ['n = 1', { n: 'abc' }, null],
    ['label < name', { label: 'B', name: 'a' }, true],
    ["label < 'é'", { label: 'z' }, true],
    ["label = 'x'", { label: 'x' }, true],
    ["label != 'x'", { label: 'X' }, true],
    ['flag = true', { flag: true }, true],
    ['flag < true', { flag: false }, true],
    ["flag = 't'", { flag: true }, true],
    ["flag = 'off'", { flag: false }, true],
    ["flag = 'maybe'", { flag: true }, null],
    ['flag = 1', { flag: true }, null],
    ["at > '2024-01-01T00:00:00Z'", { at: new Date('2024-01-01T00:00:01Z') }, true],
    ["at = '2024-01-01 02:00:00+02:00'", { at: new Date('2024-01-01T00:00:00Z') }, true],
    ["at = '2024-01-01T00:00:00'", { at: new Date('2024-01-01T00:00:00Z') }, null],
    ['at < 5', { at: new Date('2024-01-01T00:00:00Z') }, null],
    ['doc = 1', { doc: { a: 1 } }, null],
  ])('%s on %j is %s', (text, row, expected) => {
    expect(evaluate(text, row)).toBe(expected)
  })

  it('compares bigint values exactly against numbers', () => {
    expect(evaluate('big > n', { big: 9007199254740993n, n: 9007199254740992 })).toBe(true)
    expect(evaluate('big = n', { big: 9007199254740992n, n: 9007199254740992 })).toBe(true)
    expect(evaluate("big = '42.0'", { big: 42n })).toBe(true)
  })

  it('orders NaN above every number, as PostgreSQL does', () => {
    expect(compareValues(Number.NaN, Number.POSITIVE_INFINITY)).toBe(1)
    expect(compareValues(Number.NaN, Number.NaN)).toBe(0)
    expect(compareValues('NaN', 5)).toBe(1)
    expect(compareValues('-Infinity', -1e300)).toBe(-1)
  })

  it('refuses to compare absurdly large decimal strings instead of spending time on them', () => {
    expect(compareValues('1e999999999', 1)).toBeNull()
    expect(compareValues('9'.repeat(5000), 1)).toBeNull()
  })
})

describe('condition references', () => {
  it('lists referenced fields once, in order of appearance', () => {
    const node = parseCondition("b = 1 OR a IN (c, 'x') AND b IS NULL AND 'y' IN tags")
    expect(referencedFields(node)).toEqual(['b', 'a', 'c', 'tags'])
  })

  it('lists referenced principal paths once', () => {
    const node = parseCondition(
      'a = principal.tenant_id OR a = principal.tenantId OR b IN principal.metadata.x.y',
    )
    expect(referencedPrincipalPaths(node)).toEqual([['tenantId'], ['metadata', 'x', 'y']])
  })

  it('recognises conditions that test only the principal', () => {
    expect(isPrincipalOnly(parseCondition("'super_admin' IN principal.roles"))).toBe(true)
    expect(isPrincipalOnly(parseCondition('TRUE'))).toBe(true)
    expect(isPrincipalOnly(parseCondition('1 = 1 AND principal.userId IS NOT NULL'))).toBe(true)
    expect(isPrincipalOnly(parseCondition("'x' IN principal.roles OR tenant_id = 'a'"))).toBe(false)
    expect(isPrincipalOnly(parseCondition("principal.tenantId IN ('a', b)"))).toBe(false)
  })
})
