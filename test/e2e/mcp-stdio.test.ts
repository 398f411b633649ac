/**
 * MCP over real stdio: the SDK's Client spawns a server process; tools list and calls work, and the server's
 * stdout carries nothing but JSON-RPC messages (its logs go to stderr).
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CUSTOMER_A2, ORDER_B1, TENANT_A } from '../support/saas.ts'

describe('MCP over stdio (spawned process)', () => {
  let client: Client
  let transport: StdioClientTransport
  const stderr: string[] = []
  const stdoutLines: string[] = []

  beforeAll(async () => {
    transport = new StdioClientTransport({
      command: process.execPath,
      args: ['--import', 'tsx', 'test/support/mcp-stdio-server.ts'],
      stderr: 'pipe',
    })
    transport.stderr?.on('data', (chunk: Buffer) => stderr.push(chunk.toString('utf8')))
    client = new Client({ name: 'tessera-test', version: '1.0.0' })
    // Every message the client parses came from stdout: record them to prove stdout is protocol only.
    const original = transport.onmessage
    // Under a loaded CI machine the child needs a while to start PGlite and load the fixture.
    await client.connect(transport, { timeout: 240_000 })
    const handler = transport.onmessage
    transport.onmessage = (message) => {
      stdoutLines.push(JSON.stringify(message))
      handler?.(message)
    }
    void original
  }, 300_000)

  afterAll(async () => {
    await client?.close()
  })

  it('lists the tools of the configured principal and answers calls', async () => {
    const { tools } = await client.listTools()
    expect(tools.map((t) => t.name)).toEqual(expect.arrayContaining(['db_query', 'db_get', 'db_create']))
    const r = await client.callTool({
      name: 'db_get',
      arguments: { model: 'Customer', id: CUSTOMER_A2, select: ['name', 'tenant_id'] },
    })
    expect(r.isError).not.toBe(true)
    expect(r.structuredContent).toEqual({ row: { name: 'Grace Hopper', tenant_id: TENANT_A } })
    const cross = await client.callTool({ name: 'db_get', arguments: { model: 'Order', id: ORDER_B1 } })
    expect(cross.isError).toBe(true)
    expect((cross.content as { text: string }[])[0]?.text).toMatch(/^NOT_FOUND: /)
  })

  it('sends nothing but JSON-RPC on stdout and its logs to stderr', async () => {
    await client.callTool({ name: 'db_query', arguments: { model: 'Order', limit: 1 } })
    // A non-JSON line on stdout makes the transport report an error; none was reported.
    expect(stdoutLines.length).toBeGreaterThan(0)
    for (const line of stdoutLines) expect(JSON.parse(line)).toHaveProperty('jsonrpc', '2.0')
    expect(stderr.join('')).toContain('serving MCP over stdio')
    expect(transportErrors).toEqual([])
  })

  const transportErrors: string[] = []
  beforeAll(() => {
    client.onerror = (error) => transportErrors.push(String(error))
  })
})
