/** MCP test helpers: an SDK client over real Streamable HTTP, JWT minting, and raw HTTP probes. */
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import { SignJWT } from 'jose'
import { pino } from 'pino'
import {
  type ApiKeyEntry,
  type AuthConfig,
  createMcpServer,
  hashApiKey,
  type ListeningServer,
  type McpServerOptions,
  type TesseraMcpServer,
} from '../../src/mcp/index.ts'

export const JWT_SECRET = 'mcp-test-hs256-secret-0123456789abcdef-xyz'
export const JWT_SECRET_ENV = 'TESSERA_TEST_MCP_JWT_SECRET'
export const ISSUER = 'https://auth.test.example'
export const AUDIENCE = 'tessera-mcp-test'

export interface ToolText {
  isError: boolean
  text: string
  structured: Record<string, unknown> | undefined
}

export async function connectHttp(url: string, token?: string): Promise<Client> {
  const client = new Client({ name: 'tessera-test', version: '1.0.0' })
  const transport = new StreamableHTTPClientTransport(new URL(url), {
    requestInit: token === undefined ? {} : { headers: { Authorization: `Bearer ${token}` } },
  })
  await client.connect(transport)
  return client
}

export async function callTool(
  client: Client,
  name: string,
  args: Record<string, unknown>,
): Promise<ToolText> {
  const result = await client.callTool({ name, arguments: args })
  const content = result.content as { type: string; text: string }[]
  return {
    isError: result.isError === true,
    text: content.map((c) => c.text).join('\n'),
    structured: result.structuredContent as Record<string, unknown> | undefined,
  }
}

/** The stable code of an error result: the first word of its text. */
export function errorCode(result: ToolText): string | undefined {
  return result.isError ? /^([A-Z_]+): /.exec(result.text)?.[1] : undefined
}

export async function mintJwt(
  claims: Record<string, unknown>,
  options: {
    secret?: string
    audience?: string
    issuer?: string
    expiresIn?: string | number
    alg?: string
  } = {},
): Promise<string> {
  let jwt = new SignJWT(claims)
    .setProtectedHeader({ alg: options.alg ?? 'HS256' })
    .setIssuer(options.issuer ?? ISSUER)
    .setAudience(options.audience ?? AUDIENCE)
    .setIssuedAt()
  if (options.expiresIn !== undefined) jwt = jwt.setExpirationTime(options.expiresIn)
  return jwt.sign(new TextEncoder().encode(options.secret ?? JWT_SECRET))
}

/** A token with `alg: none` and no signature: must never authenticate. */
export function unsignedJwt(claims: Record<string, unknown>): string {
  const enc = (v: unknown): string => Buffer.from(JSON.stringify(v)).toString('base64url')
  const now = Math.floor(Date.now() / 1000)
  return `${enc({ alg: 'none', typ: 'JWT' })}.${enc({ iss: ISSUER, aud: AUDIENCE, iat: now, exp: now + 600, ...claims })}.`
}

/** A raw JSON-RPC POST, bypassing the SDK client, for status codes and headers. */
export async function rawPost(
  url: string,
  body: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: Headers; text: string }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: {
      'Content-Type': 'application/json',
      Accept: 'application/json, text/event-stream',
      ...headers,
    },
    body,
  })
  return { status: res.status, headers: res.headers, text: await res.text() }
}

export const LIST_TOOLS_BODY = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list', params: {} })

export function callToolBody(name: string, args: unknown): string {
  return JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name, arguments: args } })
}

/** One API key the test server accepts, and the principal it names. */
export interface ApiKeyGrant {
  readonly id: string
  readonly key: string
  readonly principal: ApiKeyEntry['principal']
}

export interface McpHttpHarness {
  readonly mcp: TesseraMcpServer
  readonly server: ListeningServer
  /**
   * An SDK client over Streamable HTTP for `key` (closed by close()); with `listTools`, tools/list first, so the
   * client validates every later result against the tools' output schemas.
   */
  connect(key: string, options?: { listTools?: boolean }): Promise<Client>
  /** Closes every client connect() opened, then the server. */
  close(): Promise<void>
}

/**
 * An MCP server over `options.toolset` listening on a free local port, accepting `keys` (each hashed as the auth
 * config stores it), logging nothing: the set-up every Streamable HTTP suite repeated. `auth` adds to the API
 * keys (JWT, rate limits, resource metadata); the other options pass through to createMcpServer.
 */
export async function listenMcpHttp(
  options: Omit<McpServerOptions, 'auth'> & {
    readonly keys: readonly ApiKeyGrant[]
    readonly auth?: Omit<AuthConfig, 'apiKeys'>
  },
): Promise<McpHttpHarness> {
  const { keys, auth, ...rest } = options
  const mcp = await createMcpServer({
    logger: pino({ level: 'silent' }),
    ...rest,
    auth: {
      ...auth,
      apiKeys: keys.map((k) => ({ id: k.id, sha256: hashApiKey(k.key), principal: k.principal })),
    },
  })
  const server = await mcp.listen({ host: '127.0.0.1', port: 0 })
  const clients: Client[] = []
  return {
    mcp,
    server,
    async connect(key, { listTools = false } = {}) {
      const client = await connectHttp(server.url, key)
      clients.push(client)
      if (listTools) await client.listTools()
      return client
    },
    async close() {
      for (const c of clients) await c.close()
      await mcp.close()
    },
  }
}
