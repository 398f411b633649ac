/**
 * A PostgreSQL server: the pool `createPostgresDatabase` makes (acquire timeout, prepared statements), a policy
 * file, one read as one tenant, and the pool closed at the end — an open pool keeps Node running until its
 * idle connections time out. Needs `DATABASE_URL` naming a database that holds the SaaS fixture
 * (`fixtures/saas/*.sql`). Run with `DATABASE_URL=postgres://… npx tsx --conditions=tessera-source
 * examples/postgres-server.ts`.
 */
import { createPostgresDatabase, createToolset, loadPolicyFile } from 'tessera-db'

const url = process.env['DATABASE_URL']
if (url === undefined || url === '') {
  console.error(
    'Set DATABASE_URL to a PostgreSQL database that holds the SaaS fixture (fixtures/saas/*.sql).',
  )
  process.exit(2)
}
const { db, close } = createPostgresDatabase(url)
try {
  const toolset = await createToolset({
    db,
    policy: await loadPolicyFile(new URL('../policies/demo.yaml', import.meta.url).pathname),
    secret: process.env['TESSERA_SECRET'] ?? 'example-secret-change-me-0123456789',
    role: 'tessera_app', // the non-superuser role RLS and grants apply to (fixtures/saas/roles.sql)
  })
  const acme = { principal: { tenantId: 'a0000000-0000-4000-8000-000000000000', roles: ['member'] } }
  const { rows, hasMore } = await toolset.query(acme, {
    model: 'Order',
    select: ['id', 'status', 'total'],
    where: { field: 'status', op: 'eq', value: 'paid' },
    orderBy: [{ field: 'total', direction: 'desc' }],
    limit: 3,
  })
  console.log(JSON.stringify({ rows, hasMore }))
} finally {
  await close()
}
