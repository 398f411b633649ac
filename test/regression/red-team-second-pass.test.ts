/**
 * Regressions from the second red-team pass: the cost guard's error exposed an estimate drawn from other
 * tenants' statistics; float aggregates returned NaN/Infinity as numbers (JSON nulls); a long sort key made the
 * whole query an INTERNAL_ERROR; a `__proto__` argument became the audit record's prototype; a getter in the
 * arguments ran (and threw) while the audit record was built.
 */
import { sql } from 'kysely'
import { beforeAll, expect, it } from 'vitest'
import { describeEachDatabase } from '../support/databases.ts'
import { ALICE, as, TENANT_A } from '../support/saas.ts'
import { type ToolsetHarness, toolsetFor } from '../support/toolset.ts'

describeEachDatabase('second red-team pass', (db) => {
  let h: ToolsetHarness
  beforeAll(async () => {
    const admin = db().admin
    await sql`create table measurements (id int primary key, kind text not null, v float8)`.execute(admin)
    await sql`insert into measurements values (1, 'a', 'NaN'), (2, 'a', 1.5), (3, 'b', '-Infinity'), (4, 'c', 2)`.execute(
      admin,
    )
    await sql`grant select on measurements to tessera_app`.execute(admin)
    const long = 'x'.repeat(5_000)
    await sql`insert into customers (tenant_id, name, notes) values (${TENANT_A}, 'Long 1', ${long + '1'}), (${TENANT_A}, 'Long 2', ${long + '2'})`.execute(
      admin,
    )
    h = await toolsetFor(
      db(),
      {
        models: {
          Measurement: {
            table: 'measurements',
            shared: true,
            fields: { id: 'allow', kind: 'allow', v: 'allow' },
            aggregations: { fields: ['v'], groupBy: ['kind', 'v'] },
          },
          Customer: {
            table: 'customers',
            unscopedColumns: ['org_id'],
            fields: { id: 'allow', name: 'allow', notes: 'allow' },
            scoping: { tenant_id: 'principal.tenantId' },
          },
          Product: {
            table: 'products',
            shared: true,
            fields: { id: 'allow', name: 'allow' },
            budget: { maxEstimatedCost: 5 },
          },
        },
      },
      { costGuard: 'always' },
    )
  })

  it('refuses an expensive statement without revealing the estimate', async () => {
    const r = await h.toolset.call(as(ALICE), 'db_query', {
      model: 'Product',
      where: { field: 'name', op: 'contains', value: '9' },
    })
    expect(r).toEqual({ ok: false, error: expect.objectContaining({ code: 'QUERY_BUDGET_EXCEEDED' }) })
    if (!r.ok) {
      expect(r.error.details).toEqual({ budgetType: 'estimated_cost', budget: 'maxEstimatedCost', limit: 5 })
    }
  })

  it('returns NaN and infinities from float aggregates as strings, never as JSON nulls', async () => {
    expect(await h.toolset.aggregate(as(ALICE), { model: 'Measurement', op: 'max', field: 'v' })).toEqual({
      value: 'NaN',
    })
    expect(await h.toolset.aggregate(as(ALICE), { model: 'Measurement', op: 'min', field: 'v' })).toEqual({
      value: '-Infinity',
    })
    const groups = await h.toolset.aggregate(as(ALICE), { model: 'Measurement', op: 'count', groupBy: ['v'] })
    expect(JSON.stringify(groups)).toContain('"NaN"')
    expect(JSON.stringify(groups)).toContain('"-Infinity"')
  })

  it('answers a sort key too long for a cursor with a clear VALIDATION_ERROR', async () => {
    const r = await h.toolset.call(as(ALICE), 'db_query', {
      model: 'Customer',
      where: { field: 'name', op: 'startswith', value: 'Long' },
      orderBy: [{ field: 'notes' }],
      limit: 1,
    })
    expect(r).toEqual({ ok: false, error: expect.objectContaining({ code: 'VALIDATION_ERROR' }) })
  })

  it('keeps a __proto__ argument as data in the audit record', async () => {
    await h.toolset.call(
      as(ALICE, 'proto-audit'),
      'db_query',
      JSON.parse('{"model":"Customer","__proto__":{"isAdmin":true}}'),
    )
    const record = (await h.audit.query({})).find((r) => r.requestId === 'proto-audit')
    const inputs = record?.inputs as Record<string, unknown>
    expect(Object.getPrototypeOf(inputs)).toBe(Object.prototype)
    expect((inputs as { isAdmin?: unknown }).isAdmin).toBeUndefined()
    expect(Object.hasOwn(inputs, '__proto__')).toBe(true)
  })

  it('never runs a getter in the arguments, and still audits the refusal', async () => {
    let ran = 0
    const args = {
      model: 'Customer',
      get select(): string[] {
        ran += 1
        throw new Error('getter ran')
      },
    }
    const r = await h.toolset.call(as(ALICE, 'getter-audit'), 'db_query', args)
    expect(r).toEqual({ ok: false, error: expect.objectContaining({ code: 'VALIDATION_ERROR' }) })
    expect(ran).toBe(0)
    const record = (await h.audit.query({})).find((x) => x.requestId === 'getter-audit')
    expect(record).toMatchObject({
      model: 'Customer',
      outcome: 'error',
      inputs: { model: 'Customer', select: '[accessor]' },
    })
  })
})
