/**
 * Regression (red team, MCP): a JSON-RPC batch holding two requests under one id ran both calls, but the HTTP
 * answer carried the first call's result twice — a write that ran (the second) was reported as something else.
 * Such a batch is now refused with 400 before any call runs.
 */
import { afterAll, beforeAll, expect, it } from 'vitest'
import { generateApiKey, type ListeningServer } from '../../src/mcp/index.ts'
import { clinicPolicy, loadClinic, NURSE_A } from '../support/clinic.ts'
import { describeEachDatabase } from '../support/databases.ts'
import { listenMcpHttp, type McpHttpHarness, rawPost } from '../support/mcp.ts'
import { toolsetFor } from '../support/toolset.ts'

describeEachDatabase('MCP batches with repeated request ids', (db) => {
  let harness: McpHttpHarness
  let server: ListeningServer
  const key = generateApiKey()
  beforeAll(async () => {
    await loadClinic(db())
    const { toolset } = await toolsetFor(db(), clinicPolicy())
    harness = await listenMcpHttp({
      toolset,
      keys: [{ id: 'nurse', key, principal: { ...NURSE_A.principal, roles: ['nurse'] } }],
    })
    server = harness.server
  })
  afterAll(async () => {
    await harness?.close()
  })

  const update = (id: number | string, appointment: number, fee: number) => ({
    jsonrpc: '2.0',
    id,
    method: 'tools/call',
    params: { name: 'db_update', arguments: { model: 'Appointment', id: appointment, data: { fee } } },
  })
  const fees = async () =>
    (
      await db()
        .admin.selectFrom('appointments')
        .select(['id', 'fee'])
        .where('id', 'in', [1, 2])
        .orderBy('id')
        .execute()
    ).map((r) => String(r.fee))

  it('refuses a batch with two requests under one id before running either', async () => {
    const before = await fees()
    const r = await rawPost(server.url, JSON.stringify([update(7, 1, 11), update(7, 2, 22)]), {
      Authorization: `Bearer ${key}`,
    })
    expect(r.status).toBe(400)
    expect(JSON.parse(r.text)).toMatchObject({ error: { code: -32600 } })
    expect(await fees()).toEqual(before)
  })

  it('answers a batch with distinct ids, each request with its own result', async () => {
    const r = await rawPost(server.url, JSON.stringify([update(1, 1, 11), update('b', 2, 22)]), {
      Authorization: `Bearer ${key}`,
    })
    expect(r.status).toBe(200)
    const answers = JSON.parse(r.text) as {
      id: unknown
      result: { structuredContent: { row: { fee: string } } }
    }[]
    expect(answers.map((a) => [a.id, a.result.structuredContent.row.fee])).toEqual([
      [1, '11.00'],
      ['b', '22.00'],
    ])
    expect(await fees()).toEqual(['11.00', '22.00'])
  })
})
