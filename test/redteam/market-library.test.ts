/**
 * Red team, marketplace schema (test/support/market.ts), through the library API: the attacks Tessera withstood,
 * kept as table-driven regressions. The schema breaks assumptions the earlier ones did not: a mixed-case schema
 * and table, uuid tenants spelled `"shopId"` and `shop_id`, a tenant column that is NULL on the global rows of
 * a shared table (categories, readable by all through a cross-tenant rule, writable by none), a self-reference
 * that points from one shop's category into another's, soft delete spelled as a restrictive row policy,
 * reserved words and Tessera's own output keys (`rows`, `nextCursor`) as column names, an enum whose labels
 * need quoting, a domain, jsonb and arrays, a generated column and defaults that call functions.
 * Run under `TESSERA_TEST_ENFORCEMENT=rls` or `both`, the same answers must come from the database's policies.
 */
import { sql } from 'kysely'
import { beforeAll, expect, it } from 'vitest'
import type { RunContext } from '../../src/context/index.ts'
import { describeEachDatabase } from '../support/databases.ts'
import { B_SECRET, loadMarket, marketPolicy, SELLER_A, SELLER_B, SHOP_A, SHOP_B } from '../support/market.ts'
import { callError, type ToolsetHarness, toolsetFor } from '../support/toolset.ts'

const LISTING = (shopId: string, listingNo: number) => ({ shopId, listingNo })

describeEachDatabase('red team on the marketplace schema: library API', (db) => {
  let h: ToolsetHarness
  const fail = (ctx: RunContext, tool: string, args: unknown) => callError(h, ctx, tool, args)

  beforeAll(async () => {
    await loadMarket(db())
    h = await toolsetFor(db(), marketPolicy(), { schemas: ['Mkt'] })
  })

  it('answers another shop’s, a soft-deleted and a global row exactly like a missing one', async () => {
    const cases: [string, unknown, unknown, Record<string, unknown>][] = [
      ['Listing', LISTING(SHOP_B, 1), LISTING(SHOP_A, 99), { title: 'x' }],
      ['Listing', LISTING(SHOP_A, 3), LISTING(SHOP_A, 99), { title: 'x' }],
      ['Category', 3, 99, { name: 'x' }],
      ['RateCard', { shop_id: SHOP_B, id: 1 }, { shop_id: SHOP_A, id: 99 }, {}],
    ]
    for (const [model, hidden, missing, data] of cases) {
      const tools: [string, Record<string, unknown>][] = [['db_get', {}]]
      if (model !== 'RateCard') tools.push(['db_update', { data }])
      if (model === 'Listing') tools.push(['db_delete', {}])
      for (const [tool, extra] of tools) {
        const a = await fail(SELLER_A, tool, { model, id: hidden, ...extra })
        expect(a, `${tool} ${model} ${JSON.stringify(hidden)}`).toEqual(
          await fail(SELLER_A, tool, { model, id: missing, ...extra }),
        )
        expect(a.code).toBe('NOT_FOUND')
      }
    }
    // The global category is readable by every shop but changes for none: it is not in anyone's write scope.
    expect(await fail(SELLER_A, 'db_update', { model: 'Category', id: 1, data: { name: 'pwn' } })).toEqual(
      await fail(SELLER_A, 'db_update', { model: 'Category', id: 99, data: { name: 'pwn' } }),
    )
    const rows = await sql<{
      name: string
      title: string
    }>`select (select name from "Mkt".categories where id = 1) as name,
      (select title from "Mkt"."Listing" where "shopId" = ${SHOP_B} and "listingNo" = 1) as title`.execute(
      db().admin,
    )
    expect(rows.rows[0]).toEqual({ name: 'Global root', title: 'B boots' })
  })

  it('reads, includes and counts only the caller’s rows and the global ones, whatever the filter says', async () => {
    const q = async (ctx: RunContext, args: Record<string, unknown>) =>
      JSON.stringify((await h.toolset.query(ctx, args)).rows)
    const reads: [RunContext, Record<string, unknown>, string][] = [
      [SELLER_A, { model: 'Listing', select: ['listingNo'] }, '[{"listingNo":1},{"listingNo":2}]'],
      [
        SELLER_A,
        { model: 'Listing', select: ['listingNo'], where: { field: 'shopId', op: 'eq', value: SHOP_B } },
        '[]',
      ],
      [
        SELLER_A,
        {
          model: 'Listing',
          select: ['listingNo'],
          where: {
            or: [
              { field: 'shopId', op: 'in', value: [SHOP_A, SHOP_B] },
              { field: 'title', op: 'startswith', value: 'B' },
            ],
          },
        },
        '[{"listingNo":1},{"listingNo":2}]',
      ],
      [
        SELLER_A,
        {
          model: 'Listing',
          select: ['listingNo'],
          where: { field: 'status', op: 'in', value: ['Sold Out', "it's", 'live'] },
        },
        '[{"listingNo":1}]',
      ],
      [SELLER_A, { model: 'Category', select: ['id'] }, '[{"id":1},{"id":2},{"id":4}]'],
      [SELLER_B, { model: 'Category', select: ['id'] }, '[{"id":1},{"id":3}]'],
      [
        SELLER_A,
        { model: 'Category', select: ['id'], where: { field: 'shop_id', op: 'eq', value: SHOP_B } },
        '[]',
      ],
      // A's category under B's parent: the include is empty, as for a missing parent.
      [
        SELLER_A,
        {
          model: 'Category',
          select: ['id'],
          where: { field: 'id', op: 'eq', value: 4 },
          include: { parent: true },
        },
        '[{"id":4,"parent":null}]',
      ],
      // The global category's listings: each shop sees its own only.
      [
        SELLER_B,
        {
          model: 'Category',
          select: ['id'],
          where: { field: 'id', op: 'in', value: [1, 3] },
          include: { listings: { select: ['shopId', 'listingNo'] } },
        },
        `[{"id":1,"listings":[]},{"id":3,"listings":[{"shopId":"${SHOP_B}","listingNo":1}]}]`,
      ],
      // Columns named by reserved words and by Tessera's own output keys come back as the row's own values.
      [
        SELLER_A,
        { model: 'Listing', select: ['select', 'order', 'user', 'from', 'rows', 'nextCursor'], limit: 1 },
        '[{"select":"sel-a1","order":1,"user":"u-a","from":"2026-01-01","rows":7,"nextCursor":"nc-a1"}]',
      ],
    ]
    for (const [ctx, args, expected] of reads) expect(await q(ctx, args), JSON.stringify(args)).toBe(expected)
    expect(await h.toolset.aggregate(SELLER_A, { model: 'Category', op: 'count' })).toEqual({ value: 3 })
    expect(
      await h.toolset.aggregate(SELLER_A, {
        model: 'Listing',
        op: 'sum',
        field: 'price',
        groupBy: ['status'],
      }),
    ).toEqual({
      groups: [
        { key: { status: 'draft' }, value: '20.00' },
        { key: { status: 'live' }, value: '10.00' },
      ],
    })
    const all = JSON.stringify(
      await h.toolset.query(SELLER_A, {
        model: 'Listing',
        include: { category: { include: { parent: true } } },
      }),
    )
    for (const leak of [B_SECRET, SHOP_B, 'B secret line', 'A deleted', '4.00', 'a-note']) {
      expect(all).not.toContain(leak)
    }
  })

  it('refuses writes that would plant into another shop, the global rows, or hide a row behind soft delete', async () => {
    const refusals: [string, Record<string, unknown>, string][] = [
      ['db_create', { model: 'Category', data: { name: 'x', shop_id: SHOP_B } }, 'VALIDATION_ERROR'],
      ['db_create', { model: 'Category', data: { name: 'x', shop_id: null } }, 'VALIDATION_ERROR'],
      ['db_update', { model: 'Category', id: 2, data: { shop_id: null } }, 'VALIDATION_ERROR'],
      ['db_update', { model: 'Category', id: 2, data: { parent_id: 3 } }, 'NOT_FOUND'],
      [
        'db_create',
        { model: 'Listing', data: { listingNo: 20, title: 't', shopId: SHOP_B } },
        'VALIDATION_ERROR',
      ],
      ['db_create', { model: 'Listing', data: { listingNo: 20, title: 't', category_id: 3 } }, 'NOT_FOUND'],
      [
        'db_create',
        { model: 'Listing', data: { listingNo: 20, title: 't', price_cents: 5 } },
        'VALIDATION_ERROR',
      ],
      ['db_create', { model: 'Listing', data: { listingNo: 20, title: 't', cost: 1 } }, 'FIELD_NOT_ALLOWED'],
      [
        'db_create',
        { model: 'Listing', data: { listingNo: 20, title: 't', deleted_at: '2026-01-01T00:00:00Z' } },
        'VALIDATION_ERROR',
      ],
      [
        'db_update',
        { model: 'Listing', id: LISTING(SHOP_A, 2), data: { deleted_at: '2026-01-01T00:00:00Z' } },
        'VALIDATION_ERROR',
      ],
      [
        'db_update',
        { model: 'Listing', id: LISTING(SHOP_A, 1), data: { listingNo: 50 } },
        'VALIDATION_ERROR',
      ],
      ['db_query', { model: 'Listing', where: { field: 'cost', op: 'gt', value: 1 } }, 'FIELD_NOT_ALLOWED'],
      [
        'db_query',
        { model: 'Listing', where: { field: 'sku', op: 'eq', value: 'A-1' } },
        'FIELD_NOT_ALLOWED',
      ],
      [
        'db_query',
        { model: 'Listing', where: { field: 'status', op: 'eq', value: 'nope' } },
        'VALIDATION_ERROR',
      ],
      [
        'db_query',
        { model: 'Listing', where: { field: 'shopId', op: 'eq', value: 'zzz' } },
        'VALIDATION_ERROR',
      ],
      ['db_query', { model: 'Listing', orderBy: [{ field: 'attrs', direction: 'asc' }] }, 'VALIDATION_ERROR'],
    ]
    for (const [tool, args, code] of refusals) {
      expect((await fail(SELLER_A, tool, args)).code, `${tool} ${JSON.stringify(args)}`).toBe(code)
    }
    // A reference to B's category and to none answer alike.
    expect(await fail(SELLER_A, 'db_update', { model: 'Category', id: 2, data: { parent_id: 3 } })).toEqual(
      await fail(SELLER_A, 'db_update', { model: 'Category', id: 2, data: { parent_id: 99 } }),
    )
    const state = await sql<{
      n: number
    }>`select count(*)::int as n from "Mkt"."Listing" where "listingNo" = 20 or deleted_at = '2026-01-01T00:00:00Z'`.execute(
      db().admin,
    )
    expect(state.rows[0]?.n).toBe(0)
    // A shop's create lands in its own shop, with the function defaults filled.
    const created = (await h.toolset.create(SELLER_B, {
      model: 'Category',
      data: { name: 'B new', parent_id: 1 },
    })) as { row: Record<string, unknown> }
    expect(created.row).toMatchObject({ shop_id: SHOP_B, parent_id: 1, name: 'B new' })
    expect(
      JSON.stringify(await h.toolset.query(SELLER_A, { model: 'Category', select: ['name'] })),
    ).not.toContain('B new')
  })

  it('binds a cursor to the shop, the spelling of its id and the request shape', async () => {
    const args = {
      model: 'Listing',
      select: ['listingNo'],
      limit: 1,
      orderBy: [{ field: 'from', direction: 'asc' }],
    }
    const first = await h.toolset.query(SELLER_A, args)
    expect(first.rows).toEqual([{ listingNo: 1 }])
    const cursor = first.nextCursor
    expect(typeof cursor).toBe('string')
    const upper: RunContext = { principal: { ...SELLER_A.principal, tenantId: SHOP_A.toUpperCase() } }
    // Another spelling of the shop's uuid is refused before any cursor is read (docs/decisions.md, "A principal
    // names its tenant in the column's canonical text").
    expect((await fail(upper, 'db_query', { ...args, cursor })).code).toBe('TENANT_SCOPE_REQUIRED')
    for (const [ctx, replay] of [
      [SELLER_B, args],
      [SELLER_A, { ...args, select: ['listingNo', 'title'] }],
      [
        SELLER_A,
        { ...args, model: 'Category', select: ['id'], orderBy: [{ field: 'name', direction: 'asc' }] },
      ],
    ] as const) {
      expect((await fail(ctx, 'db_query', { ...replay, cursor })).code).toBe('INVALID_CURSOR')
    }
    // NULL `from` sorts last: the second page is listing 2, then nothing.
    const second = await h.toolset.query(SELLER_A, { ...args, cursor })
    expect(second.rows).toEqual([{ listingNo: 2 }])
    expect(second.nextCursor).toBeNull()
  })
})
