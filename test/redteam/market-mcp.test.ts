/**
 * Red team, marketplace schema (test/support/market.ts), through the MCP server: the SDK's Client over real
 * Streamable HTTP, one API key per shop. What the library tests hold must hold where an agent sits: rows whose
 * columns are called `rows`, `nextCursor`, `select` or `order` pass the client's output-schema validation as the
 * row's own values; includes of the global category carry only the caller's listings; another shop's listing,
 * a soft-deleted one and a missing one answer alike; a cursor does not cross shops; nothing denied (the cost,
 * the columns named like Tessera's own, a denied `obj` next to an include) reaches the agent.
 */
import type { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { sql } from 'kysely'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { generateApiKey } from '../../src/mcp/index.ts'
import type { PolicyInput } from '../../src/policy/policy-schema.ts'
import { describeEachDatabase } from '../support/databases.ts'
import { B_SECRET, loadMarket, marketPolicy, SHOP_A, SHOP_B } from '../support/market.ts'
import { callTool, errorCode, listenMcpHttp, type McpHttpHarness } from '../support/mcp.ts'
import { toolsetFor } from '../support/toolset.ts'

const DENIED = 'denied-obj-text'

describeEachDatabase('red team on the marketplace schema: MCP over Streamable HTTP', (db) => {
  let harness: McpHttpHarness
  const keys = { a: generateApiKey(), b: generateApiKey() }
  // tools/list first: the client then validates every result against the tools' output schemas.
  const connect = (key: string): Promise<Client> => harness.connect(key, { listTools: true })

  beforeAll(async () => {
    await loadMarket(db())
    await sql`alter table "Mkt"."Listing" add column obj jsonb`.execute(db().admin)
    await sql`update "Mkt"."Listing" set obj = ${JSON.stringify({ id: 999, name: DENIED })}::jsonb`.execute(
      db().admin,
    )
    const policy: PolicyInput = structuredClone(marketPolicy())
    ;(policy.models['Listing'] as unknown as { fields: Record<string, unknown> }).fields['obj'] = 'deny'
    const h = await toolsetFor(db(), policy, { schemas: ['Mkt'] })
    harness = await listenMcpHttp({
      toolset: h.toolset,
      db: db().app,
      keys: [
        { id: 'shop-a', key: keys.a, principal: { tenantId: SHOP_A, roles: ['seller'] } },
        { id: 'shop-b', key: keys.b, principal: { tenantId: SHOP_B, roles: ['seller'] } },
      ],
      auth: { rateLimits: { tenant: { burst: 1000, perSecond: 1000 } } },
    })
  })

  afterAll(async () => {
    await harness?.close()
  })

  it('reads only the shop’s own and the global rows, with columns named like its output keys intact', async () => {
    const a = await connect(keys.a)
    const listings = await callTool(a, 'db_query', {
      model: 'Listing',
      select: ['listingNo', 'select', 'order', 'rows', 'nextCursor'],
      include: { category: { select: ['id', 'name'] } },
    })
    expect(listings.isError, listings.text.slice(0, 200)).toBe(false)
    expect(listings.structured?.['rows']).toEqual([
      {
        listingNo: 1,
        select: 'sel-a1',
        order: 1,
        rows: 7,
        nextCursor: 'nc-a1',
        category: { id: 2, name: 'A shoes' },
      },
      {
        listingNo: 2,
        select: null,
        order: 2,
        rows: null,
        nextCursor: null,
        category: { id: 1, name: 'Global root' },
      },
    ])
    const categories = await callTool(a, 'db_query', {
      model: 'Category',
      include: { listings: true, parent: true },
    })
    expect(categories.isError).toBe(false)
    for (const r of [listings, categories]) {
      for (const leak of [B_SECRET, SHOP_B, 'B boots', 'A deleted', DENIED, '4.00', 'raw-a1', 'k-a1']) {
        expect(r.text).not.toContain(leak)
      }
    }
  })

  it('answers another shop’s and a soft-deleted listing like a missing one, and keeps cursors to their shop', async () => {
    const a = await connect(keys.a)
    const b = await connect(keys.b)
    const answers = []
    for (const id of [
      { shopId: SHOP_B, listingNo: 1 },
      { shopId: SHOP_A, listingNo: 3 },
      { shopId: SHOP_A, listingNo: 99 },
    ]) {
      for (const tool of ['db_get', 'db_delete']) {
        const r = await callTool(a, tool, { model: 'Listing', id })
        expect(errorCode(r), tool).toBe('NOT_FOUND')
        answers.push(`${tool}:${r.text.split('\n')[0] ?? ''}`)
      }
    }
    expect(new Set(answers).size).toBe(2)
    const page = await callTool(a, 'db_query', { model: 'Listing', select: ['listingNo'], limit: 1 })
    const cursor = page.structured?.['nextCursor']
    expect(typeof cursor).toBe('string')
    const replay = await callTool(b, 'db_query', {
      model: 'Listing',
      select: ['listingNo'],
      limit: 1,
      cursor,
    })
    expect(errorCode(replay)).toBe('INVALID_CURSOR')
  })
})
