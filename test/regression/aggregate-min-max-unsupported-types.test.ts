/**
 * Regression: min/max over a uuid (or boolean, json, bytea) field reached PostgreSQL, which has no such
 * aggregate, and came back as INTERNAL_ERROR. The planner now refuses it as the caller's mistake.
 */
import { describe, expect, it } from 'vitest'
import { TesseraError } from '../../src/errors/index.ts'
import { planAggregate } from '../../src/planner/plan-read.ts'
import { parseRequest } from '../../src/request/request-schema.ts'
import { bindSynthetic } from '../support/synthetic-schema.ts'

const fields = ['owner', 'flag', 'doc', 'blob', 'name', 'made_at'] as const
const bound = bindSynthetic({
  models: {
    Widget: {
      table: 'widgets',
      fields: { id: 'allow', ...Object.fromEntries(fields.map((f) => [f, 'allow'])) },
      scoping: { tenant_id: 'principal.tenantId' },
      aggregations: { fields: [...fields], groupBy: [] },
    },
  },
})
const principal = { tenantId: '0a000000-0000-4000-8000-000000000000' }

function codeOf(op: string, field: string): string {
  try {
    planAggregate(bound, principal, parseRequest('aggregate', { model: 'Widget', op, field }))
    return 'PLANNED'
  } catch (error) {
    return error instanceof TesseraError ? error.code : 'THREW'
  }
}

describe('min and max over types PostgreSQL cannot order', () => {
  it.each(['owner', 'flag', 'doc', 'blob'])('refuses min and max over %s with VALIDATION_ERROR', (field) => {
    expect(codeOf('min', field)).toBe('VALIDATION_ERROR')
    expect(codeOf('max', field)).toBe('VALIDATION_ERROR')
  })

  it('plans min and max over text and timestamps, and count over a uuid', () => {
    expect(codeOf('min', 'name')).toBe('PLANNED')
    expect(codeOf('max', 'made_at')).toBe('PLANNED')
    expect(codeOf('count', 'owner')).toBe('PLANNED')
  })
})
