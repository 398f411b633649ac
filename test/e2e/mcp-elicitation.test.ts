/**
 * Approvals through MCP elicitation, with the SDK's Client over real transports: a spawned
 * `tessera serve --demo --elicit-approvals` asks the client's user over stdio (accept runs the write once,
 * decline rejects it, cancel leaves the ordinary pending approval), and stateless HTTP, which cannot carry a
 * server-to-client request, keeps the pending-approval flow.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js'
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import { ElicitRequestSchema, type ElicitResult } from '@modelcontextprotocol/sdk/types.js'
import { pino } from 'pino'
import { randomBytes } from 'node:crypto'
import pg from 'pg'
import { afterAll, describe, expect, inject, it } from 'vitest'
import { DEMO_PRINCIPAL, startServe, type ServingHandle } from '../../src/cli/serve-command.ts'
import { withDatabase } from '../support/global-setup.ts'
import { callTool, errorCode } from '../support/mcp.ts'

const ORDER_1 = '0a000000-0000-4000-8000-000000000001'
const ORDER_2 = '0a000000-0000-4000-8000-000000000002'
const ORDER_3 = '0a000000-0000-4000-8000-000000000003'

/** A client that declares form elicitation and answers each request with the next scripted answer. */
function elicitingClient(answers: ElicitResult[], asked: string[]): Client {
  const client = new Client(
    { name: 'elicitation-test', version: '1.0.0' },
    { capabilities: { elicitation: { form: {} } } },
  )
  client.setRequestHandler(ElicitRequestSchema, (request) => {
    asked.push(request.params.message)
    return answers.shift() ?? { action: 'cancel' }
  })
  return client
}

describe('write approval through MCP elicitation', () => {
  const clients: Client[] = []
  const handles: ServingHandle[] = []
  afterAll(async () => {
    for (const c of clients) await c.close().catch(() => undefined)
    for (const h of handles) await h.close()
  })

  const stdio = async (extra: string[], env: Record<string, string> = {}): Promise<void> => {
    const asked: string[] = []
    const client = elicitingClient(
      [{ action: 'accept', content: { approve: true } }, { action: 'decline' }, { action: 'cancel' }],
      asked,
    )
    clients.push(client)
    await client.connect(
      new StdioClientTransport({
        command: process.execPath,
        args: ['--import', 'tsx', 'src/cli/main.ts', 'serve', '--elicit-approvals', ...extra],
        env: { ...(process.env as Record<string, string>), ...env },
        stderr: 'pipe',
      }),
      { timeout: 240_000 },
    )

    const accepted = await callTool(client, 'db_delete', { model: 'Order', id: ORDER_1, reason: 'duplicate' })
    expect(accepted.isError).toBe(false)
    expect(accepted.structured).toEqual({ deleted: 1, soft: true })
    expect(asked[0]).toContain(`Delete Order id "${ORDER_1}" — reason: "duplicate"`)
    expect(errorCode(await callTool(client, 'db_get', { model: 'Order', id: ORDER_1 }))).toBe('NOT_FOUND')

    const declined = await callTool(client, 'db_delete', { model: 'Order', id: ORDER_2, reason: 'typo' })
    expect(errorCode(declined)).toBe('VALIDATION_ERROR')
    expect(declined.text).toContain('The approval was rejected')
    expect((await callTool(client, 'db_get', { model: 'Order', id: ORDER_2 })).isError).toBe(false)

    const cancelled = await callTool(client, 'db_delete', { model: 'Order', id: ORDER_3, reason: 'later' })
    expect(errorCode(cancelled)).toBe('WRITE_APPROVAL_REQUIRED')
    expect(cancelled.text).toMatch(/approvalId: \S+/)
    expect(cancelled.text).toContain(`preview: Delete Order id "${ORDER_3}"`)
    expect(asked).toHaveLength(3)
    expect((await callTool(client, 'db_get', { model: 'Order', id: ORDER_3 })).isError).toBe(false)
  }

  it('over stdio asks the user with the preview: accept runs the write once, decline rejects, cancel leaves it pending', async () => {
    await stdio(['--demo'])
  }, 300_000)

  const tpl = inject('postgresTemplate')
  it.runIf(tpl !== null)(
    'does the same on PostgreSQL, with approvals in its tessera_approvals table',
    async () => {
      if (tpl === null) return
      const name = `tessera_t_${randomBytes(6).toString('hex')}`
      const admin = new pg.Client({ connectionString: tpl.url })
      await admin.connect()
      await admin.query(`create database ${name} template ${tpl.template}`)
      try {
        await stdio(
          [
            '--db',
            withDatabase(tpl.url, name),
            '--policy',
            'policies/demo.yaml',
            '--role',
            'tessera_app',
            '--principal',
            JSON.stringify(DEMO_PRINCIPAL),
          ],
          { TESSERA_SECRET: 'elicitation-test-secret-0123456789' },
        )
        const db = new pg.Client({ connectionString: withDatabase(tpl.url, name) })
        await db.connect()
        const rows = await db.query<{ status: string; decided_by: string | null; used: boolean }>(
          'select status, decided_by, used_at is not null as used from tessera_approvals order by created_at',
        )
        await db.end()
        const by = `${DEMO_PRINCIPAL.userId} (MCP elicitation)`
        expect(rows.rows).toEqual([
          { status: 'approved', decided_by: by, used: true },
          { status: 'rejected', decided_by: by, used: false },
          { status: 'pending', decided_by: null, used: false },
        ])
      } finally {
        await admin.query(`drop database if exists ${name} with (force)`)
        await admin.end()
      }
    },
    300_000,
  )

  it('over stateless HTTP keeps the pending-approval flow even for a client that supports elicitation', async () => {
    const handle = await startServe({
      demo: true,
      http: '127.0.0.1:0',
      dev: true,
      elicitApprovals: true,
      logger: pino({ level: 'silent' }),
    })
    handles.push(handle)
    const asked: string[] = []
    const client = elicitingClient([{ action: 'accept', content: { approve: true } }], asked)
    clients.push(client)
    await client.connect(new StreamableHTTPClientTransport(new URL(handle.http?.url ?? '')))
    const result = await callTool(client, 'db_delete', { model: 'Order', id: ORDER_1, reason: 'duplicate' })
    expect(errorCode(result)).toBe('WRITE_APPROVAL_REQUIRED')
    expect(asked).toEqual([])
    expect(await handle.toolset.approvals.list({ status: 'pending' })).toHaveLength(1)
  }, 300_000)
})
