/**
 * The node-native stateless JSON transport (src/mcp/stateless-json-transport.ts) keeps the Streamable HTTP
 * behaviour of the SDK's own server transport: the SDK's Client works over it, and raw POSTs get the status
 * codes the protocol prescribes for what a client may get wrong — with no tool run for any refused request.
 */
import { LATEST_PROTOCOL_VERSION } from '@modelcontextprotocol/sdk/types.js'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { generateApiKey, type ListeningServer } from '../../src/mcp/index.ts'
import { definePolicy } from '../../src/policy/define-policy.ts'
import { MemoryAuditStore } from '../../src/stores/index.ts'
import { createToolset } from '../../src/tools/create-toolset.ts'
import { describeEachDatabase } from '../support/databases.ts'
import {
  callTool,
  callToolBody,
  LIST_TOOLS_BODY,
  listenMcpHttp,
  type McpHttpHarness,
  rawPost,
} from '../support/mcp.ts'
import { ORDER_A1, TENANT_A, TEST_SECRET } from '../support/saas.ts'
import { orderOnlyPolicy } from '../support/scoped-order.ts'

describeEachDatabase('MCP Streamable HTTP transport', (db) => {
  let audit: MemoryAuditStore
  let harness: McpHttpHarness
  let server: ListeningServer
  const key = generateApiKey()
  const post = (body: string, headers: Record<string, string> = {}) =>
    rawPost(server.url, body, { Authorization: `Bearer ${key}`, ...headers })
  const getBody = (id: number | string) =>
    JSON.stringify({
      jsonrpc: '2.0',
      id,
      method: 'tools/call',
      params: { name: 'db_get', arguments: { model: 'Order', id: ORDER_A1, select: ['id'] } },
    })

  beforeAll(async () => {
    audit = new MemoryAuditStore()
    const role = db().appRole
    const toolset = await createToolset({
      db: db().app,
      policy: definePolicy(orderOnlyPolicy()),
      audit,
      secret: TEST_SECRET,
      ...(role === undefined ? {} : { role }),
    })
    harness = await listenMcpHttp({ toolset, keys: [{ id: 'acme', key, principal: { tenantId: TENANT_A } }] })
    server = harness.server
  })

  afterAll(async () => {
    await harness?.close()
  })

  it("serves the SDK's Client: initialize, tools/list and a tool call", async () => {
    const client = await harness.connect(key)
    expect((await client.listTools()).tools.map((t) => t.name)).toContain('db_get')
    const r = await callTool(client, 'db_get', { model: 'Order', id: ORDER_A1, select: ['id', 'tenant_id'] })
    expect(r.structured).toEqual({ row: { id: ORDER_A1, tenant_id: TENANT_A } })
  })

  it('refuses what a client may get wrong with the status the protocol prescribes, running no tool', async () => {
    const before = audit.all().length
    const notAcceptable = await post(getBody(1), { Accept: 'application/json' })
    expect(notAcceptable.status).toBe(406)
    expect(JSON.parse(notAcceptable.text)).toMatchObject({
      jsonrpc: '2.0',
      error: { code: -32000 },
      id: null,
    })
    expect((await post(getBody(1), { 'Content-Type': 'text/plain' })).status).toBe(415)
    const badVersion = await post(getBody(1), { 'MCP-Protocol-Version': '1999-01-01' })
    expect(badVersion.status).toBe(400)
    expect(badVersion.text).toContain('Unsupported protocol version')
    const notJsonRpc = await post(JSON.stringify({ id: 1, method: 'tools/list' }))
    expect(notJsonRpc.status).toBe(400)
    expect(JSON.parse(notJsonRpc.text)).toMatchObject({ error: { code: -32700 } })
    const tooMany = await post(`[${Array.from({ length: 101 }, (_, i) => getBody(i)).join(',')}]`)
    expect(tooMany.status).toBe(400)
    const initialize = JSON.stringify({
      jsonrpc: '2.0',
      id: 0,
      method: 'initialize',
      params: {
        protocolVersion: LATEST_PROTOCOL_VERSION,
        capabilities: {},
        clientInfo: { name: 't', version: '1' },
      },
    })
    const twoWithInitialize = await post(`[${initialize},${getBody(1)}]`)
    expect(twoWithInitialize.status).toBe(400)
    expect(twoWithInitialize.text).toContain('Only one initialization request')
    expect(audit.all().length).toBe(before)
  })

  it('answers initialize without a protocol-version header, and a known version header is accepted', async () => {
    const initialize = JSON.stringify({
      jsonrpc: '2.0',
      id: 'init',
      method: 'initialize',
      params: {
        protocolVersion: LATEST_PROTOCOL_VERSION,
        capabilities: {},
        clientInfo: { name: 't', version: '1' },
      },
    })
    const r = await post(initialize)
    expect(r.status).toBe(200)
    expect(r.headers.get('content-type')).toBe('application/json')
    expect(JSON.parse(r.text)).toMatchObject({
      id: 'init',
      result: { protocolVersion: LATEST_PROTOCOL_VERSION },
    })
    const listed = await post(LIST_TOOLS_BODY, { 'MCP-Protocol-Version': LATEST_PROTOCOL_VERSION })
    expect(listed.status).toBe(200)
    expect(JSON.parse(listed.text)).toMatchObject({ id: 1, result: { tools: expect.any(Array) } })
  })

  it('accepts a body of notifications only with 202 and no content', async () => {
    const r = await post(JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }))
    expect(r.status).toBe(202)
    expect(r.text).toBe('')
  })

  it('answers a batch with one response per request, in the order of the requests', async () => {
    const before = audit.all().length
    const notification = JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' })
    const r = await post(
      `[${getBody('first')},${notification},${callToolBody('db_nope', {})},${LIST_TOOLS_BODY}]`,
    )
    expect(r.status).toBe(200)
    const responses = JSON.parse(r.text) as { id: unknown; result?: Record<string, unknown> }[]
    expect(responses.map((m) => m.id)).toEqual(['first', 2, 1])
    expect(responses[0]?.result?.['structuredContent']).toEqual({ row: { id: ORDER_A1 } })
    expect(responses[1]?.result?.['isError']).toBe(true)
    expect(audit.all().length).toBeGreaterThan(before)
  })
})
