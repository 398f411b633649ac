/**
 * A domain tool: an application's own typed tool next to the generic ones. Its handler reads through the
 * data API bound to the caller, so it is scoped, policy-checked and audited like any agent call — and it can
 * never see another tenant's rows. Run with `npx tsx --conditions=tessera-source examples/domain-tool.ts`
 * (embedded), or with `DATABASE_URL` set to a PostgreSQL database holding the SaaS fixture.
 */
import { z } from 'zod'
import { createToolset, loadPolicyFile } from 'tessera-db'
import { openExampleDatabase } from './example-database.ts'

const database = await openExampleDatabase()
const toolset = await createToolset({
  db: database.db,
  policy: await loadPolicyFile(new URL('../policies/demo.yaml', import.meta.url).pathname),
  secret: 'example-secret-change-me-0123456789',
  role: 'tessera_app',
})

toolset.defineTool({
  name: 'customer_revenue',
  description: "A customer's paid revenue and order count",
  input: z.object({ customerId: z.string().uuid() }),
  output: z.object({ orders: z.number().int(), revenue: z.string() }),
  annotations: { readOnlyHint: true, idempotentHint: true },
  handler: async ({ customerId }, _ctx, data) => {
    const where = [
      { field: 'customer_id', op: 'eq', value: customerId },
      { field: 'status', op: 'eq', value: 'paid' },
    ]
    const { rows } = await data.query({ model: 'Order', select: ['total'], where, limit: 100 })
    const cents = rows.reduce((sum, r) => sum + Math.round(Number(r['total']) * 100), 0)
    return { orders: rows.length, revenue: (cents / 100).toFixed(2) }
  },
})

const acme = { principal: { tenantId: 'a0000000-0000-4000-8000-000000000000', roles: ['member'] } }
console.log(
  JSON.stringify(
    await toolset.call(acme, 'customer_revenue', { customerId: 'c0a00000-0000-4000-8000-000000000001' }),
  ),
)
// Globex's customer, asked by acme: the data API scopes it away.
console.log(
  JSON.stringify(
    await toolset.call(acme, 'customer_revenue', { customerId: 'c0b00000-0000-4000-8000-000000000001' }),
  ),
)
await database.close()
