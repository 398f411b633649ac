/**
 * Auth variants and rate limits over real HTTP: ES256 tokens checked against a JWKS file (an HS256 token
 * signed with the public key is refused), dev mode, production refusing to start without auth, and one
 * tenant's exhausted rate limit never touching another tenant.
 */
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { exportJWK, generateKeyPair, SignJWT } from 'jose'
import { pino } from 'pino'
import { afterAll, beforeAll, expect, it } from 'vitest'
import {
  createMcpServer,
  generateApiKey,
  hashApiKey,
  parseAuthConfig,
  type ListeningServer,
  type TesseraMcpServer,
} from '../../src/mcp/index.ts'
import { definePolicy } from '../../src/policy/define-policy.ts'
import { createToolset, type Toolset } from '../../src/tools/create-toolset.ts'
import { describeEachDatabase } from '../support/databases.ts'
import {
  AUDIENCE,
  callTool,
  connectHttp,
  errorCode,
  ISSUER,
  LIST_TOOLS_BODY,
  rawPost,
} from '../support/mcp.ts'
import { ORDER_A1, ORDER_B1, TENANT_A, TENANT_B, TEST_SECRET } from '../support/saas.ts'
import { orderOnlyPolicy } from '../support/scoped-order.ts'

const silent = pino({ level: 'silent' })

describeEachDatabase('MCP auth variants and rate limits', (db) => {
  let toolset: Toolset
  const servers: TesseraMcpServer[] = []
  const clients: Client[] = []
  const keyA = generateApiKey()
  const keyB = generateApiKey()

  beforeAll(async () => {
    const role = db().appRole
    toolset = await createToolset({
      db: db().app,
      policy: definePolicy(orderOnlyPolicy()),
      secret: TEST_SECRET,
      ...(role === undefined ? {} : { role }),
    })
  })

  afterAll(async () => {
    for (const c of clients) await c.close()
    for (const s of servers) await s.close()
  })

  const start = async (options: Parameters<typeof createMcpServer>[0]): Promise<ListeningServer> => {
    const mcp = await createMcpServer({ logger: silent, ...options })
    servers.push(mcp)
    return mcp.listen({ port: 0 })
  }

  it('verifies ES256 tokens against a JWKS file and refuses an HS256 token keyed with the public key', async () => {
    const { publicKey, privateKey } = await generateKeyPair('ES256', { extractable: true })
    const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' }
    const dir = mkdtempSync(join(tmpdir(), 'tessera-jwks-'))
    writeFileSync(join(dir, 'jwks.json'), JSON.stringify({ keys: [jwk] }))
    const server = await start({
      toolset,
      baseDir: dir,
      auth: parseAuthConfig({
        jwt: { issuer: ISSUER, audience: AUDIENCE, algorithms: ['ES256'], jwksFile: 'jwks.json' },
      }),
    })
    const good = await new SignJWT({ tenant_id: TENANT_A, sub: 'u1' })
      .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setExpirationTime('5m')
      .sign(privateKey)
    const c = await connectHttp(server.url, good)
    clients.push(c)
    const r = await callTool(c, 'db_get', { model: 'Order', id: ORDER_A1 })
    expect(r.isError).toBe(false)
    // Key confusion: the public key's JSON used as an HMAC secret.
    const confused = await new SignJWT({ tenant_id: TENANT_B, sub: 'u1' })
      .setProtectedHeader({ alg: 'HS256', kid: 'k1' })
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setExpirationTime('5m')
      .sign(new TextEncoder().encode(JSON.stringify(jwk)))
    expect((await rawPost(server.url, LIST_TOOLS_BODY, { Authorization: `Bearer ${confused}` })).status).toBe(
      401,
    )
  })

  it('refuses to serve HTTP without auth unless dev mode is asked for', async () => {
    const mcp = await createMcpServer({ toolset, logger: silent })
    servers.push(mcp)
    await expect(mcp.listen({ port: 0 })).rejects.toMatchObject({ code: 'AUTHENTICATION_REQUIRED' })
    const dev = await start({ toolset, dev: { principal: { tenantId: TENANT_A } } })
    const c = await connectHttp(dev.url)
    clients.push(c)
    expect(errorCode(await callTool(c, 'db_get', { model: 'Order', id: ORDER_B1 }))).toBe('NOT_FOUND')
  })

  it('refuses auth files that mix HS256 with public keys or name no key source', () => {
    expect(() =>
      parseAuthConfig({
        jwt: { issuer: ISSUER, audience: AUDIENCE, algorithms: ['HS256', 'RS256'], secretEnv: 'X_SECRET' },
      }),
    ).toThrow(/Invalid auth config/)
    expect(() =>
      parseAuthConfig({ jwt: { issuer: ISSUER, audience: AUDIENCE, algorithms: ['RS256'] } }),
    ).toThrow()
    expect(() =>
      parseAuthConfig({ apiKeys: [{ id: 'k', sha256: 'plaintext-key', principal: { tenantId: 't' } }] }),
    ).toThrow()
    expect(() => parseAuthConfig({ apiKey: [] })).toThrow()
  })

  it("limits a tenant that exceeds its rate with RATE_LIMITED while another tenant's calls succeed", async () => {
    const server = await start({
      toolset,
      auth: parseAuthConfig({
        apiKeys: [
          { id: 'a', sha256: hashApiKey(keyA), principal: { tenantId: TENANT_A } },
          { id: 'b', sha256: hashApiKey(keyB), principal: { tenantId: TENANT_B } },
        ],
        rateLimits: { tenant: { burst: 3, perSecond: 0.01 } },
      }),
    })
    const a = await connectHttp(server.url, keyA)
    const b = await connectHttp(server.url, keyB)
    clients.push(a, b)
    const codes: (string | undefined)[] = []
    for (let i = 0; i < 5; i++)
      codes.push(errorCode(await callTool(a, 'db_get', { model: 'Order', id: ORDER_A1 })))
    expect(codes).toEqual([undefined, undefined, undefined, 'RATE_LIMITED', 'RATE_LIMITED'])
    const limited = await callTool(a, 'db_get', { model: 'Order', id: ORDER_A1 })
    expect(limited.text).toMatch(/Retry after \d+ ms/)
    const fromB = await callTool(b, 'db_get', { model: 'Order', id: ORDER_B1 })
    expect(fromB.isError).toBe(false)
  })

  it('applies a per-key rate limit from the auth file', async () => {
    const server = await start({
      toolset,
      auth: parseAuthConfig({
        apiKeys: [
          {
            id: 'slow',
            sha256: hashApiKey(keyA),
            principal: { tenantId: TENANT_A },
            rateLimit: { burst: 1, perSecond: 0.01 },
          },
        ],
      }),
    })
    const a = await connectHttp(server.url, keyA)
    clients.push(a)
    expect(errorCode(await callTool(a, 'db_get', { model: 'Order', id: ORDER_A1 }))).toBeUndefined()
    expect(errorCode(await callTool(a, 'db_get', { model: 'Order', id: ORDER_A1 }))).toBe('RATE_LIMITED')
  })
})
