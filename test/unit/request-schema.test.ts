import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { TesseraError } from '../../src/errors/index.ts'
import {
  normalizeFilter,
  parseRequest,
  queryRequestSchema,
  type FilterInput,
  type RequestKind,
} from '../../src/request/index.ts'

function rejection(kind: RequestKind, input: unknown): TesseraError {
  try {
    parseRequest(kind, input)
  } catch (error) {
    expect(error).toBeInstanceOf(TesseraError)
    return error as TesseraError
  }
  throw new Error('expected parseRequest to throw')
}

function issues(error: TesseraError): { path: string; message: string }[] {
  return error.details.issues as { path: string; message: string }[]
}

function firstPath(kind: RequestKind, input: unknown): string | undefined {
  const error = rejection(kind, input)
  expect(error.code).toBe('VALIDATION_ERROR')
  return issues(error)[0]?.path
}

describe('parseRequest: valid requests', () => {
  it('parses a minimal query', () => {
    expect(parseRequest('query', { model: 'Order' })).toEqual({ model: 'Order' })
  })

  it('parses a full query and normalises orderBy, include and the filter', () => {
    const req = parseRequest('query', {
      model: 'Order',
      select: ['id', 'status'],
      where: [
        { field: 'status', op: 'eq', value: 'open' },
        { or: [{ field: 'total', op: 'gte', value: 10 }, { not: { field: 'note', op: 'is_null' } }] },
      ],
      orderBy: ['created_at', { field: 'total', direction: 'desc' }, { field: 'id' }],
      limit: 25,
      cursor: 'abc.def',
      include: {
        customer: true,
        items: { select: ['sku'], where: { field: 'qty', op: 'gt', value: 1 }, limit: 5 },
      },
    })
    expect(req).toEqual({
      model: 'Order',
      select: ['id', 'status'],
      where: {
        kind: 'and',
        items: [
          { kind: 'cmp', field: 'status', op: 'eq', value: 'open' },
          {
            kind: 'or',
            items: [
              { kind: 'cmp', field: 'total', op: 'gte', value: 10 },
              { kind: 'not', item: { kind: 'cmp', field: 'note', op: 'is_null', value: true } },
            ],
          },
        ],
      },
      orderBy: [
        { field: 'created_at', direction: 'asc' },
        { field: 'total', direction: 'desc' },
        { field: 'id', direction: 'asc' },
      ],
      limit: 25,
      cursor: 'abc.def',
      include: {
        customer: {},
        items: { select: ['sku'], where: { kind: 'cmp', field: 'qty', op: 'gt', value: 1 }, limit: 5 },
      },
    })
    expect(Object.isFrozen(req)).toBe(true)
    expect(Object.isFrozen(req.where)).toBe(true)
    expect(Object.isFrozen(req.orderBy)).toBe(true)
  })

  it('parses every filter operator', () => {
    const where: FilterInput = [
      { field: 'a', op: 'eq', value: 1 },
      { field: 'a', op: 'ne', value: 'x' },
      { field: 'a', op: 'lt', value: 1.5 },
      { field: 'a', op: 'lte', value: 2 },
      { field: 'a', op: 'gt', value: true },
      { field: 'a', op: 'gte', value: null },
      { field: 'a', op: 'in', value: [1, 'two', false, null] },
      { field: 'a', op: 'not_in', value: [] },
      { field: 'a', op: 'is_null', value: false },
      { field: 'a', op: 'contains', value: '50%' },
      { field: 'a', op: 'startswith', value: 'a_' },
      { field: 'a', op: 'endswith', value: 'z' },
      { field: 'a', op: 'between', value: [1, 10] },
    ]
    const req = parseRequest('query', { model: 'M', where })
    expect(req.where?.kind).toBe('and')
    expect(req.where?.kind === 'and' ? req.where.items.length : 0).toBe(13)
  })

  it('parses nested includes', () => {
    const req = parseRequest('query', { model: 'Order', include: { customer: { include: { org: true } } } })
    expect(req.include).toEqual({ customer: { include: { org: {} } } })
  })

  it('parses get requests with scalar and composite ids', () => {
    expect(parseRequest('get', { model: 'Order', id: 'a1' })).toEqual({ model: 'Order', id: 'a1' })
    expect(parseRequest('get', { model: 'Order', id: 7, select: ['id'], include: { items: true } })).toEqual({
      model: 'Order',
      id: 7,
      select: ['id'],
      include: { items: {} },
    })
    expect(parseRequest('get', { model: 'Line', id: { order_id: 'x', line_no: 2 } }).id).toEqual({
      order_id: 'x',
      line_no: 2,
    })
  })

  it('parses aggregate requests', () => {
    expect(parseRequest('aggregate', { model: 'Order', op: 'count' })).toEqual({
      model: 'Order',
      op: 'count',
    })
    expect(
      parseRequest('aggregate', {
        model: 'Order',
        op: 'sum',
        field: 'total',
        where: { field: 'status', op: 'eq', value: 'paid' },
        groupBy: ['status'],
      }),
    ).toEqual({
      model: 'Order',
      op: 'sum',
      field: 'total',
      where: { kind: 'cmp', field: 'status', op: 'eq', value: 'paid' },
      groupBy: ['status'],
    })
  })

  it('parses describe_schema requests with and without a model', () => {
    expect(parseRequest('describeSchema', {})).toEqual({})
    expect(parseRequest('describeSchema', { model: 'Order' })).toEqual({ model: 'Order' })
  })

  it('tolerates undefined optional members from programmatic callers', () => {
    expect(parseRequest('query', { model: 'Order', where: undefined, limit: undefined })).toEqual({
      model: 'Order',
    })
  })
})

describe('parseRequest: rejected requests', () => {
  it('rejects unknown top-level keys', () => {
    const error = rejection('query', { model: 'Order', tenantId: 't2' })
    expect(error.code).toBe('VALIDATION_ERROR')
    expect(issues(error)[0]).toEqual({ path: '', message: "unknown key 'tenantId'" })
  })

  it('rejects an unknown operator such as $regex with the path of op', () => {
    expect(firstPath('query', { model: 'O', where: { field: 'email', op: '$regex', value: '.*' } })).toBe(
      'where.op',
    )
    expect(
      firstPath('query', {
        model: 'O',
        where: {
          and: [
            { field: 'a', op: 'eq', value: 1 },
            { field: 'b', op: 'like', value: 'x' },
          ],
        },
      }),
    ).toBe('where.and[1].op')
  })

  it('rejects Mongo-style operator objects', () => {
    expect(rejection('query', { model: 'O', where: { email: { $regex: '.*' } } }).code).toBe(
      'VALIDATION_ERROR',
    )
    expect(firstPath('query', { model: 'O', where: { $where: 'sleep(1)' } })).toBe('where')
  })

  it('rejects objects where scalars belong', () => {
    expect(firstPath('query', { model: 'O', where: { field: 'a', op: 'eq', value: { $gt: 1 } } })).toBe(
      'where.value',
    )
    expect(firstPath('query', { model: 'O', where: [{ field: 'a', op: 'in', value: [1, { x: 1 }] }] })).toBe(
      'where[0].value[1]',
    )
    expect(firstPath('query', { model: 'O', where: { field: 'a', op: 'eq', value: [1] } })).toBe(
      'where.value',
    )
    expect(firstPath('query', { model: 'O', limit: { $gt: 1 } })).toBe('limit')
    expect(firstPath('get', { model: 'O', id: { id: { $ne: null } } })).toBe('id.id')
  })

  it.each([
    ['a quote', 'name"; drop table x; --'],
    ['a single quote', "name'"],
    ['a semicolon', 'a;b'],
    ['a dot', 'pg_catalog.pg_authid'],
    ['a space', 'first name'],
    ['a zero-width space', 'na\u200bme'],
    ['a right-to-left override', 'na\u202eme'],
    ['a leading digit', '1name'],
    ['an empty name', ''],
    ['64 characters', 'a'.repeat(64)],
  ])('rejects a field name with %s', (_what, name) => {
    expect(firstPath('query', { model: 'Order', where: { field: name, op: 'eq', value: 1 } })).toBe(
      'where.field',
    )
    expect(firstPath('query', { model: 'Order', select: ['id', name] })).toBe('select[1]')
    expect(firstPath('query', { model: 'Order', orderBy: [name] })).toBe('orderBy[0]')
    expect(firstPath('aggregate', { model: 'Order', op: 'count', groupBy: [name] })).toBe('groupBy[0]')
    expect(firstPath('query', { model: name })).toBe('model')
  })

  it('accepts a 63-character identifier', () => {
    expect(parseRequest('query', { model: 'a'.repeat(63) }).model).toHaveLength(63)
  })

  it('rejects relation names that are not identifiers, without echoing invisible characters', () => {
    const error = rejection('query', { model: 'O', include: { 'cust\u200bomer': true } })
    expect(issues(error)[0]?.path).toBe('include["cust?omer"]')
    expect(JSON.stringify(error.toJSON())).not.toContain('\u200b')
  })

  it('does not echo a huge unknown key in the message', () => {
    const key = 'k'.repeat(5_000)
    const error = rejection('query', { model: 'O', [key]: 1 })
    expect(error.message.length).toBeLessThan(400)
    expect(JSON.stringify(error.toJSON()).length).toBeLessThan(1_000)
  })

  it('rejects unknown keys inside comparisons, groups and includes', () => {
    expect(
      firstPath('query', { model: 'O', where: { field: 'a', op: 'eq', value: 1, tenant_id: 'x' } }),
    ).toBe('where')
    expect(firstPath('query', { model: 'O', where: { field: 'a', op: 'eq', value: 1, and: [] } })).toBe(
      'where',
    )
    expect(firstPath('query', { model: 'O', include: { items: { select: ['a'], raw: 'x' } } })).toBe(
      'include.items',
    )
    expect(
      firstPath('query', { model: 'O', orderBy: [{ field: 'a', direction: 'desc', nulls: 'first' }] }),
    ).toBe('orderBy[0]')
  })

  it('rejects malformed operator values', () => {
    expect(firstPath('query', { model: 'O', where: { field: 'a', op: 'in', value: 1 } })).toBe('where.value')
    expect(firstPath('query', { model: 'O', where: { field: 'a', op: 'between', value: [1] } })).toBe(
      'where.value',
    )
    expect(firstPath('query', { model: 'O', where: { field: 'a', op: 'between', value: [1, 2, 3] } })).toBe(
      'where.value',
    )
    expect(firstPath('query', { model: 'O', where: { field: 'a', op: 'is_null', value: 'yes' } })).toBe(
      'where.value',
    )
    expect(firstPath('query', { model: 'O', where: { field: 'a', op: 'contains', value: 5 } })).toBe(
      'where.value',
    )
    expect(firstPath('query', { model: 'O', where: { field: 'a', op: 'eq' } })).toBe('where.value')
    expect(firstPath('query', { model: 'O', where: { and: { field: 'a', op: 'eq', value: 1 } } })).toBe(
      'where.and',
    )
    expect(firstPath('query', { model: 'O', where: { not: [{ field: 'a', op: 'ne' }] } })).toBe(
      'where.not[0].value',
    )
  })

  it('rejects an empty object as a filter with a message listing the filter shapes', () => {
    const error = rejection('query', { model: 'O', where: {} })
    expect(issues(error)[0]?.path).toBe('where')
    expect(error.message).toContain('must be a filter')
  })

  it('rejects bad limits and directions', () => {
    expect(firstPath('query', { model: 'O', limit: 0 })).toBe('limit')
    expect(firstPath('query', { model: 'O', limit: 2.5 })).toBe('limit')
    expect(firstPath('query', { model: 'O', limit: '10' })).toBe('limit')
    expect(firstPath('query', { model: 'O', orderBy: [{ field: 'a', direction: 'sideways' }] })).toBe(
      'orderBy[0].direction',
    )
    expect(firstPath('query', { model: 'O', select: [] })).toBe('select')
  })

  it('requires a field for every aggregate except count', () => {
    for (const op of ['sum', 'avg', 'min', 'max']) {
      expect(firstPath('aggregate', { model: 'O', op })).toBe('field')
    }
    expect(firstPath('aggregate', { model: 'O', op: 'median', field: 'a' })).toBe('op')
  })

  it('rejects empty or non-scalar ids', () => {
    expect(firstPath('get', { model: 'O', id: '' })).toBe('id')
    expect(firstPath('get', { model: 'O', id: 1.5 })).toBe('id')
    expect(firstPath('get', { model: 'O', id: {} })).toBe('id')
    expect(firstPath('get', { model: 'O' })).toBe('id')
  })

  it('runs the input guard first: prototype keys and non-finite numbers never reach zod', () => {
    const error = rejection('query', JSON.parse('{"model":"O","where":{"__proto__":{"field":"a"}}}'))
    expect(issues(error)[0]?.path).toBe('where.__proto__')
    expect(
      firstPath('query', JSON.parse('{"model":"O","where":{"field":"a","op":"gt","value":1e309}}')),
    ).toBe('where.value')
  })

  it('rejects a request that is not an object', () => {
    for (const input of [null, 'Order', 42, ['Order']]) {
      expect(rejection('query', input).code).toBe('VALIDATION_ERROR')
    }
  })

  it('names the request kind and the first problem in the message', () => {
    const error = rejection('query', { model: 'O', where: { field: 'a', op: 'nope' } })
    expect(error.message).toMatch(/^Invalid query request: where\.op: op must be one of eq, ne/)
  })
})

describe('normalizeFilter', () => {
  it('turns a plain array into AND and collapses single-item groups', () => {
    expect(normalizeFilter([{ field: 'a', op: 'eq', value: 1 }])).toEqual({
      kind: 'cmp',
      field: 'a',
      op: 'eq',
      value: 1,
    })
    expect(normalizeFilter({ or: [{ field: 'a', op: 'eq', value: 1 }] })).toEqual({
      kind: 'cmp',
      field: 'a',
      op: 'eq',
      value: 1,
    })
  })

  it('keeps empty groups (AND of nothing is true, OR of nothing is false)', () => {
    expect(normalizeFilter([])).toEqual({ kind: 'and', items: [] })
    expect(normalizeFilter({ or: [] })).toEqual({ kind: 'or', items: [] })
  })

  it('defaults is_null to true and copies list values', () => {
    const list = [1, 2]
    const node = normalizeFilter({ field: 'a', op: 'in', value: list })
    list.push(3)
    expect(node).toEqual({ kind: 'cmp', field: 'a', op: 'in', value: [1, 2] })
    expect(Object.isFrozen(node.kind === 'cmp' ? node.value : null)).toBe(true)
    expect(normalizeFilter({ field: 'a', op: 'is_null' })).toEqual({
      kind: 'cmp',
      field: 'a',
      op: 'is_null',
      value: true,
    })
  })
})

describe('request schemas', () => {
  it('convert to JSON Schema for tool definitions', () => {
    const schema = z.toJSONSchema(queryRequestSchema, { io: 'input' }) as Record<string, unknown>
    expect(schema.type).toBe('object')
    expect(schema.additionalProperties).toBe(false)
  })
})

describe('schema factories', () => {
  it('build the wire comparison when every operator takes any identifier', async () => {
    const { comparisonSchema, comparisonSchemaOver, FILTER_OPS, identifierSchema } =
      await import('../../src/request/index.ts')
    const any = Object.fromEntries(FILTER_OPS.map((op) => [op, identifierSchema]))
    expect(z.toJSONSchema(comparisonSchemaOver(any))).toEqual(z.toJSONSchema(comparisonSchema))
  })
})

describe('parseRequest: limit', () => {
  it('says a zero or negative limit must be at least 1, and a fraction that it must be an integer', () => {
    expect(issues(rejection('query', { model: 'Order', limit: -1 }))).toEqual([
      { path: 'limit', message: 'must be at least 1' },
    ])
    expect(issues(rejection('query', { model: 'Order', limit: 0 }))).toEqual([
      { path: 'limit', message: 'must be at least 1' },
    ])
    expect(issues(rejection('query', { model: 'Order', limit: 2.5 }))).toEqual([
      { path: 'limit', message: 'must be an integer' },
    ])
  })
})
