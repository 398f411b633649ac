/**
 * Domain tools: typed with zod, listed per principal, reached through `call` and MCP, and able to touch data
 * only through the policy-checked data API bound to the caller — another tenant's rows stay invisible to them.
 */
import { pino } from 'pino'
import { beforeAll, expect, it } from 'vitest'
import { z } from 'zod'
import { createMcpServer } from '../../src/mcp/index.ts'
import { describeEachDatabase } from '../support/databases.ts'
import { callTool, connectHttp, errorCode } from '../support/mcp.ts'
import { ALICE, as, BOB, ORDER_A1, ORDER_B1, TENANT_A } from '../support/saas.ts'
import { type ToolsetHarness, toolsetFor } from '../support/toolset.ts'
import { scopedOrder } from '../support/scoped-order.ts'

describeEachDatabase('domain tools', (db) => {
  let h: ToolsetHarness

  beforeAll(async () => {
    h = await toolsetFor(db(), {
      models: {
        Order: scopedOrder({
          id: 'allow',
          tenant_id: 'allow',
          status: 'allow',
          total: 'allow',
          customer_id: 'allow',
        }),
        Customer: {
          table: 'customers',
          unscopedColumns: ['org_id'],
          fields: {
            id: 'allow',
            tenant_id: 'allow',
            name: 'allow',
            notes: { action: 'allow', untrusted: true },
          },
          scoping: { tenant_id: 'principal.tenantId' },
        },
      },
    })
    h.toolset.defineTool({
      name: 'order_status',
      description: 'The status and total of one order',
      input: z.object({ orderId: z.string().uuid() }),
      output: z.object({ found: z.boolean(), status: z.string().nullable(), total: z.string().nullable() }),
      annotations: { readOnlyHint: true, idempotentHint: true },
      handler: async ({ orderId }, _ctx, data) => {
        // Tries the other tenant's row too: the data API scopes it away like any call.
        const found = await data.query({ model: 'Order', where: { field: 'id', op: 'eq', value: orderId } })
        const row = found.rows[0]
        return {
          found: row !== undefined,
          status: (row?.['status'] as string | undefined) ?? null,
          total: (row?.['total'] as string | undefined) ?? null,
        }
      },
    })
    h.toolset.defineTool({
      name: 'admin_report',
      description: 'Only for admins of tenant A',
      input: z.object({}),
      output: z.object({ orders: z.number() }),
      allow: (p) => p.tenantId === TENANT_A,
      handler: async (_input, _ctx, data) => {
        const r = await data.aggregate({ model: 'Order', op: 'count' })
        return { orders: Number((r as { value: unknown }).value) }
      },
    })
    h.toolset.defineTool({
      name: 'broken_contract',
      description: 'Returns what its output schema forbids',
      input: z.object({}),
      output: z.object({ n: z.number() }),
      handler: async () => ({ n: 'not a number' }) as unknown as { n: number },
    })
  })

  it('lists a domain tool with JSON Schemas from its zod types, only for principals it allows', () => {
    const forAlice = h.toolset.tools(as(ALICE))
    const status = forAlice.find((t) => t.name === 'order_status')
    expect(status?.inputSchema).toMatchObject({
      type: 'object',
      properties: { orderId: { type: 'string', format: 'uuid' } },
      required: ['orderId'],
      additionalProperties: false,
    })
    expect(status?.outputSchema).toMatchObject({ type: 'object', required: ['found', 'status', 'total'] })
    expect(status?.annotations).toMatchObject({ readOnlyHint: true, destructiveHint: false })
    expect(forAlice.map((t) => t.name)).toContain('admin_report')
    expect(h.toolset.tools(as(BOB)).map((t) => t.name)).not.toContain('admin_report')
  })

  it("gets nothing from another tenant's rows through its data API, and its call is audited", async () => {
    const before = (await h.audit.query({})).length
    const own = await h.toolset.call(as(ALICE), 'order_status', { orderId: ORDER_A1 })
    expect(own).toMatchObject({ ok: true, data: { found: true } })
    const cross = await h.toolset.call(as(ALICE), 'order_status', { orderId: ORDER_B1 })
    expect(cross).toEqual({ ok: true, data: { found: false, status: null, total: null } })
    const records = (await h.audit.query({})).slice(before)
    const tools = records.map((r) => r.tool)
    expect(tools.filter((t) => t === 'order_status')).toHaveLength(2)
    expect(tools.filter((t) => t === 'db_query')).toHaveLength(2)
    expect(records.every((r) => r.tenantId === TENANT_A)).toBe(true)
  })

  it('refuses invalid input, a tenant in the arguments, and a principal it does not serve', async () => {
    expect(await h.toolset.call(as(ALICE), 'order_status', { orderId: 'nope' })).toMatchObject({
      ok: false,
      error: { code: 'VALIDATION_ERROR' },
    })
    expect(
      await h.toolset.call(as(ALICE), 'order_status', { orderId: ORDER_B1, tenantId: 'b' }),
    ).toMatchObject({ ok: false, error: { code: 'VALIDATION_ERROR' } })
    const denied = await h.toolset.call(as(BOB), 'admin_report', {})
    expect(denied).toMatchObject({
      ok: false,
      error: { code: 'VALIDATION_ERROR', message: "Unknown tool 'admin_report'" },
    })
  })

  it('reports a handler that breaks its output schema as an internal error, saying nothing more', async () => {
    expect(await h.toolset.call(as(ALICE), 'broken_contract', {})).toEqual({
      ok: false,
      error: { code: 'INTERNAL_ERROR', message: 'Internal error', hints: [], details: {} },
    })
  })

  it('refuses names that are taken, reserved or malformed, and non-object schemas', () => {
    const spec = { description: 'x', input: z.object({}), output: z.object({}), handler: async () => ({}) }
    expect(() => h.toolset.defineTool({ ...spec, name: 'order_status' })).toThrow(/already exists/)
    expect(() => h.toolset.defineTool({ ...spec, name: 'db_custom' })).toThrow(/must match/)
    expect(() => h.toolset.defineTool({ ...spec, name: 'has space' })).toThrow(/must match/)
    expect(() => h.toolset.defineTool({ ...spec, name: 'x'.repeat(65) })).toThrow(/must match/)
  })

  it('serves domain tools over MCP with their output validated by the SDK client and text wrapped as data', async () => {
    const mcp = await createMcpServer({
      toolset: h.toolset,
      logger: pino({ level: 'silent' }),
      dev: { principal: ALICE },
    })
    const server = await mcp.listen({ port: 0 })
    const client = await connectHttp(server.url)
    try {
      expect((await client.listTools()).tools.map((t) => t.name)).toEqual(
        expect.arrayContaining(['order_status', 'admin_report']),
      )
      const r = await callTool(client, 'order_status', { orderId: ORDER_A1 })
      expect(r.isError).toBe(false)
      expect(r.structured).toMatchObject({ found: true })
      expect(r.text).toMatch(/^Text between <untrusted-data-[0-9a-f]{12}>/)
      expect(errorCode(await callTool(client, 'order_status', { orderId: 1 }))).toBe('VALIDATION_ERROR')
    } finally {
      await client.close()
      await mcp.close()
    }
  })
})
