/**
 * Regression (red-team findings): sorting a json field and `contains` on an enum reached PostgreSQL, which has
 * no such operator, and came back as INTERNAL_ERROR; the planner now refuses both as the caller's mistake.
 */
import { describe, expect, it } from 'vitest'
import { TesseraError } from '../../src/errors/index.ts'
import { planQuery } from '../../src/planner/plan-read.ts'
import { parseRequest } from '../../src/request/request-schema.ts'
import { bindSynthetic } from '../support/synthetic-schema.ts'

const bound = bindSynthetic({
  models: {
    Widget: {
      table: 'widgets',
      fields: { id: 'allow', name: 'allow', doc: 'allow', blob: 'allow', mood: 'allow', made_at: 'allow' },
      scoping: { tenant_id: 'principal.tenantId' },
    },
  },
})
const principal = { tenantId: '0a000000-0000-4000-8000-000000000000' }

function codeOf(args: Record<string, unknown>): string {
  try {
    planQuery(bound, principal, parseRequest('query', { model: 'Widget', ...args }), {
      cursorKey: 'k'.repeat(32),
    })
    return 'PLANNED'
  } catch (error) {
    return error instanceof TesseraError ? error.code : 'THREW'
  }
}

describe('planner refuses operations the column type does not have', () => {
  it.each(['doc', 'blob'])('refuses to sort by the %s field', (field) => {
    expect(codeOf({ orderBy: [{ field }] })).toBe('VALIDATION_ERROR')
  })

  it.each(['name', 'mood', 'made_at'])('sorts by the %s field', (field) => {
    expect(codeOf({ orderBy: [{ field }] })).toBe('PLANNED')
  })

  it('refuses contains on an enum field and accepts it on a text field', () => {
    expect(codeOf({ where: { field: 'mood', op: 'contains', value: 'ha' } })).toBe('VALIDATION_ERROR')
    expect(codeOf({ where: { field: 'name', op: 'contains', value: 'ha' } })).toBe('PLANNED')
    expect(codeOf({ where: { field: 'mood', op: 'eq', value: 'happy' } })).toBe('PLANNED')
  })
})

describe('long LIKE patterns weigh on the complexity budget', () => {
  it('refuses many long unanchored patterns that would block PGlite for seconds', () => {
    const or = Array.from({ length: 19 }, (_, i) => ({
      field: 'name',
      op: 'contains',
      value: `${'a'.repeat(98)}${i}`,
    }))
    expect(codeOf({ where: { or } })).toBe('QUERY_BUDGET_EXCEEDED')
  })

  it('still accepts a few short patterns', () => {
    const or = Array.from({ length: 5 }, (_, i) => ({ field: 'name', op: 'contains', value: `ab${i}` }))
    expect(codeOf({ where: { or } })).toBe('PLANNED')
  })
})
