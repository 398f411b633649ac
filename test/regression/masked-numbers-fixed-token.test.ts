/**
 * Regression (outside attack suite, issue 9 item 8): a masked number kept its magnitude — `1250000.00` came
 * back as `1*****000`, so a masked salary or balance still told how large it was. Numeric and integer columns
 * now mask to the fixed token by default; digit-keeping patterns and styles apply only when the policy asks.
 */
import { beforeAll, describe, expect, it } from 'vitest'
import { type FieldRuleInput, maskValue, type PolicyInput } from '../../src/policy/index.ts'
import { describeEachDatabase } from '../support/databases.ts'
import { ALICE, as, ORDER_A1 } from '../support/saas.ts'
import { type ToolsetHarness, toolsetFor } from '../support/toolset.ts'
import { scopedOrder } from '../support/scoped-order.ts'

function policy(total: FieldRuleInput): PolicyInput {
  return {
    models: {
      Order: scopedOrder(
        { id: 'allow', total },
        {
          relations: { items: { model: 'OrderItem' } },
        },
      ),
      OrderItem: {
        table: 'order_items',
        scoping: { tenant_id: 'principal.tenantId' },
        fields: { id: 'allow', order_id: 'allow', quantity: 'mask', unit_price: { action: 'mask' } },
      },
    },
  }
}

describeEachDatabase('masked numbers', (db) => {
  let plain: ToolsetHarness
  beforeAll(async () => {
    plain = await toolsetFor(db(), policy('mask'))
  })

  it('masks a numeric column to the fixed token, at the top level and inside includes', async () => {
    const { row } = await plain.toolset.get(as(ALICE), {
      model: 'Order',
      id: ORDER_A1,
      select: ['id', 'total'],
      include: { items: { select: ['id', 'quantity', 'unit_price'] } },
    })
    expect(row['total']).toBe('****')
    const items = row['items'] as Record<string, unknown>[]
    expect(items.length).toBeGreaterThan(0)
    for (const item of items) {
      expect(item['quantity']).toBe('****')
      expect(item['unit_price']).toBe('****')
    }
  })

  it('keeps digits only where the policy asks for a pattern or a digit-keeping style', async () => {
    const pattern = await toolsetFor(db(), policy({ action: 'mask', pattern: '***{last2}' }))
    const partial = await toolsetFor(db(), policy({ action: 'mask', style: 'partial' }))
    const auto = await toolsetFor(db(), policy({ action: 'mask', style: 'auto' }))
    const get = async (h: ToolsetHarness) =>
      (await h.toolset.get(as(ALICE), { model: 'Order', id: ORDER_A1, select: ['total'] })).row['total']
    expect(await get(pattern)).toBe('***50') // 120.50
    expect(await get(partial)).toBe('1****0')
    expect(await get(auto)).toBe('****')
  })
})

describe('maskValue on numbers', () => {
  it('masks JS numbers and bigints to the fixed token under the auto style', () => {
    expect(maskValue(1250000, { action: 'mask' })).toBe('****')
    expect(maskValue(1250000n, { action: 'mask', style: 'auto' })).toBe('****')
    expect(maskValue('1250000.00', { action: 'mask', style: 'full' })).toBe('****')
  })
})
