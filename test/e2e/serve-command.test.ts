/**
 * The `tessera` CLI's MCP half: a spawned `tessera serve --demo` answers an SDK client over stdio, `serve
 * --http` needs credentials (an API key made by `tessera api-key create`), `mcp-config` prints a pasteable
 * snippet, and an approval-gated delete through MCP runs once after approval and never for changed arguments.
 */
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js'
import { pino } from 'pino'
import { afterAll, describe, expect, it, vi } from 'vitest'
import { createApiKey, listApiKeys, revokeApiKey } from '../../src/cli/api-key-command.ts'
import { mcpConfig } from '../../src/cli/mcp-config-command.ts'
import { runApprovals } from '../../src/cli/approvals-command.ts'
import { startServe, type ServingHandle } from '../../src/cli/serve-command.ts'
import { PostgresApprovalStore, ensureApprovalTable } from '../../src/stores/index.ts'
import { createPostgresDatabase } from '../../src/executor/index.ts'
import { callTool, connectHttp, errorCode, rawPost, LIST_TOOLS_BODY } from '../support/mcp.ts'
import { withDatabase } from '../support/global-setup.ts'
import pg from 'pg'
import { randomBytes } from 'node:crypto'
import { inject } from 'vitest'

const silent = pino({ level: 'silent' })
const ACME_ORDER = '0a000000-0000-4000-8000-000000000001'
const GLOBEX_ORDER = '0b000000-0000-4000-8000-000000000001'

/**
 * An approval-gated delete through MCP: refused with an approval id and preview; after `approve` decides, a
 * changed argument is still refused, the same call runs once, and a replay is refused.
 */
async function deleteOnceAfterApproval(
  client: Client,
  approve: (approvalId: string) => Promise<void>,
): Promise<void> {
  const args = { model: 'Order', id: ACME_ORDER, reason: 'duplicate order' }
  const first = await callTool(client, 'db_delete', args)
  expect(errorCode(first)).toBe('WRITE_APPROVAL_REQUIRED')
  expect(first.text).toContain(`preview: Delete Order id "${ACME_ORDER}" — reason: "duplicate order"`)
  const approvalId = /approvalId: (\S+)/.exec(first.text)?.[1] ?? ''
  await approve(approvalId)
  const changed = await callTool(client, 'db_delete', { ...args, reason: 'something else', approvalId })
  expect(errorCode(changed)).toBe('VALIDATION_ERROR')
  const approved = await callTool(client, 'db_delete', { ...args, approvalId })
  expect(approved.structured).toEqual({ deleted: 1, soft: true })
  const replay = await callTool(client, 'db_delete', { ...args, approvalId })
  expect(replay.isError).toBe(true)
}

describe('tessera serve, api-key, mcp-config and approvals', () => {
  const handles: ServingHandle[] = []
  const clients: Client[] = []
  afterAll(async () => {
    for (const c of clients) await c.close().catch(() => undefined)
    for (const h of handles) await h.close()
  })

  it('answers listTools and callTool from a spawned `tessera serve --demo` over stdio', async () => {
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: ['--import', 'tsx', 'src/cli/main.ts', 'serve', '--demo'],
      stderr: 'pipe',
    })
    const client = new Client({ name: 'cli-test', version: '1.0.0' })
    clients.push(client)
    await client.connect(transport, { timeout: 240_000 })
    const names = (await client.listTools()).tools.map((t) => t.name)
    expect(names).toEqual(expect.arrayContaining(['db_describe_schema', 'db_query', 'db_delete']))
    const own = await callTool(client, 'db_get', { model: 'Order', id: ACME_ORDER, select: ['id', 'total'] })
    expect(own.structured).toEqual({ row: { id: ACME_ORDER, total: expect.any(String) } })
    expect(errorCode(await callTool(client, 'db_get', { model: 'Order', id: GLOBEX_ORDER }))).toBe(
      'NOT_FOUND',
    )
  }, 300_000)

  it('serves HTTP only with credentials, and accepts a key made by `tessera api-key create`', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tessera-auth-'))
    const auth = join(dir, 'auth.yaml')
    const { key } = await createApiKey({
      auth,
      id: 'acme-bot',
      principal: JSON.stringify({ tenantId: 'a0000000-0000-4000-8000-000000000000', roles: ['member'] }),
    })
    expect(statSync(auth).mode & 0o777).toBe(0o600)
    expect(readFileSync(auth, 'utf8')).not.toContain(key)
    expect((await listApiKeys(auth)).map((k) => k.id)).toEqual(['acme-bot'])

    await expect(startServe({ demo: true, http: '127.0.0.1:0', logger: silent })).rejects.toThrow(
      /without authentication/,
    )
    const handle = await startServe({ demo: true, http: '127.0.0.1:0', auth, logger: silent })
    handles.push(handle)
    const url = handle.http?.url ?? ''
    expect((await rawPost(url, LIST_TOOLS_BODY)).status).toBe(401)
    const client = await connectHttp(url, key)
    clients.push(client)
    const r = await callTool(client, 'db_aggregate', { model: 'Order', op: 'count' })
    expect(r.isError).toBe(false)

    // A key created while the server runs works at once; a revoked key is refused on its next call.
    const second = await createApiKey({
      auth,
      id: 'acme-bot-2',
      principal: JSON.stringify({ tenantId: 'a0000000-0000-4000-8000-000000000000', roles: ['member'] }),
    })
    const bearer = (k: string) => ({ Authorization: `Bearer ${k}` })
    expect((await rawPost(url, LIST_TOOLS_BODY, bearer(second.key))).status).toBe(200)
    expect(await revokeApiKey(auth, 'acme-bot')).toBe(true)
    expect((await listApiKeys(auth)).map((k) => k.id)).toEqual(['acme-bot-2'])
    expect((await rawPost(url, LIST_TOOLS_BODY, bearer(key))).status).toBe(401)
    await expect(
      client.callTool({ name: 'db_aggregate', arguments: { model: 'Order', op: 'count' } }),
    ).rejects.toThrow()
    expect((await rawPost(url, LIST_TOOLS_BODY, bearer(second.key))).status).toBe(200)
  }, 300_000)

  it('refuses every credential while the auth file does not load, and recovers when it does', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tessera-auth-'))
    const auth = join(dir, 'auth.yaml')
    const { key } = await createApiKey({
      auth,
      id: 'acme-bot',
      principal: JSON.stringify({ tenantId: 'a0000000-0000-4000-8000-000000000000' }),
    })
    const handle = await startServe({ demo: true, http: '127.0.0.1:0', auth, logger: silent })
    handles.push(handle)
    const url = handle.http?.url ?? ''
    const headers = { Authorization: `Bearer ${key}` }
    expect((await rawPost(url, LIST_TOOLS_BODY, headers)).status).toBe(200)
    const good = readFileSync(auth, 'utf8')
    writeFileSync(auth, `${good}\nunknownKey: true\n`)
    expect((await rawPost(url, LIST_TOOLS_BODY, headers)).status).toBe(401)
    writeFileSync(auth, good)
    expect((await rawPost(url, LIST_TOOLS_BODY, headers)).status).toBe(200)
  }, 300_000)

  it('runs an approval-gated delete once after approval, and not for changed arguments', async () => {
    const handle = await startServe({ demo: true, http: '127.0.0.1:0', dev: true, logger: silent })
    handles.push(handle)
    const client = await connectHttp(handle.http?.url ?? '')
    clients.push(client)
    await deleteOnceAfterApproval(client, async (approvalId) => {
      const pending = await handle.toolset.approvals.list({ status: 'pending' })
      expect(pending.map((a) => a.id)).toContain(approvalId)
      await handle.toolset.approvals.approve(approvalId, 'reviewer')
    })
  }, 300_000)

  it('prints client configuration for stdio and for a remote HTTP server without secrets', () => {
    const local = mcpConfig({}) as { mcpServers: { tessera: { command: string; args: string[] } } }
    expect(local.mcpServers.tessera.command).toBe(process.execPath)
    expect(local.mcpServers.tessera.args.slice(1)).toEqual(['serve', '--demo'])
    const remote = mcpConfig({ client: 'vscode', url: 'https://mcp.example/mcp' })
    expect(remote).toEqual({
      servers: {
        tessera: {
          type: 'http',
          url: 'https://mcp.example/mcp',
          headers: { Authorization: 'Bearer <your API key or JWT>' },
        },
      },
    })
  })

  const pgTemplate = inject('postgresTemplate')
  it.runIf(Boolean(pgTemplate))(
    'deletes through MCP once after `tessera approvals approve` on PostgreSQL, and never for changed arguments',
    async () => {
      const tpl = pgTemplate!
      const name = `tessera_appr_${randomBytes(5).toString('hex')}`
      const admin = new pg.Client({ connectionString: tpl.url })
      await admin.connect()
      await admin.query(`create database ${name} template ${tpl.template}`)
      const url = withDatabase(tpl.url, name)
      vi.stubEnv('TESSERA_SECRET', 'serve-approvals-test-secret-0123456789')
      try {
        const handle = await startServe({
          db: url,
          policy: 'policies/demo.yaml',
          http: '127.0.0.1:0',
          dev: true,
          principal: JSON.stringify({
            tenantId: 'a0000000-0000-4000-8000-000000000000',
            userId: 'a0000000-0000-4000-8000-0000000000a2',
            roles: ['member'],
          }),
          logger: silent,
        })
        handles.push(handle)
        const client = await connectHttp(handle.http?.url ?? '')
        clients.push(client)
        await deleteOnceAfterApproval(client, async (approvalId) => {
          const listed: string[] = []
          expect(await runApprovals('list', undefined, { db: url }, (l) => listed.push(l))).toBe(0)
          expect(listed.join('\n')).toContain(approvalId)
          expect(listed.join('\n')).toContain(`Delete Order id "${ACME_ORDER}" — reason: "duplicate order"`)
          expect(await runApprovals('approve', approvalId, { db: url, as: 'reviewer' }, () => {})).toBe(0)
        })
        const row = new pg.Client({ connectionString: url })
        await row.connect()
        const gone = await row.query('select deleted_at is not null as deleted from orders where id = $1', [
          ACME_ORDER,
        ])
        await row.end()
        expect(gone.rows).toEqual([{ deleted: true }])
      } finally {
        for (const c of clients.splice(0)) await c.close().catch(() => undefined)
        for (const h of handles.splice(0)) await h.close()
        vi.unstubAllEnvs()
        await admin.query(`drop database if exists ${name} with (force)`)
        await admin.end()
      }
    },
    300_000,
  )

  it.runIf(Boolean(pgTemplate))(
    'lists, approves and denies through `tessera approvals` on PostgreSQL',
    async () => {
      const url = pgTemplate?.url ?? ''
      const database = createPostgresDatabase(url)
      try {
        await ensureApprovalTable(database.db)
        const store = new PostgresApprovalStore(database.db)
        const tenantId = `cli-${Date.now()}`
        const make = () =>
          store.create({
            tenantId,
            userId: null,
            tool: 'db_delete',
            model: 'Order',
            payloadHash: 'c'.repeat(64),
            args: { model: 'Order', id: 'o-1' },
            expiresAt: new Date(Date.now() + 60_000),
          })
        const a = await make()
        const b = await make()
        const lines: string[] = []
        expect(
          await runApprovals('list', undefined, { db: url, tenant: tenantId }, (l) => lines.push(l)),
        ).toBe(0)
        expect(lines.join('\n')).toContain('Delete Order id "o-1"')
        expect(await runApprovals('approve', a.id, { db: url, as: 'alice' }, () => {})).toBe(0)
        expect(await runApprovals('deny', b.id, { db: url, as: 'alice' }, () => {})).toBe(0)
        expect(await runApprovals('approve', b.id, { db: url }, () => {})).toBe(1)
        expect((await store.get(a.id))?.status).toBe('approved')
        expect((await store.get(b.id))?.status).toBe('rejected')
      } finally {
        await database.close()
      }
    },
  )
})
