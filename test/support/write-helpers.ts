/** Oracle reads for the write tests: byte-exact snapshots through the unscoped admin connection. */
import { sql } from 'kysely'
import type { PolicyInput } from '../../src/policy/policy-schema.ts'
import type { TestDatabase } from './databases.ts'

type ModelInput = PolicyInput['models'][string]

/** The fixture's order_items as the write suites use it: every column readable, created with the caller's tenant. */
export const CREATABLE_ORDER_ITEM = {
  table: 'order_items',
  fields: {
    id: 'allow',
    tenant_id: 'allow',
    order_id: 'allow',
    product_id: 'allow',
    quantity: 'allow',
    unit_price: 'allow',
  },
  scoping: { tenant_id: 'principal.tenantId' },
  write: { create: 'allow', autoSet: { tenant_id: 'principal.tenantId' } },
} as const satisfies ModelInput

export interface CaughtError {
  code: string
  message: string
  hints: string[]
  details: Record<string, unknown>
}

export async function errorOf(p: Promise<unknown>): Promise<CaughtError> {
  try {
    await p
  } catch (e) {
    return JSON.parse(JSON.stringify(e)) as CaughtError
  }
  throw new Error('expected the call to fail')
}

const TENANT_TABLES = ['orders', 'customers', 'order_items', 'invoices', 'users'] as const

/** Every row of one tenant in the tenant tables, as PostgreSQL's own JSON text: equal means byte-identical. */
export async function tenantSnapshot(db: TestDatabase, tenantId: string): Promise<Record<string, string[]>> {
  const out: Record<string, string[]> = {}
  for (const table of TENANT_TABLES) {
    const r = await sql<{ j: string }>`select row_to_json(t)::text as j from ${sql.table(table)} t
      where tenant_id = ${tenantId} order by t.id::text`.execute(db.admin)
    out[table] = r.rows.map((row) => row.j)
  }
  return out
}

/** One row as PostgreSQL's JSON text (so timestamps, numerics and NULLs compare exactly), or null. */
export async function rowJson(db: TestDatabase, table: string, id: string | number): Promise<string | null> {
  const r = await sql<{
    j: string
  }>`select row_to_json(t)::text as j from ${sql.table(table)} t where t.id::text = ${String(id)}`.execute(
    db.admin,
  )
  return r.rows[0]?.j ?? null
}

export async function rowOf(
  db: TestDatabase,
  table: string,
  id: string | number,
): Promise<Record<string, unknown> | null> {
  const text = await rowJson(db, table, id)
  return text === null ? null : (JSON.parse(text) as Record<string, unknown>)
}

export async function countRows(db: TestDatabase, table: string): Promise<number> {
  const r = await sql<{ n: string }>`select count(*)::text as n from ${sql.table(table)}`.execute(db.admin)
  return Number(r.rows[0]?.n)
}
