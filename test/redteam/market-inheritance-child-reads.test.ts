/**
 * Red team, marketplace schema: reads of a table that gains an inheritance child AFTER the toolset was built
 * (`create table c () inherits (t)`). PostgreSQL lists a child's rows as the parent's; the child inherits the
 * columns (so the tenant column and its NOT NULL) but not the primary key, so a key can name two rows. Writes
 * refuse such a key (market-result-columns.test.ts). What reads do, on both engines:
 * - tenant scoping holds: the predicate is on the inherited tenant column, so a child row is scoped like any
 *   other, and another tenant's child rows never show;
 * - a key the child repeats is two rows: `query` lists both, `get` answers one of them (fetch limit 1);
 * - keyset pages: a cursor positioned on a repeated key skips the second row of that key (the "after"
 *   predicate is strictly greater), so paging can miss a child row of one's own tenant; no row of another
 *   tenant can appear.
 */
import { sql } from 'kysely'
import { beforeAll, expect, it } from 'vitest'
import { APP_ROLE } from '../support/databases.ts'
import { describeEachDatabase } from '../support/databases.ts'
import { loadMarket, marketPolicy, SELLER_A, SELLER_B, SHOP_A, SHOP_B } from '../support/market.ts'
import { type ToolsetHarness, toolsetFor } from '../support/toolset.ts'

describeEachDatabase(
  'red team on the marketplace schema: reads through a parent that gained a child',
  (db) => {
    let h: ToolsetHarness

    beforeAll(async () => {
      await loadMarket(db())
      // `app` whatever the suite's: the harness would re-bind an rls policy after the schema changed.
      h = await toolsetFor(db(), marketPolicy(), { schemas: ['Mkt'], enforcement: 'app' })
      const admin = db().admin
      await sql`create table "Mkt".listing_archive () inherits ("Mkt"."Listing")`.execute(admin)
      await sql`grant select, insert, update, delete on "Mkt".listing_archive to ${sql.id(APP_ROLE)}`.execute(
        admin,
      )
      await sql`insert into "Mkt".listing_archive ("shopId", "listingNo", title, status, "order")
      values (${SHOP_A}, 1, 'A boots archived', 'live', 10), (${SHOP_B}, 7, 'B archived secret', 'live', 70)`.execute(
        admin,
      )
    })

    it('scopes a child’s rows by the inherited tenant column: each tenant sees only its own', async () => {
      const a = await h.toolset.query(SELLER_A, {
        model: 'Listing',
        select: ['shopId', 'listingNo', 'title'],
      })
      expect(a.rows.map((r) => [r['listingNo'], r['title']]).sort()).toEqual([
        [1, 'A boots'],
        [1, 'A boots archived'],
        [2, 'A sandals'],
      ])
      expect(a.rows.every((r) => r['shopId'] === SHOP_A)).toBe(true)
      const b = await h.toolset.query(SELLER_B, {
        model: 'Listing',
        select: ['shopId', 'listingNo', 'title'],
      })
      expect(b.rows.map((r) => r['title']).sort()).toEqual(['B archived secret', 'B boots'])
      const count = await h.toolset.aggregate(SELLER_A, { model: 'Listing', op: 'count' })
      expect(count).toEqual({ value: 3 })
      const category = await h.toolset.get(SELLER_A, {
        model: 'Category',
        id: 2,
        include: { listings: { select: ['shopId', 'title'] } },
      })
      expect(JSON.stringify(category.row)).not.toContain('B archived')
    })

    it('answers a get of a key the child repeats with one of the tenant’s two rows', async () => {
      const one = await h.toolset.get(SELLER_A, { model: 'Listing', id: { shopId: SHOP_A, listingNo: 1 } })
      expect(['A boots', 'A boots archived']).toContain(one.row['title'])
      expect(one.row['shopId']).toBe(SHOP_A)
      const other = await h.toolset.call(SELLER_B, 'db_get', {
        model: 'Listing',
        id: { shopId: SHOP_A, listingNo: 1 },
      })
      expect(other.ok ? other.data : other.error.code).toBe('NOT_FOUND')
    })

    it('pages by key past a repeated key without the second row, and never into another tenant', async () => {
      const seen: unknown[] = []
      let cursor: string | undefined
      do {
        const page = await h.toolset.query(SELLER_A, {
          model: 'Listing',
          select: ['shopId', 'listingNo', 'title'],
          orderBy: [{ field: 'listingNo', direction: 'asc' }],
          limit: 1,
          ...(cursor === undefined ? {} : { cursor }),
        })
        for (const r of page.rows) seen.push([r['shopId'], r['listingNo']])
        cursor = page.nextCursor ?? undefined
      } while (cursor !== undefined)
      expect(seen).toEqual([
        [SHOP_A, 1],
        [SHOP_A, 2],
      ])
    })
  },
)
