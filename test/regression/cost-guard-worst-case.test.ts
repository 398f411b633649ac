/**
 * Regression (second red-team pass): the cost guard read only the top node's Total Cost. Every read ends in
 * LIMIT, and a Limit node's cost is its input's cost scaled by the share of rows the planner expects to need,
 * so `price > 499 LIMIT 2` over an index scan was estimated at ~38 while the scan under it — what runs when
 * fewer rows match early than estimated — costs ~750. The guard now takes the highest cost of any node.
 */
import { CompiledQuery } from 'kysely'
import { beforeAll, describe, expect, it } from 'vitest'
import { estimateCost } from '../../src/executor/explain-cost.ts'
import { markPrinted } from '../../src/sql/printed-statement.ts'
import type { AnyDatabase } from '../../src/schema/any-database.ts'
import { describeEachDatabase } from '../support/databases.ts'
import { ALICE, as } from '../support/saas.ts'
import { type ToolsetHarness, toolsetFor } from '../support/toolset.ts'

/** A transaction whose EXPLAIN answers `plan` (every statement answers the same row; only EXPLAIN reads it). */
function explaining(plan: unknown): AnyDatabase {
  return {
    isTransaction: true,
    executeQuery: async () => ({ rows: [{ 'QUERY PLAN': plan }] }),
  } as unknown as AnyDatabase
}

// estimateCost explains only statements src/sql printed: this one stands in for a printed one.
const compiled = markPrinted(CompiledQuery.raw('select 1', []))

describe('estimateCost', () => {
  it('takes the most expensive node, not the Limit on top of it', async () => {
    const plan = [
      {
        Plan: {
          'Node Type': 'Limit',
          'Total Cost': 37.7,
          Plans: [
            {
              'Node Type': 'Index Scan',
              'Total Cost': 748.9,
              Plans: [{ 'Node Type': 'Result', 'Total Cost': 1 }],
            },
          ],
        },
      },
    ]
    expect(await estimateCost(explaining(plan), compiled)).toBe(748.9)
    expect(await estimateCost(explaining(JSON.stringify(plan)), compiled)).toBe(748.9)
  })

  it.each<[string, unknown]>([
    ['no plan', []],
    ['a node without a cost', [{ Plan: { 'Node Type': 'Limit', Plans: [{ 'Total Cost': 1 }] } }]],
    [
      'a child with a non-finite cost',
      [{ Plan: { 'Total Cost': 1, Plans: [{ 'Total Cost': 'Infinity' }] } }],
    ],
    ['children that are not a list', [{ Plan: { 'Total Cost': 1, Plans: { 'Total Cost': 2 } } }]],
  ])('fails closed on %s', async (_name, plan) => {
    await expect(estimateCost(explaining(plan), compiled)).rejects.toThrow('unexpected EXPLAIN output')
  })
})

describeEachDatabase('regression: the cost guard counts the input of a LIMIT in full', (db) => {
  let h: ToolsetHarness
  beforeAll(async () => {
    h = await toolsetFor(
      db(),
      {
        models: {
          Product: {
            table: 'products',
            shared: true,
            fields: { id: 'allow', sku: 'allow', price: 'allow' },
            // Above a key lookup (~8), below a pass over the 20,000 products (~400 to ~750).
            budget: { maxEstimatedCost: 300 },
          },
        },
      },
      { costGuard: 'always' },
    )
  })

  it('refuses a filtered page whose LIMIT hides a full pass over the table', async () => {
    h.queries.length = 0
    const r = await h.toolset.call(as(ALICE), 'db_query', {
      model: 'Product',
      where: { field: 'price', op: 'gt', value: 499 },
      limit: 1,
    })
    expect(r).toMatchObject({
      ok: false,
      error: { code: 'QUERY_BUDGET_EXCEEDED', details: { budgetType: 'estimated_cost', limit: 300 } },
    })
    expect(
      h.queries.filter((q) => q.includes('"products"')).every((q) => /^(explain|prepare)/i.test(q)),
    ).toBe(true)
  })

  it('still runs a key lookup under the same budget', async () => {
    const r = await h.toolset.query(as(ALICE), {
      model: 'Product',
      where: { field: 'id', op: 'eq', value: 7 },
    })
    expect(r.rows).toEqual([{ id: '7', sku: 'SKU-000007', price: '7.99' }])
  })
})
