/**
 * A toolset typed from the database's Kysely type (written by hand here; `kysely-codegen` generates one). The
 * policy's tables, fields and scoping columns are checked at compile time, and `query` rows are typed by the
 * selected fields (masked fields as strings, denied fields absent), included rows by the related model's fields,
 * and `aggregate` results by the `groupBy` fields. Prints one line per customer and one with revenue by status.
 * Run with
 * `npx tsx --conditions=tessera-source examples/typed-toolset.ts` (embedded, or `DATABASE_URL`).
 */
import type { ColumnType, Generated } from 'kysely'
import { createToolset, definePolicy } from 'tessera-db'
import { openExampleDatabase } from './example-database.ts'

/** The part of the SaaS fixture's schema this example reads. */
interface Database {
  customers: {
    id: Generated<string>
    tenant_id: string
    org_id: string
    name: string
    email: string | null
    ssn: string | null
    notes: string | null
    created_at: ColumnType<Date, string | undefined, never>
  }
  orders: {
    id: Generated<string>
    tenant_id: string | null
    org_id: string
    customer_id: string | null
    status: string
    total: ColumnType<string, string | number, string | number>
    created_at: ColumnType<Date, string | undefined, never>
  }
}

const policy = definePolicy<Database>()({
  models: {
    Customer: {
      table: 'customers',
      fields: { id: 'allow', name: 'allow', email: 'mask', ssn: 'deny', created_at: 'allow' },
      scoping: { tenant_id: 'principal.tenantId' },
      unscopedColumns: ['org_id'],
      // foreignKey on the target's table (orders.customer_id): the types know an include returns an array.
      relations: { orders: { model: 'Order', foreignKey: 'customer_id' } },
    },
    Order: {
      table: 'orders',
      fields: { id: 'allow', customer_id: 'allow', status: 'allow', total: 'allow', created_at: 'allow' },
      scoping: { tenant_id: 'principal.tenantId' },
      unscopedColumns: ['org_id'],
      relations: { customer: { model: 'Customer', foreignKey: 'customer_id' } },
      aggregations: { fields: ['total'], groupBy: ['status'] },
    },
  },
})

const database = await openExampleDatabase()
const toolset = await createToolset({
  db: database.db,
  policy,
  secret: 'example-secret-change-me-0123456789',
  role: 'tessera_app',
})
const acme = { principal: { tenantId: 'a0000000-0000-4000-8000-000000000000' } }

const { rows } = await toolset.query(acme, {
  model: 'Customer',
  select: ['name', 'email'],
  where: { field: 'name', op: 'startswith', value: 'A' },
  orderBy: [{ field: 'name' }],
  limit: 5,
  include: { orders: { select: ['status', 'total'], orderBy: [{ field: 'created_at', direction: 'desc' }] } },
})
for (const row of rows) {
  // `row.name` and `row.email` are strings (email masked); `row.ssn` would not compile: the field is denied.
  // `row.orders` is `{ status: string; total: string }[]`.
  const paid = row.orders.filter((order) => order.status === 'paid').length
  console.log(`${row.name} <${row.email}>: ${row.orders.length} orders, ${paid} paid`)
}

// `groups` is `{ key: { status: string }; value: string | null }[]`; a sum is exact decimal text.
const { groups } = await toolset.aggregate(acme, {
  model: 'Order',
  op: 'sum',
  field: 'total',
  groupBy: ['status'],
})
console.log(`revenue by status: ${groups.map((g) => `${g.key.status} ${g.value ?? '0'}`).join(', ')}`)
await database.close()
