/**
 * Red team, freight schema (test/support/freight.ts), through the MCP server: the SDK's Client over real
 * Streamable HTTP, one API key per principal (account A's clerk and dispatcher, account B's dispatcher). What a
 * hostile agent sends — another account's ids and cursors, tenants in the arguments, hidden fields, prototype
 * keys, NUL and lone surrogates, approval ids of others — is refused without database text, and what it reads
 * is only its own account's visible rows, with end-user text delimited for the model.
 */
import type { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { generateApiKey, type ListeningServer } from '../../src/mcp/index.ts'
import { describeEachDatabase } from '../support/databases.ts'
import {
  ACCT_A,
  ACCT_B,
  freightPolicy,
  INJECTION,
  loadFreight,
  SHIP_A1,
  SHIP_A_HAZMAT,
  SHIP_B1,
  SHIP_B2,
} from '../support/freight.ts'
import {
  callTool,
  callToolBody,
  errorCode,
  listenMcpHttp,
  type McpHttpHarness,
  rawPost,
  type ToolText,
} from '../support/mcp.ts'
import { type ToolsetHarness, toolsetFor } from '../support/toolset.ts'

/** Text an error must never carry: SQL, catalog names, SQLSTATEs, stack frames, the other account's data. */
const LEAK =
  /select |insert |update ops|ops\.|shipments|depots|sqlstate|\b2[23]\d{3}\b|\bat .*\.ts:|B-KEY|B notes/i

describeEachDatabase('red team on the freight schema: MCP over Streamable HTTP', (db) => {
  let h: ToolsetHarness
  let harness: McpHttpHarness
  let server: ListeningServer
  const keys = { clerkA: generateApiKey(), dispatchA: generateApiKey(), dispatchB: generateApiKey() }
  // tools/list first: the client then validates every result against the tools' output schemas.
  const connect = (key: string): Promise<Client> => harness.connect(key, { listTools: true })
  const refused = (r: ToolText): string => {
    expect(r.isError, r.text.slice(0, 200)).toBe(true)
    expect(r.text).not.toMatch(LEAK)
    return errorCode(r) ?? 'NO_CODE'
  }

  beforeAll(async () => {
    await loadFreight(db())
    h = await toolsetFor(db(), freightPolicy(), { schemas: ['ops'] })
    harness = await listenMcpHttp({
      toolset: h.toolset,
      db: db().app,
      maxBodyBytes: 64 * 1024,
      keys: [
        {
          id: 'clerk-a',
          key: keys.clerkA,
          principal: { tenantId: ACCT_A, userId: 'clerk-a', roles: ['clerk'] },
        },
        {
          id: 'disp-a',
          key: keys.dispatchA,
          principal: { tenantId: ACCT_A, userId: 'disp-a', roles: ['dispatcher'] },
        },
        {
          id: 'disp-b',
          key: keys.dispatchB,
          principal: { tenantId: ACCT_B, userId: 'disp-b', roles: ['dispatcher'] },
        },
      ],
      auth: { rateLimits: { tenant: { burst: 1000, perSecond: 1000 } } },
    })
    server = harness.server
  })

  afterAll(async () => {
    await harness?.close()
  })

  it('lists only what each principal may use, and nothing a name could smuggle', async () => {
    const clerk = await connect(keys.clerkA)
    const { tools } = await clerk.listTools()
    expect(tools.map((t) => t.name).sort()).toEqual([
      'db_aggregate',
      'db_bulk_update',
      'db_create',
      'db_delete',
      'db_describe_schema',
      'db_get',
      'db_query',
      'db_update',
    ])
    const query = JSON.stringify(tools.find((t) => t.name === 'db_query')?.inputSchema)
    for (const hidden of ['archived_at', 'license_no', 'customs_declaration', 'Manager Name', 'qu\\"ote']) {
      expect(query, hidden).not.toContain(hidden)
    }
    expect(query).not.toMatch(/tenantId|principal/)
    const schema = await callTool(clerk, 'db_describe_schema', {})
    expect(schema.text).not.toMatch(/archived_at|license_no|customs_declaration/)
  })

  it('answers another account’s and hidden rows like missing ones, and ignores tenants in the arguments', async () => {
    const a = await connect(keys.dispatchA)
    const clerk = await connect(keys.clerkA)
    const missing = 'a1000000-0000-4000-8000-00000000ffff'
    const pairs: [Client, string, Record<string, unknown>][] = [
      [a, 'db_get', { model: 'Shipment' }],
      [a, 'db_update', { model: 'Shipment', data: { notes: 'pwn' } }],
      [a, 'db_delete', { model: 'Shipment' }],
    ]
    for (const [client, tool, args] of pairs) {
      const hidden = await callTool(client, tool, { ...args, id: SHIP_B1 })
      const absent = await callTool(client, tool, { ...args, id: missing })
      expect(refused(hidden), tool).toBe('NOT_FOUND')
      expect(hidden.text.split('\n')[0]).toBe(absent.text.split('\n')[0])
    }
    expect(refused(await callTool(clerk, 'db_get', { model: 'Shipment', id: SHIP_A_HAZMAT }))).toBe(
      'NOT_FOUND',
    )
    const depot = await callTool(a, 'db_get', { model: 'Depot', id: { tenant_id: ACCT_B, id: 7 } })
    expect(refused(depot)).toBe('NOT_FOUND')
    for (const extra of [
      { tenantId: ACCT_B },
      { principal: { tenantId: ACCT_B, roles: ['dispatcher'] } },
      { roles: ['dispatcher'] },
      { __proto__: { tenantId: ACCT_B } },
    ]) {
      const r = await callTool(clerk, 'db_query', { model: 'Shipment', ...extra })
      if (!r.isError) {
        expect(JSON.stringify(r.structured)).not.toMatch(new RegExp(`${ACCT_B}|hazmat`))
      } else expect(refused(r)).toBe('VALIDATION_ERROR')
    }
    const own = await callTool(a, 'db_query', { model: 'Shipment', select: ['acct', 'id'], limit: 100 })
    const rows = own.structured?.['rows'] as { acct: string }[]
    expect(rows.length).toBeGreaterThan(0)
    expect(rows.every((r) => r.acct === ACCT_A)).toBe(true)
  })

  it('refuses a cursor carried to another account or role', async () => {
    const a = await connect(keys.dispatchA)
    const first = await callTool(a, 'db_query', { model: 'Shipment', orderBy: ['eta'], limit: 1 })
    const cursor = first.structured?.['nextCursor']
    expect(typeof cursor).toBe('string')
    for (const key of [keys.dispatchB, keys.clerkA]) {
      const other = await connect(key)
      const r = await callTool(other, 'db_query', { model: 'Shipment', orderBy: ['eta'], limit: 1, cursor })
      expect(refused(r)).toBe('INVALID_CURSOR')
    }
  })

  it('refuses hidden fields, confused values and hostile keys without database text, and keeps serving', async () => {
    const a = await connect(keys.dispatchA)
    const probes: [string, Record<string, unknown>, string][] = [
      [
        'db_query',
        { model: 'Shipment', where: { field: 'pin', op: 'eq', value: '9999' } },
        'FIELD_NOT_ALLOWED',
      ],
      ['db_query', { model: 'Shipment', orderBy: ['declared_value'] }, 'FIELD_NOT_ALLOWED'],
      ['db_aggregate', { model: 'Shipment', op: 'count', groupBy: ['archived_at'] }, 'FIELD_NOT_ALLOWED'],
      [
        'db_query',
        { model: 'Shipment', where: { field: 'notes', op: 'eq', value: 'a\u0000' } },
        'VALIDATION_ERROR',
      ],
      [
        'db_query',
        { model: 'Shipment', where: { field: 'notes', op: 'eq', value: '\ud800' } },
        'VALIDATION_ERROR',
      ],
      [
        'db_query',
        { model: 'Shipment', where: [[[{ field: 'id', op: 'eq', value: 1 }]]] },
        'VALIDATION_ERROR',
      ],
      ['db_create', { model: 'Shipment', data: { weight_kg: '1234567890123.5' } }, 'VALIDATION_ERROR'],
      ['db_create', { model: 'Shipment', data: { acct: ACCT_B } }, 'VALIDATION_ERROR'],
      [
        'db_update',
        { model: 'Depot', id: { tenant_id: ACCT_A, id: 1 }, data: { port_code: 'USNYC' } },
        'VALIDATION_ERROR',
      ],
      ['db_query', { model: 'Shipment\u0000' }, 'VALIDATION_ERROR'],
    ]
    for (const [tool, args, code] of probes) {
      expect(refused(await callTool(a, tool, args)), JSON.stringify(args)).toBe(code)
    }
    // Raw JSON-RPC the SDK client would not send: prototype keys as JSON text, a tool name with NUL.
    const raw = [
      callToolBody('db_query', JSON.parse('{"model":"Shipment","__proto__":{"select":["archived_at"]}}')),
      '{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"db_query","arguments":{"model":"Shipment","where":{"field":"pin","op":"eq","value":"1","constructor":{"prototype":{}}}}}}',
      callToolBody('db_\u0000query', { model: 'Shipment' }),
      callToolBody('db_query', ['Shipment']),
    ]
    for (const body of raw) {
      const res = await rawPost(server.url, body, { Authorization: `Bearer ${keys.dispatchA}` })
      expect(res.text).not.toMatch(LEAK)
      expect(res.text).not.toContain('archived_at"')
      expect(res.status === 200 || res.status === 400, body).toBe(true)
    }
    const still = await callTool(a, 'db_get', { model: 'Shipment', id: SHIP_A1, select: ['id'] })
    expect(still.structured).toEqual({ row: { id: SHIP_A1 } })
  })

  it('wraps end-user text for the model in reads, includes and the rows writes return', async () => {
    const a = await connect(keys.dispatchA)
    const results = [
      await callTool(a, 'db_get', { model: 'Shipment', id: SHIP_A1, select: ['notes'] }),
      await callTool(a, 'db_query', {
        model: 'Depot',
        select: ['id'],
        include: { shipments: { select: ['notes'] } },
      }),
      await callTool(a, 'db_update', { model: 'Shipment', id: SHIP_A1, data: { priority: 2 } }),
    ]
    for (const r of results) {
      const nonce = /<untrusted-data-([0-9a-f]{12})>/.exec(r.text)?.[1]
      expect(nonce, r.text.slice(0, 120)).toBeDefined()
      const at = r.text.indexOf(INJECTION.slice(0, 30))
      expect(at).toBeGreaterThan(r.text.lastIndexOf(`<untrusted-data-${nonce}>`, at))
      expect(r.text.indexOf(`</untrusted-data-${nonce}>`, at)).toBeGreaterThan(at)
    }
  })

  it('binds an approval id to its principal: another account cannot spend it', async () => {
    const a = await connect(keys.dispatchA)
    const b = await connect(keys.dispatchB)
    const pending = await callTool(a, 'db_delete', { model: 'Shipment', id: SHIP_A1, reason: 'duplicate' })
    expect(refused(pending)).toBe('WRITE_APPROVAL_REQUIRED')
    const approvalId = /approvalId: (\S+)/.exec(pending.text)?.[1]
    expect(approvalId).toBeDefined()
    await h.toolset.approvals.approve(approvalId!, 'ops-lead')
    for (const id of [SHIP_A1, SHIP_B2]) {
      const stolen = await callTool(b, 'db_delete', {
        model: 'Shipment',
        id,
        reason: 'duplicate',
        approvalId,
      })
      expect(stolen.isError).toBe(true)
      expect(stolen.text).not.toMatch(LEAK)
    }
    const spent = await callTool(a, 'db_delete', {
      model: 'Shipment',
      id: SHIP_A1,
      reason: 'duplicate',
      approvalId,
    })
    expect(spent.isError, spent.text).toBe(false)
    expect(refused(await callTool(a, 'db_get', { model: 'Shipment', id: SHIP_A1 }))).toBe('NOT_FOUND')
  })
})
