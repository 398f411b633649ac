/**
 * Regression (issue 9, item 5): with `maxEstimatedCost` set, the same filter was refused or allowed depending on
 * how many rows *other tenants* held with the filtered value, because the guard judged the custom plan, whose
 * estimate comes from the value's table-wide statistics. The guard now judges the generic plan (values as
 * parameters): one answer per statement shape, whatever the values and whoever holds them.
 */
import { CompiledQuery, sql } from 'kysely'
import { beforeAll, expect, it } from 'vitest'
import { estimateCost } from '../../src/executor/explain-cost.ts'
import { markPrinted } from '../../src/sql/printed-statement.ts'
import { describeEachDatabase } from '../support/databases.ts'
import { ALICE, as, TENANT_A, TENANT_B } from '../support/saas.ts'
import { type ToolsetHarness, toolsetFor } from '../support/toolset.ts'

const BUDGET = 100

/** What the guard used to judge: the plan made for these values. */
async function customPlanCost(
  admin: Parameters<typeof estimateCost>[0],
  tenant: string,
  kind: string,
): Promise<number> {
  const result = await admin.executeQuery<{ 'QUERY PLAN': unknown }>(
    CompiledQuery.raw(
      'explain (format json) select id, kind from cost_events where tenant_id = $1 and kind = $2 limit 51',
      [tenant, kind],
    ),
  )
  const raw: unknown = result.rows[0]?.['QUERY PLAN']
  const plan = (typeof raw === 'string' ? JSON.parse(raw) : raw) as { Plan: { 'Total Cost': number } }[]
  return plan[0]?.Plan['Total Cost'] ?? Number.NaN
}

describeEachDatabase('regression: the cost guard judges the generic plan', (db) => {
  let h: ToolsetHarness

  beforeAll(async () => {
    const { admin } = db()
    await sql`
      create table cost_events (
        id serial primary key, tenant_id uuid not null, kind text not null, body text not null default ''
      )`.execute(admin)
    await sql`create index cost_events_kind on cost_events (kind)`.execute(admin)
    // Tenant B holds 20,000 'bulk' rows; tenant A holds five 'rare' ones.
    await sql`
      insert into cost_events (tenant_id, kind)
      select ${TENANT_B}::uuid, 'bulk' from generate_series(1, 20000)`.execute(admin)
    await sql`
      insert into cost_events (tenant_id, kind)
      select ${TENANT_A}::uuid, 'rare' from generate_series(1, 5)`.execute(admin)
    await sql`analyze cost_events`.execute(admin)
    await sql`grant select on cost_events to tessera_app`.execute(admin)
    h = await toolsetFor(
      db(),
      {
        models: {
          Event: {
            table: 'cost_events',
            scoping: { tenant_id: 'principal.tenantId' },
            fields: { id: 'allow', kind: 'allow', body: 'allow' },
            budget: { maxEstimatedCost: BUDGET },
          },
        },
      },
      { costGuard: 'always' },
    )
  }, 120_000)

  it('the custom plans differ by value: cheap for a rare value, expensive for one other tenants hold in bulk', async () => {
    const { admin } = db()
    expect(await customPlanCost(admin, TENANT_A, 'rare')).toBeLessThan(BUDGET)
    expect(await customPlanCost(admin, TENANT_A, 'bulk')).toBeGreaterThan(BUDGET)
  })

  it('the guard estimates the same cost for every value', async () => {
    const { admin } = db()
    const text = 'select id, kind from cost_events where tenant_id = $1 and kind = $2 limit 51'
    // estimateCost explains only statements src/sql printed: these stand in for printed ones.
    const rare = await estimateCost(admin, markPrinted(CompiledQuery.raw(text, [TENANT_A, 'rare'])))
    const bulk = await estimateCost(admin, markPrinted(CompiledQuery.raw(text, [TENANT_A, 'bulk'])))
    expect(rare).toBe(bulk)
    // A query on the admin database (no transaction) left no prepared statement behind.
    const left = await sql<{ n: number }>`
      select count(*)::int as n from pg_prepared_statements where name = 'tessera_cost_probe'`.execute(admin)
    expect(left.rows[0]?.n).toBe(0)
  })

  it('answers a filter the same whether other tenants hold the value rarely or in bulk', async () => {
    const rare = await h.toolset.call(as(ALICE), 'db_query', {
      model: 'Event',
      where: { field: 'kind', op: 'eq', value: 'rare' },
    })
    const bulk = await h.toolset.call(as(ALICE), 'db_query', {
      model: 'Event',
      where: { field: 'kind', op: 'eq', value: 'bulk' },
    })
    const missing = await h.toolset.call(as(ALICE), 'db_query', {
      model: 'Event',
      where: { field: 'kind', op: 'eq', value: 'never-stored' },
    })
    expect(bulk).toEqual(rare)
    expect(missing).toEqual(rare)
    // The generic plan reads half the table for `kind = $1` (two distinct kinds): refused, with the budget named.
    expect(rare).toEqual({
      ok: false,
      error: {
        code: 'QUERY_BUDGET_EXCEEDED',
        message: `Query exceeds budget.maxEstimatedCost, the estimated cost (over ${BUDGET})`,
        hints: ['Add a selective filter or a smaller limit'],
        details: { budgetType: 'estimated_cost', budget: 'maxEstimatedCost', limit: BUDGET },
      },
    })
  })

  it('still runs a key lookup, whose generic plan is an index scan', async () => {
    const r = await h.toolset.call(as(ALICE), 'db_query', {
      model: 'Event',
      where: { field: 'id', op: 'eq', value: 20001 },
    })
    expect(r).toMatchObject({ ok: true, data: { rows: [{ id: 20001, kind: 'rare' }] } })
  })
})
