/**
 * Red team, marketplace schema (test/support/market.ts): an include is a JSON subquery, and Kysely's helpers
 * print it with the row's bare alias — `(select coalesce(json_agg(agg), '[]') from (…) as agg)` and
 * `(select to_json(obj) from (…) as obj)`. PostgreSQL reads a bare name as a column before a table, at any
 * query level, whatever the policy says of that column. A host column called `obj` or `agg` therefore took the
 * row's place:
 * - a listing's DENIED jsonb column `obj` was read as the included category, so its keys came back as the
 *   category's fields (`{ id: 999, name: 'secret' }`);
 * - a category's MASKED column `agg` was aggregated instead of its listings (one raw value per category, shaped
 *   into rows of nulls), and an include of listings failed with INTERNAL_ERROR.
 * Includes now name the row as a whole (`agg.*`), which no column can capture. Held and kept: a relation named
 * like a masked jsonb column of the same row (`category`, `parent`) returns the related row, never that JSON.
 */
import { sql } from 'kysely'
import { beforeAll, expect, it } from 'vitest'
import type { PolicyInput } from '../../src/policy/policy-schema.ts'
import { describeEachDatabase } from '../support/databases.ts'
import { loadMarket, marketPolicy, SELLER_A, SHOP_A } from '../support/market.ts'
import { type ToolsetHarness, toolsetFor } from '../support/toolset.ts'

const DENIED = { id: 999, name: 'denied-obj-secret', parent_id: 998 }

describeEachDatabase('red team on the marketplace schema: includes and columns named like the row', (db) => {
  let h: ToolsetHarness

  beforeAll(async () => {
    await loadMarket(db())
    await sql`alter table "Mkt"."Listing" add column obj jsonb`.execute(db().admin)
    await sql`update "Mkt"."Listing" set obj = ${JSON.stringify(DENIED)}::jsonb`.execute(db().admin)
    await sql`alter table "Mkt".categories add column agg int`.execute(db().admin)
    await sql`update "Mkt".categories set agg = 4242`.execute(db().admin)
    await sql`alter table "Mkt".categories add column parent jsonb`.execute(db().admin)
    await sql`update "Mkt".categories set parent = '{"id": 777, "name": "masked-json-secret"}'`.execute(
      db().admin,
    )
    const policy: PolicyInput = structuredClone(marketPolicy())
    const models = policy.models as unknown as Record<string, { fields: Record<string, unknown> }>
    ;(models['Listing'] as { fields: Record<string, unknown> }).fields['obj'] = 'deny'
    ;(models['Category'] as { fields: Record<string, unknown> }).fields['agg'] = 'mask'
    ;(models['Category'] as { fields: Record<string, unknown> }).fields['parent'] = 'mask'
    h = await toolsetFor(db(), policy, { schemas: ['Mkt'] })
  })

  it('includes the related row, never a column of the including row that shares the subquery’s alias', async () => {
    const listings = await h.toolset.query(SELLER_A, {
      model: 'Listing',
      select: ['listingNo'],
      include: { category: { select: ['id', 'name', 'parent_id'] } },
    })
    expect(listings.rows).toEqual([
      { listingNo: 1, category: { id: 2, name: 'A shoes', parent_id: 1 } },
      { listingNo: 2, category: { id: 1, name: 'Global root', parent_id: null } },
    ])
    const one = await h.toolset.get(SELLER_A, {
      model: 'Listing',
      id: { shopId: SHOP_A, listingNo: 1 },
      include: { category: true },
    })
    expect(one.row['category']).toEqual({
      id: 2,
      shop_id: SHOP_A,
      parent_id: 1,
      name: 'A shoes',
      agg: '****',
      parent: '****',
    })
    expect(JSON.stringify([listings, one])).not.toContain(DENIED.name)
  })

  it('aggregates the included rows, never a column of the including row named like the aggregate', async () => {
    for (const select of [['listingNo'], ['listingNo', 'title']]) {
      const categories = await h.toolset.query(SELLER_A, {
        model: 'Category',
        select: ['id'],
        include: { listings: { select } },
      })
      expect(categories.rows.map((c) => [c['id'], (c['listings'] as unknown[]).length])).toEqual([
        [1, 1],
        [2, 1],
        [4, 0],
      ])
      expect(JSON.stringify(categories)).not.toContain('4242')
    }
  })

  it('answers a relation named like a masked jsonb column with the related row, never the column', async () => {
    for (const select of [['id'], ['id', 'parent']]) {
      const r = await h.toolset.query(SELLER_A, {
        model: 'Listing',
        select: ['listingNo'],
        include: { category: { select, include: { parent: { select: ['id', 'name'] } } } },
      })
      expect(r.rows).toEqual([
        { listingNo: 1, category: { id: 2, parent: { id: 1, name: 'Global root' } } },
        { listingNo: 2, category: { id: 1, parent: null } },
      ])
      expect(JSON.stringify(r)).not.toContain('masked-json-secret')
    }
  })
})
