/**
 * Regression (red team, MCP): a dev-mode HTTP server (`tessera serve --dev`, `tessera demo --serve --http`)
 * answers without credentials, bound to 127.0.0.1 — and answered any Host and Origin. Through DNS rebinding a
 * web page on attacker.example reaches 127.0.0.1 as its own origin and calls the tools as the dev principal. The
 * MCP transport spec requires servers to validate Origin; a dev server now answers loopback hosts and origins
 * only (a server with credentials needs none of this: a page has no token).
 */
import { request } from 'node:http'
import { pino } from 'pino'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { createMcpServer, type ListeningServer, type TesseraMcpServer } from '../../src/mcp/index.ts'
import { clinicPolicy, DOCTOR_A, loadClinic } from '../support/clinic.ts'
import { describeEachDatabase } from '../support/databases.ts'
import { toolsetFor } from '../support/toolset.ts'

describeEachDatabase('dev MCP server and foreign hosts', (db) => {
  let mcp: TesseraMcpServer
  let server: ListeningServer
  beforeAll(async () => {
    await loadClinic(db())
    const { toolset } = await toolsetFor(db(), clinicPolicy())
    mcp = await createMcpServer({ toolset, logger: pino({ level: 'silent' }), dev: DOCTOR_A })
    server = await mcp.listen()
  })
  afterAll(async () => {
    await mcp.close()
  })

  /** A raw POST with the Host and Origin a browser would send (fetch may not set Host). */
  const post = (headers: Record<string, string>): Promise<{ status: number; text: string }> =>
    new Promise((resolve, reject) => {
      const body = JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        method: 'tools/call',
        params: { name: 'db_query', arguments: { model: 'Patient', select: ['full_name'] } },
      })
      const req = request(
        {
          host: '127.0.0.1',
          port: server.port,
          path: '/mcp',
          method: 'POST',
          headers: {
            'Content-Type': 'application/json',
            Accept: 'application/json, text/event-stream',
            ...headers,
          },
        },
        (res) => {
          let text = ''
          res.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')))
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text }))
        },
      )
      req.on('error', reject)
      req.end(body)
    })

  it('refuses a request whose Host or Origin is not loopback, before any tool runs', async () => {
    const port = server.port
    for (const headers of [
      { Host: `attacker.example:${port}`, Origin: `http://attacker.example:${port}` },
      { Host: `attacker.example:${port}` },
      { Origin: 'http://attacker.example' },
      { Origin: 'null' },
      { Host: 'localhost@attacker.example' },
      { Host: '127.0.0.1.nip.io' },
    ]) {
      const r = await post(headers)
      expect(r.status, JSON.stringify(headers)).toBe(403)
      expect(r.text).not.toContain('Ann A')
    }
  })

  it('serves loopback clients, with or without a browser origin', async () => {
    for (const headers of [
      {},
      { Host: `localhost:${server.port}`, Origin: 'http://localhost:6274' },
      { Host: '[::1]' },
    ]) {
      const r = await post(headers)
      expect(r.status, JSON.stringify(headers)).toBe(200)
      expect(r.text).toContain('Ann A')
    }
  })
})
