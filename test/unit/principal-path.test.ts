import { describe, expect, it } from 'vitest'
import type { Principal } from '../../src/context/index.ts'
import type { PrincipalPath } from '../../src/policy/condition/ast.ts'
import {
  formatPrincipalPath,
  parsePrincipalPath,
  requirePrincipalList,
  requirePrincipalScalar,
  resolvePrincipalPath,
} from '../../src/policy/principal-path.ts'

const path = (...parts: string[]): PrincipalPath => parts as unknown as PrincipalPath

describe('parsePrincipalPath', () => {
  it.each<[string, PrincipalPath]>([
    ['principal.tenantId', path('tenantId')],
    ['principal.tenant_id', path('tenantId')],
    ['principal.userId', path('userId')],
    ['principal.user_id', path('userId')],
    ['principal.roles', path('roles')],
    ['principal.metadata.orgId', path('metadata', 'orgId')],
    ['principal.metadata.a.b_2.C', path('metadata', 'a', 'b_2', 'C')],
  ])('parses %s', (text, expected) => {
    expect(parsePrincipalPath(text)).toEqual({ ok: true, path: expected })
  })

  it.each([
    ['an unknown root', 'principal.isAdmin', 'unknown principal path'],
    ['a root in the wrong case', 'principal.TenantId', 'unknown principal path'],
    ['metadata without a key', 'principal.metadata', 'needs a key'],
    ['a part after tenantId', 'principal.tenantId.length', 'has no parts'],
    ['a part after roles', 'principal.roles.admin', 'has no parts'],
    ['__proto__', 'principal.metadata.__proto__', "'__proto__' is not allowed"],
    ['__proto__ deeper down', 'principal.metadata.a.__proto__.b', "'__proto__' is not allowed"],
    ['constructor', 'principal.constructor', "'constructor' is not allowed"],
    ['prototype', 'principal.metadata.prototype', "'prototype' is not allowed"],
    ['a missing principal prefix', 'tenantId', 'is not a principal path'],
    ['principal alone', 'principal', 'is not a principal path'],
    ['an upper-case prefix', 'Principal.tenantId', 'is not a principal path'],
    ['an empty part', 'principal..tenantId', 'invalid part'],
    ['a trailing point', 'principal.metadata.', 'invalid part'],
    ['a part with a hyphen', 'principal.metadata.org-id', 'invalid part'],
    ['a part with a space', 'principal.metadata.org id', 'invalid part'],
    ['a part longer than 63 characters', `principal.metadata.${'k'.repeat(64)}`, 'longer than 63'],
    ['more than 16 metadata keys', `principal.metadata${'.k'.repeat(17)}`, 'deeper than 16'],
  ])('rejects %s', (_what, text, fragment) => {
    const result = parsePrincipalPath(text)
    expect(result.ok).toBe(false)
    if (!result.ok) expect(result.message).toContain(fragment)
  })

  it('shows control characters in a message as ?', () => {
    const result = parsePrincipalPath('principal.\u0007x')
    expect(result).toEqual({ ok: false, message: expect.stringContaining("'principal.?x'") })
  })
})

describe('resolvePrincipalPath', () => {
  const principal: Principal = {
    tenantId: 't1',
    roles: [],
    metadata: { orgId: 'o1', zero: 0, no: false, none: null, nested: { deep: { id: 7 } }, list: ['a'] },
  }

  it.each<[PrincipalPath, unknown]>([
    [path('tenantId'), 't1'],
    [path('roles'), []],
    [path('metadata', 'orgId'), 'o1'],
    [path('metadata', 'zero'), 0],
    [path('metadata', 'no'), false],
    [path('metadata', 'nested', 'deep', 'id'), 7],
  ])('finds %j', (p, value) => {
    expect(resolvePrincipalPath(principal, p)).toEqual({ found: true, value })
  })

  it.each<[string, PrincipalPath]>([
    ['an absent userId', path('userId')],
    ['a missing metadata key', path('metadata', 'missing')],
    ['a null value', path('metadata', 'none')],
    ['a key below a string', path('metadata', 'orgId', 'length')],
    ['a key below an array', path('metadata', 'list', 'length')],
    ['a key below a missing object', path('metadata', 'missing', 'x')],
    ['an Object.prototype member', path('metadata', 'toString')],
    ['hasOwnProperty', path('metadata', 'hasOwnProperty')],
  ])('does not find %s', (_what, p) => {
    expect(resolvePrincipalPath(principal, p)).toEqual({ found: false })
  })

  it('does not find inherited properties', () => {
    const metadata = Object.create({ orgId: 'inherited' }) as Record<string, unknown>
    expect(resolvePrincipalPath({ tenantId: 't1', metadata }, path('metadata', 'orgId'))).toEqual({
      found: false,
    })
  })

  it('does not find a metadata object that is undefined', () => {
    expect(resolvePrincipalPath({ tenantId: 't1' }, path('metadata', 'orgId'))).toEqual({ found: false })
  })

  it('does not walk a __proto__ key even in a hand-built path', () => {
    const metadata = JSON.parse('{"__proto__": {"orgId": "polluted"}}') as Record<string, unknown>
    expect(
      resolvePrincipalPath({ tenantId: 't1', metadata }, path('metadata', '__proto__', 'orgId')),
    ).toEqual({
      found: false,
    })
  })
})

describe('requirePrincipalScalar and requirePrincipalList', () => {
  const principal: Principal = {
    tenantId: 't1',
    roles: ['a'],
    metadata: { n: Number.NaN, ok: [1, null, 'x'] },
  }

  it('return single values and lists of single values', () => {
    expect(requirePrincipalScalar(principal, path('tenantId'))).toBe('t1')
    expect(requirePrincipalList(principal, path('roles'))).toEqual(['a'])
    expect(requirePrincipalList(principal, path('metadata', 'ok'))).toEqual([1, null, 'x'])
  })

  it('reject a non-finite number, a list where one value is needed, and a single value where a list is', () => {
    expect(() => requirePrincipalScalar(principal, path('metadata', 'n'))).toThrow(/principal\.metadata\.n/)
    expect(() => requirePrincipalScalar(principal, path('roles'))).toThrow(/principal\.roles/)
    expect(() => requirePrincipalList(principal, path('tenantId'))).toThrow(/principal\.tenantId/)
    expect(() => requirePrincipalList(principal, path('userId'))).toThrow(/principal\.userId/)
  })
})

describe('formatPrincipalPath', () => {
  it('prints the normalised, dotted form', () => {
    expect(formatPrincipalPath(path('tenantId'))).toBe('principal.tenantId')
    expect(formatPrincipalPath(path('metadata', 'a', 'b'))).toBe('principal.metadata.a.b')
  })
})
