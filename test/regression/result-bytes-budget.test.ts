/**
 * budget.maxResultBytes (red team, marketplace round: budgets bounded rows, not their size, so a table of large
 * values let one call materialise maxResultRows × row size in Node). A read statement counts the bytes of the
 * rows it sends and refuses itself past the budget (src/sql/print-result-budget.ts); a write's returned rows
 * are counted inside its transaction (src/executor/write-result-bytes.ts). Both answer QUERY_BUDGET_EXCEEDED
 * naming the budget, and the audit records the refusal.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js'
import { sql } from 'kysely'
import { pino } from 'pino'
import { beforeAll, beforeEach, expect, it } from 'vitest'
import type { PolicyInput } from '../../src/policy/policy-schema.ts'
import { createMcpServer } from '../../src/mcp/index.ts'
import { describeEachDatabase } from '../support/databases.ts'
import { callTool, errorCode } from '../support/mcp.ts'
import { loadMarket, marketPolicy, SELLER_A, SHOP_A } from '../support/market.ts'
import { callError, type ToolsetHarness, toolsetFor } from '../support/toolset.ts'

const BUDGET = 4_096
/** Two live listings of shop A with 3,000-byte titles: one fits the budget, both do not. */
const TITLE = 3_000

describeEachDatabase('budget.maxResultBytes bounds what one call returns', (db) => {
  let h: ToolsetHarness

  beforeAll(async () => {
    await loadMarket(db())
    const policy: PolicyInput = structuredClone(marketPolicy())
    policy.defaults = { budget: { maxResultBytes: BUDGET } }
    const listing = (policy.models as Record<string, { aggregations?: unknown }>)['Listing']
    if (listing !== undefined) listing.aggregations = { fields: ['price'], groupBy: ['status', 'title'] }
    h = await toolsetFor(db(), policy, { schemas: ['Mkt'] })
  })

  beforeEach(async () => {
    await sql`update "Mkt"."Listing" set "order" = "listingNo",
      title = repeat(case when "listingNo" = 1 then 'é' else 'è' end, ${TITLE / 2})
      where "shopId" = ${SHOP_A}`.execute(db().admin)
  })

  it('refuses a page whose rows weigh more than the budget, naming the budget and how to raise it', async () => {
    const error = await callError(h, SELLER_A, 'db_query', {
      model: 'Listing',
      select: ['listingNo', 'title'],
    })
    expect(error.code).toBe('QUERY_BUDGET_EXCEEDED')
    expect(error.message).toContain('budget.maxResultBytes')
    expect(error.details).toMatchObject({
      budgetType: 'max_result_bytes',
      budget: 'maxResultBytes',
      limit: BUDGET,
    })
    expect(JSON.stringify(error.hints)).toContain('raise `budget.maxResultBytes`')
    const record = h.audit.all().at(-1)
    expect(record).toMatchObject({ outcome: 'denied', errorCode: 'QUERY_BUDGET_EXCEEDED', action: 'read' })
  })

  it('serves rows that fit: one title, or both listings without it', async () => {
    const both = await h.toolset.query(SELLER_A, { model: 'Listing', select: ['listingNo', 'price'] })
    expect(both.rows.map((r) => r['listingNo'])).toEqual([1, 2])
    const got = await h.toolset.get(SELLER_A, { model: 'Listing', id: { shopId: SHOP_A, listingNo: 2 } })
    expect(String(got.row['title'])).toHaveLength(TITLE / 2)
  })

  it('refuses a get whose one row weighs more than the budget', async () => {
    await sql`update "Mkt"."Listing" set title = repeat('x', ${BUDGET + 1})
      where "shopId" = ${SHOP_A} and "listingNo" = 2`.execute(db().admin)
    const error = await callError(h, SELLER_A, 'db_get', {
      model: 'Listing',
      id: { shopId: SHOP_A, listingNo: 2 },
    })
    expect(error.code).toBe('QUERY_BUDGET_EXCEEDED')
    expect(error.details).toMatchObject({ budget: 'maxResultBytes', limit: BUDGET })
    const narrow = await h.toolset.get(SELLER_A, {
      model: 'Listing',
      id: { shopId: SHOP_A, listingNo: 2 },
      select: ['listingNo', 'status'],
    })
    expect(narrow.row).toEqual({ listingNo: 2, status: 'draft' })
  })

  it('counts included rows: categories that each fit are refused once their listings add up', async () => {
    const bare = await h.toolset.query(SELLER_A, { model: 'Category', select: ['id', 'name'] })
    expect(bare.rows.length).toBeGreaterThan(1)
    const error = await callError(h, SELLER_A, 'db_query', {
      model: 'Category',
      select: ['id'],
      include: { listings: { select: ['title'] } },
    })
    expect(error.code).toBe('QUERY_BUDGET_EXCEEDED')
    expect(error.details).toMatchObject({ budget: 'maxResultBytes' })
    expect(h.audit.all().at(-1)).toMatchObject({ outcome: 'denied', errorCode: 'QUERY_BUDGET_EXCEEDED' })
    const narrow = await h.toolset.query(SELLER_A, {
      model: 'Category',
      select: ['id'],
      include: { listings: { select: ['listingNo'] } },
    })
    expect(narrow.rows.length).toBe(bare.rows.length)
  })

  it('counts aggregate groups: group keys as large as any value are refused past the budget', async () => {
    const error = await callError(h, SELLER_A, 'db_aggregate', {
      model: 'Listing',
      op: 'count',
      groupBy: ['title'],
    })
    expect(error.code).toBe('QUERY_BUDGET_EXCEEDED')
    const byStatus = await h.toolset.call(SELLER_A, 'db_aggregate', {
      model: 'Listing',
      op: 'count',
      groupBy: ['status'],
    })
    expect(byStatus.ok).toBe(true)
  })

  it('refuses a write whose returned rows weigh more than the budget, and rolls it back', async () => {
    const error = await callError(h, SELLER_A, 'db_bulk_update', {
      model: 'Listing',
      ids: [
        { shopId: SHOP_A, listingNo: 1 },
        { shopId: SHOP_A, listingNo: 2 },
      ],
      data: { order: 40 },
    })
    expect(error.code).toBe('QUERY_BUDGET_EXCEEDED')
    expect(error.details).toMatchObject({ budget: 'maxResultBytes', limit: BUDGET })
    expect(h.audit.all().at(-1)).toMatchObject({ errorCode: 'QUERY_BUDGET_EXCEEDED', action: 'bulk_update' })
    const orders = await sql<{ order: number }>`select "order" from "Mkt"."Listing"
      where "shopId" = ${SHOP_A} order by "listingNo"`.execute(db().admin)
    expect(orders.rows.map((r) => r.order)).toEqual([1, 2, 3])
  })

  it('answers an MCP client over the budget with QUERY_BUDGET_EXCEEDED, and one within it with the rows', async () => {
    const mcp = await createMcpServer({ toolset: h.toolset, logger: pino({ level: 'silent' }) })
    const [clientSide, serverSide] = InMemoryTransport.createLinkedPair()
    await mcp.protocolServer(SELLER_A).connect(serverSide)
    const client = new Client({ name: 'result-bytes', version: '1.0.0' })
    await client.connect(clientSide)
    try {
      const over = await callTool(client, 'db_query', { model: 'Listing', select: ['listingNo', 'title'] })
      expect(errorCode(over)).toBe('QUERY_BUDGET_EXCEEDED')
      expect(over.text).toContain('budget.maxResultBytes')
      const within = await callTool(client, 'db_query', { model: 'Listing', select: ['listingNo'] })
      expect(within.isError).toBe(false)
      expect(within.structured?.['rows']).toEqual([{ listingNo: 1 }, { listingNo: 2 }])
    } finally {
      await client.close()
    }
  })
})
