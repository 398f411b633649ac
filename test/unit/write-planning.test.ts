import { describe, expect, it } from 'vitest'
import { parseCondition } from '../../src/policy/condition/parse-condition.ts'
import type { VisibilityPlan } from '../../src/planner/query-plan.ts'
import { coerceWriteValue } from '../../src/request/coerce-write-value.ts'
import { parseWriteRequest } from '../../src/request/write-request-schema.ts'
import { checkWrittenRow } from '../../src/planner/write-check.ts'
import type { ColumnInfo, ColumnTypeClass } from '../../src/schema/types.ts'
import { approvalPayloadHash } from '../../src/tools/write-tools.ts'

function caught(fn: () => unknown): { code: string; message: string; details: Record<string, unknown> } {
  try {
    fn()
  } catch (e) {
    return JSON.parse(JSON.stringify(e))
  }
  throw new Error('expected a throw')
}

function column(name: string, typeClass: ColumnTypeClass, extra: Partial<ColumnInfo> = {}): ColumnInfo {
  return {
    name,
    dataType: typeClass,
    udtName: typeClass === 'integer' ? 'int4' : typeClass,
    typeClass,
    nullable: true,
    hasDefault: false,
    defaultExpression: null,
    generated: false,
    ordinal: 1,
    ...extra,
  }
}

describe('parseWriteRequest', () => {
  it('rejects unknown keys, prototype keys in data and a missing data object', () => {
    expect(caught(() => parseWriteRequest('create', { model: 'Order', data: {}, tenantId: 'b' })).code).toBe(
      'VALIDATION_ERROR',
    )
    const polluted = JSON.parse('{"model":"Order","data":{"__proto__":{"admin":true}}}')
    expect(caught(() => parseWriteRequest('create', polluted))).toMatchObject({
      code: 'VALIDATION_ERROR',
      details: { issues: [{ path: 'data.__proto__' }] },
    })
    expect(caught(() => parseWriteRequest('update', { model: 'Order', id: 'x' })).code).toBe(
      'VALIDATION_ERROR',
    )
  })

  it('bounds the reason, the ids and the data of a write', () => {
    const longReason = caught(() =>
      parseWriteRequest('delete', { model: 'Order', id: 1, reason: 'r'.repeat(1001) }),
    )
    expect(longReason).toMatchObject({ details: { issues: [{ path: 'reason' }] } })
    const ids = Array.from({ length: 1001 }, (_, i) => i + 1)
    expect(
      caught(() => parseWriteRequest('bulkUpdate', { model: 'Order', ids, data: { a: 1 } })),
    ).toMatchObject({
      details: { issues: [{ path: 'ids' }] },
    })
    expect(caught(() => parseWriteRequest('update', { model: 'Order', id: 1, data: {} }))).toMatchObject({
      details: { issues: [{ path: 'data' }] },
    })
    expect(caught(() => parseWriteRequest('create', { model: 'Order', data: { 'bad name': 1 } })).code).toBe(
      'VALIDATION_ERROR',
    )
  })

  it('returns a frozen private copy and defaults hard to false', () => {
    const data = { status: 'x', meta: { tags: ['a'] } }
    const r = parseWriteRequest('create', { model: 'Order', data })
    data.meta.tags.push('b')
    expect(r.data).toEqual({ status: 'x', meta: { tags: ['a'] } })
    expect(Object.isFrozen(r.data['meta'])).toBe(true)
    expect(parseWriteRequest('delete', { model: 'Order', id: 'o1' })).toEqual({
      kind: 'delete',
      model: 'Order',
      id: 'o1',
      hard: false,
    })
  })
})

describe('coerceWriteValue', () => {
  it('writes any JSON value to a json column as JSON text', () => {
    expect(coerceWriteValue(column('meta', 'json'), { a: [1, 'two'] }, 'data.meta')).toBe('{"a":[1,"two"]}')
    expect(coerceWriteValue(column('meta', 'json'), 'plain', 'data.meta')).toBe('"plain"')
  })

  it('refuses null for a NOT NULL column and objects for scalar columns, naming the path', () => {
    expect(
      caught(() => coerceWriteValue(column('status', 'string', { nullable: false }), null, 'data.status')),
    ).toMatchObject({
      code: 'VALIDATION_ERROR',
      message: "Invalid value at data.status: field 'status' cannot be null",
    })
    expect(caught(() => coerceWriteValue(column('status', 'string'), { a: 1 }, 'data.status')).code).toBe(
      'VALIDATION_ERROR',
    )
    expect(caught(() => coerceWriteValue(column('n', 'integer'), 2 ** 31, 'data.n')).message).toMatch(
      /^Invalid value at data\.n:/,
    )
    expect(caught(() => coerceWriteValue(column('b', 'bytea'), 'AAAA', 'data.b')).code).toBe(
      'VALIDATION_ERROR',
    )
  })

  it('lower-cases UUIDs so in-memory checks agree with PostgreSQL', () => {
    expect(coerceWriteValue(column('id', 'uuid'), 'A0000000-0000-4000-8000-00000000000A', 'data.id')).toBe(
      'a0000000-0000-4000-8000-00000000000a',
    )
  })
})

function visibility(overrides: Partial<VisibilityPlan>): VisibilityPlan {
  return {
    model: 'Customer',
    scopes: [],
    permissive: [],
    restrictive: [],
    bypass: null,
    softDeleteColumn: null,
    shared: false,
    ...overrides,
  }
}

const condition = (text: string) => parseCondition(text)

describe('checkWrittenRow (WITH CHECK in memory)', () => {
  const scoped = visibility({
    scopes: [{ column: 'tenant_id', source: 'principal.tenantId', value: 'A' }],
    permissive: [{ name: 'public', condition: condition('is_public = true') }],
  })
  const known = new Set(['tenant_id', 'is_public'])

  it('requires the scoping even where a permissive rule would make the row readable', () => {
    expect(checkWrittenRow(scoped, { tenant_id: 'B', is_public: true }, known)).toBe('fail')
    expect(checkWrittenRow(scoped, { tenant_id: 'A', is_public: false }, known)).toBe('pass')
  })

  it('accepts a permissive rule only on a model without scoping', () => {
    const unscoped = visibility({ permissive: scoped.permissive })
    expect(checkWrittenRow(unscoped, { is_public: true }, known)).toBe('pass')
    expect(checkWrittenRow(unscoped, { is_public: false }, known)).toBe('fail')
  })

  it('fails on any restrictive rule, also under a bypass, and leaves unknown values to SQL', () => {
    const restrictive = [{ name: 'live', condition: condition("status != 'archived'") }]
    const bypassed = visibility({ bypass: 'admin', restrictive })
    expect(checkWrittenRow(bypassed, { status: 'archived' }, new Set(['status']))).toBe('fail')
    expect(checkWrittenRow(bypassed, { status: 'paid' }, new Set(['status']))).toBe('pass')
    expect(checkWrittenRow(scoped, { is_public: false }, new Set(['is_public']))).toBe('unknown')
  })
})

describe('approvalPayloadHash', () => {
  const request = parseWriteRequest('update', { model: 'Order', id: 'o1', data: { status: 'paid' } })

  it('ignores the approval id and the order of roles', () => {
    const withId = parseWriteRequest('update', {
      model: 'Order',
      id: 'o1',
      data: { status: 'paid' },
      approvalId: 'x',
    })
    const a = approvalPayloadHash(
      { tenantId: 'A', userId: 'u', roles: ['a', 'b'] },
      'db_update',
      request,
      'v1',
    )
    expect(
      approvalPayloadHash({ tenantId: 'A', userId: 'u', roles: ['b', 'a'] }, 'db_update', withId, 'v1'),
    ).toBe(a)
  })

  it('changes with the tenant, the user, the tool, the arguments and the policy version', () => {
    const p = { tenantId: 'A', userId: 'u' }
    const base = approvalPayloadHash(p, 'db_update', request, 'v1')
    const changed = parseWriteRequest('update', { model: 'Order', id: 'o1', data: { status: 'void' } })
    for (const other of [
      approvalPayloadHash({ ...p, tenantId: 'B' }, 'db_update', request, 'v1'),
      approvalPayloadHash({ ...p, userId: 'v' }, 'db_update', request, 'v1'),
      approvalPayloadHash(p, 'db_bulk_update', request, 'v1'),
      approvalPayloadHash(p, 'db_update', changed, 'v1'),
      approvalPayloadHash(p, 'db_update', request, 'v2'),
    ]) {
      expect(other).not.toBe(base)
    }
  })
})
