/**
 * Quick start on the embedded database: load the SaaS fixture into PGlite, bind a policy written inline, and
 * read as one tenant. Run with `npx tsx --conditions=tessera-source examples/embedded-quickstart.ts`
 * (`DATABASE_URL` set: the same on PostgreSQL); type-checked by `npm run typecheck`.
 */
import { createToolset, definePolicy } from 'tessera-db'
import { openExampleDatabase } from './example-database.ts'

const database = await openExampleDatabase()

const policy = definePolicy({
  models: {
    Customer: {
      table: 'customers',
      fields: { id: 'allow', name: 'allow', email: 'mask', ssn: 'hash', notes: 'allow' },
      scoping: { tenant_id: 'principal.tenantId' },
      unscopedColumns: ['org_id'],
    },
  },
})

const toolset = await createToolset({
  db: database.db,
  policy,
  secret: 'example-secret-change-me-0123456789',
  role: 'tessera_app', // PGlite runs as a superuser; RLS-style guarantees need a non-superuser role
})

const acme = { principal: { tenantId: 'a0000000-0000-4000-8000-000000000000' } }
const { rows } = await toolset.query(acme, { model: 'Customer', orderBy: [{ field: 'name' }], limit: 3 })
console.log(rows)
await database.close()
