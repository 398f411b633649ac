/**
 * Type tests, checked by `npm run typecheck` (never run): a policy typed from a Kysely database type refuses
 * misspelt names at compile time, and a toolset built from it types requests and rows. Each `@ts-expect-error`
 * fails the typecheck if the line below it ever compiles.
 */
import type { ColumnType, Generated } from 'kysely'
import { expectTypeOf } from 'vitest'
import { createToolset, definePolicy, type Policy, type RunContext, type Toolset } from '../../src/index.ts'
import type { AnyDatabase } from '../../src/schema/index.ts'

interface DB {
  orders: {
    id: Generated<string>
    tenant_id: string
    status: 'draft' | 'paid'
    total: ColumnType<string, string | number, string | number>
    customer_email: string | null
    internal_note: string
    created_at: ColumnType<Date, string | undefined, never>
    row_version: bigint
  }
  customers: { id: Generated<string>; tenant_id: string; name: string; ssn: string | null }
}

declare const db: AnyDatabase
declare const ctx: RunContext

const policy = definePolicy<DB>()({
  models: {
    Order: {
      table: 'orders',
      fields: {
        id: 'allow',
        tenant_id: 'allow',
        status: 'allow',
        total: 'allow',
        customer_email: 'mask',
        internal_note: 'deny',
        created_at: 'allow',
        row_version: { action: 'hash' },
      },
      scoping: { tenant_id: 'principal.tenantId' },
      relations: { customer: { model: 'Customer' } },
      write: { autoSet: { tenant_id: 'principal.tenantId' }, immutableFields: ['tenant_id'] },
    },
    Customer: {
      table: 'customers',
      fields: { id: 'allow', name: 'allow', ssn: 'hash' },
      scoping: { tenant_id: 'principal.tenantId' },
    },
  },
})

// A typed policy is still a Policy: everything that takes one keeps working.
expectTypeOf(policy).toExtend<Policy>()

// Misspelt names are compile errors.
definePolicy<DB>()({
  // @ts-expect-error the table does not exist
  models: { Order: { table: 'order', fields: { id: 'allow' } } },
})
definePolicy<DB>()({
  models: {
    Order: {
      table: 'orders',
      fields: {
        id: 'allow',
        // @ts-expect-error a misspelt field
        satus: 'allow',
      },
    },
  },
})
definePolicy<DB>()({
  models: {
    Order: {
      table: 'orders',
      // @ts-expect-error a misspelt scoping column
      scoping: { tenantid: 'principal.tenantId' },
    },
  },
})
definePolicy<DB>()({
  models: {
    Order: {
      table: 'orders',
      // @ts-expect-error a scoping value that is not a principal path
      scoping: { tenant_id: 'tenantId' },
    },
  },
})
definePolicy<DB>()({
  models: {
    Order: {
      table: 'orders',
      // @ts-expect-error a relation to a model the policy does not define
      relations: { customer: { model: 'Client' } },
    },
  },
})
definePolicy<DB>()({
  models: {
    Order: {
      table: 'orders',
      // @ts-expect-error an immutable field that is not a column
      write: { immutableFields: ['tenant'] },
    },
  },
})
definePolicy<DB>()({
  models: {
    Order: {
      table: 'orders',
      // @ts-expect-error an unscoped column that is not a column
      unscopedColumns: ['org_id'],
    },
  },
})

async function typedUse(): Promise<void> {
  const toolset = await createToolset({ db, policy, secret: 'type-test-secret' })

  const { rows } = await toolset.query(ctx, {
    model: 'Order',
    select: ['id', 'status', 'customer_email', 'created_at', 'row_version'],
    where: {
      and: [
        { field: 'status', op: 'eq', value: 'paid' },
        { field: 'total', op: 'gt', value: 10 },
      ],
    },
    orderBy: [{ field: 'created_at', direction: 'desc' }],
  })
  const row = rows[0]!
  expectTypeOf(row.id).toEqualTypeOf<string>()
  expectTypeOf(row.status).toEqualTypeOf<'draft' | 'paid'>()
  // Masked: a string (null where the column holds null); hashed: a string; Dates and bigints as strings.
  expectTypeOf(row.customer_email).toEqualTypeOf<string | null>()
  expectTypeOf(row.row_version).toEqualTypeOf<string>()
  expectTypeOf(row.created_at).toEqualTypeOf<string>()
  // Only the selected fields are there.
  expectTypeOf(row).not.toHaveProperty('total')

  // Without select: every readable field, never a denied one.
  const all = await toolset.query(ctx, { model: 'Order' })
  expectTypeOf(all.rows[0]!).toHaveProperty('total')
  expectTypeOf(all.rows[0]!).not.toHaveProperty('internal_note')

  const one = await toolset.get(ctx, { model: 'Customer', id: 'c1', select: ['name', 'ssn'] })
  expectTypeOf(one.row).toEqualTypeOf<{ name: string; ssn: string | null }>()

  // @ts-expect-error a misspelt field in select
  await toolset.query(ctx, { model: 'Order', select: ['stauts'] })
  // @ts-expect-error a denied field in select
  await toolset.query(ctx, { model: 'Order', select: ['internal_note'] })
  // @ts-expect-error a misspelt field in where
  await toolset.query(ctx, { model: 'Order', where: { field: 'totl', op: 'gt', value: 1 } })
  // @ts-expect-error a model the policy does not define
  await toolset.query(ctx, { model: 'Invoice' })

  // Writes: data keyed by writable fields with the column's insert type; the row back has readable fields.
  const created = await toolset.create(ctx, { model: 'Order', data: { status: 'draft', total: 12.5 } })
  expectTypeOf(created.row.status).toEqualTypeOf<'draft' | 'paid'>()
  expectTypeOf(created.row).not.toHaveProperty('internal_note')
  await toolset.update(ctx, { model: 'Order', id: 'o1', data: { status: 'paid' }, reason: 'paid by card' })
  // @ts-expect-error a misspelt field in data
  await toolset.create(ctx, { model: 'Order', data: { stauts: 'draft' } })
  // @ts-expect-error a value outside the column's type
  await toolset.create(ctx, { model: 'Order', data: { status: 'shipped' } })
  // @ts-expect-error an auto-set field: the server sets it from the principal
  await toolset.create(ctx, { model: 'Order', data: { tenant_id: 't2' } })
  // @ts-expect-error a masked field that is not writable
  await toolset.create(ctx, { model: 'Order', data: { customer_email: 'x@example.com' } })
  // @ts-expect-error a denied field
  await toolset.update(ctx, { model: 'Order', id: 'o1', data: { internal_note: 'x' } })
}

async function untypedUse(plain: Policy): Promise<void> {
  // A policy without a database type keeps the untyped toolset.
  const toolset = await createToolset({ db, policy: plain, secret: 'type-test-secret' })
  expectTypeOf(toolset).toEqualTypeOf<Toolset>()
  const { rows } = await toolset.query(ctx, { model: 'Anything', select: ['whatever'] })
  expectTypeOf(rows[0]!).toEqualTypeOf<Record<string, unknown>>()
}

export { typedUse, untypedUse }
