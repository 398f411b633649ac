/**
 * A stdio MCP server over the SaaS fixture on PGlite, spawned by test/e2e/mcp-stdio.test.ts as a real child
 * process. It logs to stderr at info level, so the test can prove nothing but protocol reaches stdout.
 */
import { createPgliteDatabase } from '../../src/executor/index.ts'
import { createMcpServer } from '../../src/mcp/index.ts'
import { loadPolicyFile } from '../../src/policy/index.ts'
import { createToolset } from '../../src/tools/index.ts'
import { DEMO_APP_ROLE, saasFixtureSql } from '../../src/cli/saas-fixture.ts'
import { TENANT_A, TEST_SECRET, USER_ALICE } from './saas.ts'

const database = await createPgliteDatabase()
await database.pglite.exec(saasFixtureSql())
const toolset = await createToolset({
  db: database.db,
  policy: await loadPolicyFile('policies/demo.yaml'),
  secret: TEST_SECRET,
  role: DEMO_APP_ROLE,
})
const mcp = await createMcpServer({ toolset, db: database.db })
const running = await mcp.serveStdio({ tenantId: TENANT_A, userId: USER_ALICE, roles: ['member'] })
console.error('stdio server ready')
await running.closed
await mcp.close()
await database.close()
