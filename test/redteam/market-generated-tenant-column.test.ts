/**
 * Red team, marketplace round: a tenant column the database computes — `shop_id uuid generated always as
 * ((meta->>'shop')::uuid) stored` — so the caller decides the row's tenant through a column it may write. The
 * planner cannot know the generated value before the write (its in-memory WITH CHECK sees only `meta`), so a
 * create or update that names another shop in `meta` must be refused by the statement's own check on the row
 * as written; with writes now deciding themselves in one statement (docs/decisions.md), nothing else would.
 * Held, and kept so: nothing is planted into shop B, and shop A's row does not move there.
 */
import { sql } from 'kysely'
import { beforeAll, expect, it } from 'vitest'
import { APP_ROLE, describeEachDatabase } from '../support/databases.ts'
import { SHOP_A, SHOP_B } from '../support/market.ts'
import { callError, type ToolsetHarness, toolsetFor } from '../support/toolset.ts'

const A = { principal: { tenantId: SHOP_A, userId: 'seller-a' } }

describeEachDatabase('red team: a generated tenant column', (db) => {
  let h: ToolsetHarness

  beforeAll(async () => {
    const admin = db().admin
    await sql`create schema gen`.execute(admin)
    await sql`grant usage on schema gen to ${sql.id(APP_ROLE)}`.execute(admin)
    await sql`create table gen.items (
      id int primary key, meta jsonb not null, body text,
      shop_id uuid generated always as ((meta->>'shop')::uuid) stored
    )`.execute(admin)
    await sql`grant select, insert, update, delete on gen.items to ${sql.id(APP_ROLE)}`.execute(admin)
    await sql`insert into gen.items (id, meta, body) values (1, ${JSON.stringify({ shop: SHOP_A })}, 'a'),
      (2, ${JSON.stringify({ shop: SHOP_B })}, 'b')`.execute(admin)
    h = await toolsetFor(
      db(),
      {
        models: {
          Item: {
            table: 'gen.items',
            scoping: { shop_id: 'principal.tenantId' },
            fields: {
              id: { action: 'allow', acceptGlobalUnique: true },
              meta: 'allow',
              shop_id: 'allow',
              body: 'allow',
            },
            write: { create: 'allow', update: 'allow' },
          },
        },
      },
      { schemas: ['gen'] },
    )
  })

  it('refuses a create or update whose generated tenant is another shop, and writes its own', async () => {
    const planted = { model: 'Item', data: { id: 3, meta: { shop: SHOP_B }, body: 'planted' } }
    const moved = { model: 'Item', id: 1, data: { meta: { shop: SHOP_B } } }
    for (const [tool, args] of [
      ['db_create', planted],
      ['db_update', moved],
    ] as const) {
      expect((await callError(h, A, tool, args)).code, tool).toBe('VALIDATION_ERROR')
    }
    expect((await callError(h, A, 'db_update', { model: 'Item', id: 2, data: { body: 'x' } })).code).toBe(
      'NOT_FOUND',
    )
    const own = await h.toolset.create(A, {
      model: 'Item',
      data: { id: 4, meta: { shop: SHOP_A }, body: 'ok' },
    })
    expect(own.row['shop_id']).toBe(SHOP_A)
    const rows = await sql<{
      id: number
      shop_id: string
      body: string
    }>`select id, shop_id, body from gen.items order by id`.execute(db().admin)
    expect(rows.rows).toEqual([
      { id: 1, shop_id: SHOP_A, body: 'a' },
      { id: 2, shop_id: SHOP_B, body: 'b' },
      { id: 4, shop_id: SHOP_A, body: 'ok' },
    ])
  })
})
