/**
 * How many statements a write sends (src/executor/run-write.ts performWrite): a create checks its references
 * inside its INSERT, an update that sets no reference reads, locks and updates its targets in one UPDATE. The
 * answers are those of the separate steps: the same refusal for the same reference, the same before image,
 * nothing written when a check fails.
 */
import { beforeAll, expect, it } from 'vitest'
import type { PolicyInput } from '../../src/policy/policy-schema.ts'
import { describeEachDatabase } from '../support/databases.ts'
import {
  ALICE,
  as,
  CUSTOMER_A1,
  CUSTOMER_A2,
  CUSTOMER_B1,
  ORDER_A1,
  ORDER_A2,
  ORDER_B1,
  TENANT_B,
} from '../support/saas.ts'
import { type ToolsetHarness, toolsetFor } from '../support/toolset.ts'
import { countRows, CREATABLE_ORDER_ITEM, errorOf, rowOf, tenantSnapshot } from '../support/write-helpers.ts'
import { scopedOrder } from '../support/scoped-order.ts'

const policy: PolicyInput = {
  models: {
    Order: scopedOrder(
      { id: 'allow', tenant_id: 'allow', customer_id: 'allow', status: 'allow', total: 'allow' },
      {
        rowPolicies: [{ name: 'not_archived', condition: "status != 'archived'", mode: 'restrictive' }],
        write: {
          update: 'allow',
          immutableFields: ['tenant_id'],
          maxAffectedRows: 2,
        },
      },
    ),
    Customer: {
      table: 'customers',
      unscopedColumns: ['org_id'],
      fields: { id: 'allow', tenant_id: 'allow', name: 'allow' },
      scoping: { tenant_id: 'principal.tenantId' },
    },
    Product: { table: 'products', shared: true, fields: { id: 'allow', name: 'allow' } },
    OrderItem: CREATABLE_ORDER_ITEM,
  },
}

const MISSING_PRODUCT = 999_999

/** The statements of the call that are its own: without the transaction's and the session's. */
function ownStatements(queries: readonly string[]): string[] {
  return queries.filter((q) => !/^(begin|commit|rollback|start transaction|select set_config)\b/i.test(q))
}

describeEachDatabase('writes in as few statements as keep every check', (db) => {
  let h: ToolsetHarness
  beforeAll(async () => {
    h = await toolsetFor(db(), policy)
  })

  it('creates a row with two references checked inside its one INSERT statement', async () => {
    h.queries.length = 0
    const r = await h.toolset.create(as(ALICE), {
      model: 'OrderItem',
      data: { order_id: ORDER_A1, product_id: 7, quantity: 2, unit_price: '1.50' },
    })
    const own = ownStatements(h.queries)
    expect(own).toHaveLength(1)
    expect(own[0]).toMatch(/^with .*\(insert into /)
    expect(await rowOf(db(), 'order_items', r.row['id'] as string)).toMatchObject({
      order_id: ORDER_A1,
      product_id: 7,
      quantity: 2,
    })
  })

  it.each([
    ["B's order, an existing product", ORDER_B1, 7, 'order_id'],
    ['an own order, a missing product', ORDER_A1, MISSING_PRODUCT, 'product_id'],
    // Both missing: the first reference in the plan's order (product_id's key comes first), as when each was
    // checked by its own statement.
    ["B's order, a missing product", ORDER_B1, MISSING_PRODUCT, 'product_id'],
  ])(
    'names exactly the reference that is not visible (%s) and inserts nothing',
    async (_case, order, product, field) => {
      const count = await countRows(db(), 'order_items')
      const b = await tenantSnapshot(db(), TENANT_B)
      const e = await errorOf(
        h.toolset.create(as(ALICE), {
          model: 'OrderItem',
          data: { order_id: order, product_id: product, quantity: 1, unit_price: 1 },
        }),
      )
      expect(e).toEqual({
        code: 'NOT_FOUND',
        message: 'A referenced record does not exist',
        hints: [],
        details: { field },
      })
      expect(await countRows(db(), 'order_items')).toBe(count)
      expect(await tenantSnapshot(db(), TENANT_B)).toEqual(b)
    },
  )

  it('updates a row in one statement that also reads its before image, audited as before', async () => {
    const prior = await rowOf(db(), 'orders', ORDER_A2)
    h.queries.length = 0
    const r = await h.toolset.update(as(ALICE), {
      model: 'Order',
      id: ORDER_A2,
      data: { total: '77.10' },
    })
    const own = ownStatements(h.queries)
    expect(own).toHaveLength(1)
    expect(own[0]).toMatch(/^with .* for update\) update /)
    expect(r.row).toMatchObject({ id: ORDER_A2, total: '77.10' })
    const record = (await h.audit.query({ tool: 'db_update', limit: 1 }))[0]
    expect(record?.before).toEqual({
      id: ORDER_A2,
      tenant_id: prior?.['tenant_id'],
      customer_id: prior?.['customer_id'],
      status: prior?.['status'],
      total: Number(prior?.['total']).toFixed(2),
    })
    expect(record?.after).toEqual({ ...(record?.before as object), total: '77.10' })
  })

  it('rolls back an update whose row breaks the restrictive rule after the write', async () => {
    const prior = await rowOf(db(), 'orders', ORDER_A2)
    const e = await errorOf(
      h.toolset.update(as(ALICE), { model: 'Order', id: ORDER_A2, data: { status: 'archived' } }),
    )
    expect(e.code).toBe('VALIDATION_ERROR')
    expect(e.message).toBe('The record would be outside what you may access after this write')
    expect(await rowOf(db(), 'orders', ORDER_A2)).toEqual(prior)
  })

  it("answers an update of B's row like a missing one, from the same single statement", async () => {
    const b = await tenantSnapshot(db(), TENANT_B)
    h.queries.length = 0
    const e = await errorOf(
      h.toolset.update(as(ALICE), { model: 'Order', id: ORDER_B1, data: { total: '1.00' } }),
    )
    expect(e.code).toBe('NOT_FOUND')
    expect(ownStatements(h.queries)).toHaveLength(1)
    expect(await tenantSnapshot(db(), TENANT_B)).toEqual(b)
  })

  it('keeps the separate reads for an update that sets a reference, refusing an invisible one', async () => {
    const prior = await rowOf(db(), 'orders', ORDER_A2)
    h.queries.length = 0
    const e = await errorOf(
      h.toolset.update(as(ALICE), { model: 'Order', id: ORDER_A2, data: { customer_id: CUSTOMER_B1 } }),
    )
    expect(e).toMatchObject({ code: 'NOT_FOUND', details: { field: 'customer_id' } })
    expect(await rowOf(db(), 'orders', ORDER_A2)).toEqual(prior)
    const ok = await h.toolset.update(as(ALICE), {
      model: 'Order',
      id: ORDER_A2,
      data: { customer_id: CUSTOMER_A2 },
    })
    expect(ok.row['customer_id']).toBe(CUSTOMER_A2)
    await h.toolset.update(as(ALICE), { model: 'Order', id: ORDER_A2, data: { customer_id: CUSTOMER_A1 } })
  })
})
