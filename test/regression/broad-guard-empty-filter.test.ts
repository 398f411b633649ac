/**
 * Regression: the broad-query guard switched itself off for any filter object, so `where: []`,
 * `{ and: [] }`, `{ or: [[]] }` or `{ not: { or: [] } }` — filters that narrow nothing — let an unfiltered
 * query or aggregate run over a large shared table. A filter counts only if it holds a comparison.
 */
import { describe, expect, it } from 'vitest'
import type { Principal } from '../../src/context/index.ts'
import { TesseraError } from '../../src/errors/index.ts'
import { planAggregate, planQuery } from '../../src/planner/plan-read.ts'
import { parseRequest } from '../../src/request/request-schema.ts'
import { bindSynthetic } from '../support/synthetic-schema.ts'

const bound = bindSynthetic({
  models: { Catalog: { table: 'catalog', shared: true, fields: { id: 'allow', name: 'allow' } } },
})
const principal: Principal = { tenantId: 'tenant-a' }
const options = { cursorKey: 'regression-secret-0123456789' }

function codeOf(fn: () => unknown): string {
  try {
    fn()
    return 'PLANNED'
  } catch (error) {
    return error instanceof TesseraError ? error.code : 'THREW'
  }
}

describe('broad-query guard and filters without a comparison', () => {
  it.each<[string, unknown]>([
    ['no filter', undefined],
    ['an empty array', []],
    ['an empty and', { and: [] }],
    ['an or of an empty and', { or: [[]] }],
    ['not of an empty or', { not: { or: [] } }],
    ['empty groups nested three deep', { and: [{ or: [{ not: { and: [] } }] }] }],
  ])('refuses a query and an aggregate with %s over a large shared table', (_name, where) => {
    const w = where === undefined ? {} : { where }
    const query = parseRequest('query', { model: 'Catalog', ...w })
    const count = parseRequest('aggregate', { model: 'Catalog', op: 'count', ...w })
    expect(codeOf(() => planQuery(bound, principal, query, options))).toBe('QUERY_TOO_BROAD')
    expect(codeOf(() => planAggregate(bound, principal, count))).toBe('QUERY_TOO_BROAD')
  })

  it('plans a query whose filter holds a comparison somewhere inside empty groups', () => {
    const where = { or: [[], { field: 'name', op: 'eq', value: 'x' }] }
    const query = parseRequest('query', { model: 'Catalog', where })
    expect(codeOf(() => planQuery(bound, principal, query, options))).toBe('PLANNED')
  })
})
