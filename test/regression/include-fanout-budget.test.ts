/**
 * Regression (outside attack suite, issue 9 item 13): `include: { noteTags: { include: { tag: true } } }` at the
 * default page failed with QUERY_BUDGET_EXCEEDED "2040 > 2000" and the generic hint "fewer fields, fewer
 * filters". The include fan-out is now its own budget (`maxResultRows`), large enough by default for two levels
 * of to-many includes at the default limits, and every budget error names the budget and what to lower.
 */
import { beforeAll, describe, expect, it } from 'vitest'
import { budgetExceeded } from '../../src/errors/index.ts'
import { loadPolicyFile } from '../../src/policy/index.ts'
import { describeEachDatabase } from '../support/databases.ts'
import { ALICE, as } from '../support/saas.ts'
import { type ToolsetHarness, toolsetFor } from '../support/toolset.ts'
import { errorOf } from '../support/write-helpers.ts'

describeEachDatabase('include fan-out with default budgets', (db) => {
  let h: ToolsetHarness
  beforeAll(async () => {
    const demo = await loadPolicyFile(new URL('../../policies/demo.yaml', import.meta.url).pathname)
    h = await toolsetFor(db(), demo.source as Parameters<typeof toolsetFor>[1])
  })

  it('runs a to-many include with a to-one include under it at the default page', async () => {
    const { rows } = await h.toolset.query(as(ALICE), {
      model: 'Order',
      include: { items: { include: { product: true } } },
    })
    expect(rows.length).toBeGreaterThan(0)
  })

  it('runs two levels of to-many includes at the default page and include limits', async () => {
    const { rows } = await h.toolset.query(as(ALICE), {
      model: 'Customer',
      include: { orders: { include: { items: true } } },
    })
    expect(rows.length).toBeGreaterThan(0)
  })

  it('names budget.maxResultRows and the include to lower when the fan-out is too large', async () => {
    const e = await errorOf(
      h.toolset.query(as(ALICE), {
        model: 'Customer',
        limit: 100,
        include: { orders: { limit: 100, include: { items: { limit: 100 } } } },
      }),
    )
    expect(e).toMatchObject({
      code: 'QUERY_BUDGET_EXCEEDED',
      details: { budgetType: 'max_result_rows', budget: 'maxResultRows', limit: 25_000 },
    })
    expect(e.message).toContain('budget.maxResultRows')
    expect(e.hints.join(' ')).toMatch(/give include '(orders|items)' a smaller limit/)
  })
})

describe('budget errors', () => {
  it.each([
    ['max_rows', 'budget.maxRows', /limit/],
    ['max_select_fields', 'budget.maxSelectFields', /fewer fields/],
    ['max_include_depth', 'budget.maxIncludeDepth', /fewer levels/],
    ['max_in_items', 'budget.maxInItems', /fewer values/],
    ['max_filters', 'budget.maxFilters', /fewer filter/],
  ] as const)('%s names %s and what to lower', (type, name, lower) => {
    const e = budgetExceeded(type, 10, 11)
    expect(e.message).toContain(name)
    expect(e.message).toContain('(11 > 10)')
    expect(e.hints.join(' ')).toMatch(lower)
  })
})
