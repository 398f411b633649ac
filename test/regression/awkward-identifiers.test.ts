/**
 * Regression: with `fieldAction: 'allow'`, a column named `Na"me` or `Dis play` became a field that
 * describe_schema reported as filterable and sortable, and that tools(ctx) offered in its select, filter,
 * order and write enums — yet every request naming it was refused (request names are plain identifiers,
 * src/request/filter-schema.ts). Such a field is now reported consistently: returned in rows, never offered
 * where a request would have to name it. A table whose name needs quoting is refused at definePolicy with a
 * message that says so (docs/decisions.md, "Names that need quoting").
 */
import { sql } from 'kysely'
import { beforeAll, describe, expect, it } from 'vitest'
import { definePolicy } from '../../src/policy/index.ts'
import { describeEachDatabase } from '../support/databases.ts'
import { ALICE, as, TENANT_A } from '../support/saas.ts'
import { toolsetFor, type ToolsetHarness } from '../support/toolset.ts'

const AWKWARD = ['Na"me', 'Dis play']

describeEachDatabase('columns whose names need quoting', (db) => {
  let h: ToolsetHarness
  beforeAll(async () => {
    const admin = db().admin
    await sql`create table awkward_names (
      tenant_id uuid not null, id serial primary key, "Na""me" text, "Dis play" text, "Upper" text)`.execute(
      admin,
    )
    await sql`grant select, insert, update, delete on awkward_names to tessera_app`.execute(admin)
    await sql`grant usage on sequence awkward_names_id_seq to tessera_app`.execute(admin)
    await sql`insert into awkward_names (tenant_id, "Na""me", "Dis play", "Upper")
      values (${TENANT_A}, 'quoted', 'spaced', 'upper')`.execute(admin)
    h = await toolsetFor(db(), {
      defaults: { fieldAction: 'allow' },
      models: {
        Awkward: {
          table: 'awkward_names',
          scoping: { tenant_id: 'principal.tenantId' },
          write: { create: 'allow', update: 'allow', autoSet: { tenant_id: 'principal.tenantId' } },
        },
      },
    })
  })

  it('are described as readable but neither filterable nor sortable', async () => {
    const { models } = await h.toolset.describeSchema(as(ALICE))
    const fields = models['Awkward']?.fields ?? {}
    for (const name of AWKWARD) {
      expect(fields[name]).toMatchObject({ access: 'read', filterable: false, sortable: false })
    }
    expect(fields['Upper']).toMatchObject({ filterable: true, sortable: true })
  })

  it('are never offered in the tools’ input schemas, where a request would have to name them', () => {
    const text = JSON.stringify(h.toolset.tools(as(ALICE)).map((t) => t.inputSchema))
    expect(text).toContain('"Upper"')
    for (const name of AWKWARD) expect(text).not.toContain(JSON.stringify(name))
  })

  it('are still returned in rows, and a filter on a plainly named mixed-case column works', async () => {
    const { rows } = await h.toolset.query(as(ALICE), {
      model: 'Awkward',
      where: { field: 'Upper', op: 'eq', value: 'upper' },
      orderBy: ['Upper'],
    })
    expect(rows).toEqual([
      expect.objectContaining({ 'Na"me': 'quoted', 'Dis play': 'spaced', Upper: 'upper' }),
    ])
  })

  it('are refused in a filter with a validation error on the field’s path', async () => {
    const r = await h.toolset.call(as(ALICE), 'db_query', {
      model: 'Awkward',
      where: { field: 'Na"me', op: 'eq', value: 'quoted' },
    })
    expect(r).toMatchObject({
      ok: false,
      error: { code: 'VALIDATION_ERROR', details: { issues: [{ path: 'where.field' }] } },
    })
  })
})

describe('a table whose name needs quoting', () => {
  it.each(['order items', 'public.order items', 'Order"s'])(
    'is refused at definePolicy, naming the key and why (%s)',
    (table) => {
      expect(() => definePolicy({ models: { Item: { table, shared: true } } })).toThrow(
        expect.objectContaining({
          code: 'POLICY_INVALID',
          message: expect.stringMatching(/models\.Item\.table: .*need quoting .* not supported/),
        }),
      )
    },
  )
})
