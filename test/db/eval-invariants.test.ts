import { beforeAll, expect, it } from 'vitest'
import { definePolicy } from '../../src/policy/define-policy.ts'
import type { PolicyInput } from '../../src/policy/policy-schema.ts'
import { EvalHarness, type InvariantFunction, type Violation } from '../../src/eval/index.ts'
import { MemoryAuditStore, type AuditStore } from '../../src/stores/index.ts'
import { describeEachDatabase, type TestDatabase } from '../support/databases.ts'
import {
  ALICE,
  as,
  CUSTOMER_A1,
  CUSTOMER_B1,
  ORDER_A_PLANT,
  ORDER_B1,
  ORDER_B2,
  ORDER_NO_TENANT,
  SUPER,
} from '../support/saas.ts'
import { toolsetFor } from '../support/toolset.ts'
import {
  DEMO,
  NOT_NULL_TENANT,
  customersUnscoped,
  emailUnmasked,
  ordersUnscoped,
  passwordAllowed,
  restrictiveDropped,
} from '../support/broken-policies.ts'

/** A harness whose toolset enforces `enforced` while results are judged by `reference`. */
async function harness(
  db: TestDatabase,
  enforced: PolicyInput,
  reference: PolicyInput,
  audit?: AuditStore,
): Promise<EvalHarness> {
  const { toolset } = await toolsetFor(db, enforced, audit === undefined ? {} : { audit })
  return new EvalHarness({ toolset, db: db.admin, policy: definePolicy(reference) })
}

const names = (vs: readonly Violation[]): string[] => [...new Set(vs.map((v) => v.invariant))].sort()

describeEachDatabase('eval invariants against the database', (db) => {
  let correct: EvalHarness
  beforeAll(async () => {
    correct = await harness(db(), DEMO, DEMO)
  })

  it('finds no violation in hostile and ordinary calls under the correct policy', async () => {
    const calls = [
      { tool: 'db_query', args: { model: 'Order', include: { customer: {}, items: {} } } },
      { tool: 'db_query', args: { model: 'Order', select: ['status'] } },
      { tool: 'db_get', args: { model: 'Order', id: ORDER_A_PLANT, include: { customer: {} } } },
      { tool: 'db_get', args: { model: 'Order', id: ORDER_B1 } },
      { tool: 'db_query', args: { model: 'Customer', include: { owner: {} } } },
      { tool: 'db_aggregate', args: { model: 'Order', op: 'count', groupBy: ['status'] } },
      { tool: 'db_query', args: { model: 'User', select: ['password_hash'] } },
    ]
    for (const c of calls) {
      const r = await correct.run(as(ALICE), c)
      expect(r.violations, JSON.stringify(c)).toEqual([])
    }
  })

  it('noCrossTenantData catches a leak in a get, naming the stored row and its tenant', async () => {
    const h = await harness(db(), ordersUnscoped(), DEMO)
    const r = await h.run(as(ALICE), {
      tool: 'db_get',
      args: { model: 'Order', id: ORDER_B1, select: ['status'] },
    })
    expect(r.result.ok).toBe(true)
    expect(names(r.violations)).toEqual(['noCrossTenantData'])
    expect(r.violations[0]?.message).toContain(ORDER_B1)
    expect(r.violations[0]?.row).toMatchObject({
      id: ORDER_B1,
      tenant_id: 'b0000000-0000-4000-8000-000000000000',
    })
  })

  it('noCrossTenantData catches a leak in a query that selected neither the tenant nor the key', async () => {
    const h = await harness(db(), ordersUnscoped(), DEMO)
    const r = await h.run(as(ALICE), { tool: 'db_query', args: { model: 'Order', select: ['status'] } })
    expect(names(r.violations)).toEqual(['noCrossTenantData'])
    expect(r.violations[0]?.message).toMatch(/may see only/)
  })

  it('noCrossTenantData catches a leak in a nested include', async () => {
    const h = await harness(db(), customersUnscoped(), DEMO)
    const r = await h.run(as(ALICE), {
      tool: 'db_get',
      args: {
        model: 'Order',
        id: ORDER_A_PLANT,
        select: ['id'],
        include: { customer: { select: ['name'] } },
      },
    })
    expect(names(r.violations)).toEqual(['noCrossTenantData'])
    expect(r.violations[0]?.path).toBe('row.customer')
    expect(r.violations[0]?.message).toContain(CUSTOMER_B1)
  })

  it('noCrossTenantData catches an aggregate that counts other tenants', async () => {
    const h = await harness(db(), ordersUnscoped(), DEMO)
    const r = await h.run(as(ALICE), { tool: 'db_aggregate', args: { model: 'Order', op: 'count' } })
    expect(names(r.violations)).toEqual(['noCrossTenantData'])
  })

  it('noCrossTenantData catches a dropped restrictive rule under the bypass', async () => {
    const h = await harness(db(), restrictiveDropped(), NOT_NULL_TENANT)
    const r = await h.run(as(SUPER), { tool: 'db_get', args: { model: 'Order', id: ORDER_NO_TENANT } })
    expect(names(r.violations)).toEqual(['noCrossTenantData'])
  })

  it('noDeniedFields catches a denied field at depth', async () => {
    const h = await harness(db(), passwordAllowed(), DEMO)
    const r = await h.run(as(ALICE), {
      tool: 'db_query',
      args: {
        model: 'Customer',
        select: ['id'],
        include: { owner: {} },
        where: { field: 'id', op: 'eq', value: CUSTOMER_A1 },
      },
    })
    expect(names(r.violations)).toEqual(['noDeniedFields'])
    expect(r.violations[0]).toMatchObject({ field: 'password_hash', path: 'rows[0].owner', model: 'User' })
  })

  it('maskedFieldsMasked catches a raw value of a masked field', async () => {
    const h = await harness(db(), emailUnmasked(), DEMO)
    const r = await h.run(as(ALICE), {
      tool: 'db_get',
      args: { model: 'Customer', id: CUSTOMER_A1, select: ['email'] },
    })
    expect(names(r.violations)).toEqual(['maskedFieldsMasked'])
    expect(r.violations[0]?.field).toBe('email')
  })

  it('withinBudget catches a page larger than the reference budget allows', async () => {
    const tight: any = structuredClone(DEMO)
    tight.models.Order.budget = { maxRows: 2 }
    const h = await harness(db(), DEMO, tight)
    const r = await h.run(as(ALICE), { tool: 'db_query', args: { model: 'Order', select: ['id'] } })
    expect(names(r.violations)).toEqual(['withinBudget'])
  })

  it('everyCallAudited catches a call that left no audit record', async () => {
    // Drops the records of calls that change nothing (reads hand their record to `record`).
    class LossyAuditStore extends MemoryAuditStore {
      override async record(): Promise<void> {}
    }
    const lossy = new LossyAuditStore()
    const h = await harness(db(), DEMO, DEMO, lossy)
    const r = await h.run(as(ALICE), { tool: 'db_query', args: { model: 'Order', select: ['id'] } })
    expect(names(r.violations)).toEqual(['everyCallAudited'])
    expect(r.violations[0]?.message).toMatch(/left 0 audit records/)
  })

  it('runs a user-written invariant function and reports its violations', async () => {
    const noPaidOrders: InvariantFunction = (_ctx, outcome) =>
      JSON.stringify(outcome.result).includes('"paid"')
        ? [{ invariant: 'noPaidOrders', message: 'a paid order was returned', tool: outcome.call.tool }]
        : []
    const r = await correct.run(as(ALICE), {
      tool: 'db_query',
      args: { model: 'Order', select: ['status'] },
      invariants: [noPaidOrders],
    })
    expect(r.violations.map((v) => v.invariant)).toEqual(['noPaidOrders'])
  })

  it('writesStayInScope catches a create that plants a foreign key to another tenant', async () => {
    const h = await harness(db(), customersUnscoped(), DEMO)
    const r = await h.run(as(ALICE), {
      tool: 'db_create',
      args: { model: 'Order', data: { customer_id: CUSTOMER_B1 }, reason: 'eval' },
    })
    expect(r.result.ok).toBe(true)
    expect(names(r.violations)).toEqual(['writesStayInScope'])
    expect(r.violations[0]).toMatchObject({ field: 'customer_id', model: 'Order' })
  })

  it("writesStayInScope catches an update of another tenant's row", async () => {
    const h = await harness(db(), ordersUnscoped(), DEMO)
    const r = await h.run(as(ALICE), {
      tool: 'db_update',
      args: { model: 'Order', id: ORDER_B2, data: { status: 'cancelled' }, reason: 'eval' },
    })
    expect(r.result.ok).toBe(true)
    expect(names(r.violations)).toEqual(['noCrossTenantData', 'writesStayInScope'])
    expect(r.violations.find((v) => v.invariant === 'writesStayInScope')?.message).toContain(
      `${ORDER_B2}"] outside the principal's scope was modified`,
    )
  })
})
