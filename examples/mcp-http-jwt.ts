/**
 * An MCP client over Streamable HTTP with a JWT: the server verifies the token (issuer, audience, algorithm,
 * expiry) and acts as the tenant named in its claims. Runs on the embedded demo database; in production the
 * token comes from your identity provider and the server from `tessera serve --http HOST:PORT --auth auth.yaml`.
 * Run with `npx tsx --conditions=tessera-source examples/mcp-http-jwt.ts` (embedded, or `DATABASE_URL`).
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import { SignJWT } from 'jose'
import { pino } from 'pino'
import { createToolset, loadPolicyFile } from 'tessera-db'
import { createMcpServer, parseAuthConfig } from 'tessera-db/mcp'
import { openExampleDatabase } from './example-database.ts'

process.env['EXAMPLE_JWT_SECRET'] ??= 'example-hs256-secret-change-me-0123456789'
const database = await openExampleDatabase()
const toolset = await createToolset({
  db: database.db,
  policy: await loadPolicyFile(new URL('../policies/demo.yaml', import.meta.url).pathname),
  secret: 'example-secret-change-me-0123456789',
  role: 'tessera_app',
})
const mcp = await createMcpServer({
  toolset,
  logger: pino({ level: 'warn' }, pino.destination(2)),
  auth: parseAuthConfig({
    jwt: {
      issuer: 'https://login.example.com/',
      audience: 'tessera',
      algorithms: ['HS256'],
      secretEnv: 'EXAMPLE_JWT_SECRET',
      claims: { tenantId: 'tenant_id', userId: 'sub', roles: 'roles' },
    },
  }),
})
const server = await mcp.listen({ port: 0 })

// What an identity provider would issue to a user of acme.
const token = await new SignJWT({ tenant_id: 'a0000000-0000-4000-8000-000000000000', roles: ['member'] })
  .setProtectedHeader({ alg: 'HS256' })
  .setSubject('a0000000-0000-4000-8000-0000000000a2')
  .setIssuer('https://login.example.com/')
  .setAudience('tessera')
  .setExpirationTime('10m')
  .sign(new TextEncoder().encode(process.env['EXAMPLE_JWT_SECRET']))

const client = new Client({ name: 'example', version: '1.0.0' })
await client.connect(
  new StreamableHTTPClientTransport(new URL(server.url), {
    requestInit: { headers: { Authorization: `Bearer ${token}` } },
  }),
)
const { tools } = await client.listTools()
console.log('tools:', tools.map((t) => t.name).join(', '))
const result = await client.callTool({
  name: 'db_query',
  arguments: {
    model: 'Order',
    select: ['id', 'status', 'total'],
    orderBy: [{ field: 'total', direction: 'desc' }],
    limit: 3,
  },
})
console.log(JSON.stringify(result.structuredContent))
await client.close()
await mcp.close()
await database.close()
