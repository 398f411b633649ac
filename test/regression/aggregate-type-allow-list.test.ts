/**
 * Regression (second red-team pass): min/max and groupBy checked the column type against a deny-list.
 * - min/max over a point reached PostgreSQL, which has no such aggregate: INTERNAL_ERROR for a caller mistake;
 * - max over an interval answered "[object Object]", max over a text[] its bare element ("z" for {z});
 * - groupBy over json (not jsonb) or point failed in PostgreSQL (no equality operator): INTERNAL_ERROR.
 * min/max now take an allow-list of types, and group keys must have an order, like orderBy. describe_schema and
 * tools(ctx) say `sortable` only where the planner lets a field be sorted.
 */
import { sql } from 'kysely'
import { beforeAll, expect, it } from 'vitest'
import { describeEachDatabase } from '../support/databases.ts'
import { ALICE, as } from '../support/saas.ts'
import { type ToolsetHarness, toolsetFor } from '../support/toolset.ts'
import { orderByFields, propertyFor } from '../support/tool-schema.ts'

const A = 'a0000000-0000-4000-8000-000000000000'
const ODD = ['spot', 'dur', 'tags', 'doc', 'docb'] as const

describeEachDatabase('regression: aggregates only over types they can carry', (db) => {
  let h: ToolsetHarness
  beforeAll(async () => {
    await sql`create table oddities (id integer primary key, tenant_id uuid not null, name text,
      spot point, dur interval, tags text[], doc json, docb jsonb)`.execute(db().admin)
    await sql`grant select on oddities to tessera_app`.execute(db().admin)
    await sql`insert into oddities values
      (1, ${A}, 'a', '(1,2)', '1 day', '{z}', '{"a":1}', '{"a":1}'),
      (2, ${A}, 'b', '(3,4)', '2 days', '{y}', '{"a":2}', '{"a":2}')`.execute(db().admin)
    h = await toolsetFor(db(), {
      models: {
        Oddity: {
          table: 'oddities',
          fields: { id: 'allow', name: 'allow', ...Object.fromEntries(ODD.map((f) => [f, 'allow'])) },
          scoping: { tenant_id: 'principal.tenantId' },
          aggregations: { fields: ['name', ...ODD], groupBy: ['name', ...ODD] },
        },
      },
    })
  })

  it.each(ODD.flatMap((field) => ['min', 'max'].map((op) => [op, field])))(
    'refuses %s over the %s field with VALIDATION_ERROR before any SQL',
    async (op, field) => {
      h.queries.length = 0
      const r = await h.toolset.call(as(ALICE), 'db_aggregate', { model: 'Oddity', op, field })
      expect(r).toMatchObject({ ok: false, error: { code: 'VALIDATION_ERROR' } })
      expect(h.queries).toEqual([])
    },
  )

  it.each(ODD)('refuses to group by the %s field with VALIDATION_ERROR before any SQL', async (field) => {
    h.queries.length = 0
    const r = await h.toolset.call(as(ALICE), 'db_aggregate', {
      model: 'Oddity',
      op: 'count',
      groupBy: [field],
    })
    expect(r).toMatchObject({ ok: false, error: { code: 'VALIDATION_ERROR' } })
    expect(h.queries).toEqual([])
  })

  it('still counts them, and takes min/max and groups over text', async () => {
    expect(await h.toolset.aggregate(as(ALICE), { model: 'Oddity', op: 'count', field: 'spot' })).toEqual({
      value: 2,
    })
    expect(await h.toolset.aggregate(as(ALICE), { model: 'Oddity', op: 'max', field: 'name' })).toEqual({
      value: 'b',
    })
    const groups = await h.toolset.aggregate(as(ALICE), { model: 'Oddity', op: 'count', groupBy: ['name'] })
    expect(groups).toEqual({
      groups: [
        { key: { name: 'a' }, value: 1 },
        { key: { name: 'b' }, value: 1 },
      ],
    })
  })

  it('describes the odd fields as neither sortable nor groupable, and lists none of them as orderBy fields', async () => {
    const oddity = (await h.toolset.describeSchema(as(ALICE))).models['Oddity']
    expect(oddity?.aggregations.groupBy).toEqual(['name'])
    const fields = oddity?.fields ?? {}
    for (const f of ODD) expect(fields[f], f).toMatchObject({ sortable: false, filterable: true })
    expect(fields['name']).toMatchObject({ sortable: true })
    const query = h.toolset.tools(as(ALICE)).find((t) => t.name === 'db_query')
    expect(orderByFields(query, 'Oddity')).toEqual(['id', 'name'])
    const aggregate = h.toolset.tools(as(ALICE)).find((t) => t.name === 'db_aggregate')
    const groupBy = propertyFor(aggregate, 'groupBy', 'Oddity') as { items?: { enum?: unknown } } | undefined
    expect(groupBy?.items?.enum).toEqual(['name'])
  })
})
