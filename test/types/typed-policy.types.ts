/**
 * Type tests, checked by `npm run typecheck` (never run): a policy typed from a Kysely database type refuses
 * misspelt names at compile time, and a toolset built from it types requests and rows. Each `@ts-expect-error`
 * fails the typecheck if the line below it ever compiles.
 */
import type { ColumnType, Generated } from 'kysely'
import { expectTypeOf } from 'vitest'
import {
  createToolset,
  definePolicy,
  type AggregateResult,
  type BulkUpdateResult,
  type DeleteResult,
  type Policy,
  type RunContext,
  type Toolset,
} from '../../src/index.ts'
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
    customer_id: string | null
  }
  customers: { id: Generated<string>; tenant_id: string; name: string; ssn: string | null; notes: string }
  order_items: { id: Generated<string>; tenant_id: string; order_id: string; sku: string; quantity: number }
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
        customer_id: 'allow',
      },
      scoping: { tenant_id: 'principal.tenantId' },
      relations: {
        customer: { model: 'Customer', foreignKey: 'customer_id' },
        items: { model: 'OrderItem' },
      },
      aggregations: { fields: ['total', 'created_at', 'customer_email'], groupBy: ['status', 'customer_id'] },
      write: { autoSet: { tenant_id: 'principal.tenantId' }, immutableFields: ['tenant_id'] },
    },
    Customer: {
      table: 'customers',
      fields: { id: 'allow', name: 'allow', ssn: 'hash', notes: 'deny' },
      scoping: { tenant_id: 'principal.tenantId' },
      relations: { orders: { model: 'Order', foreignKey: 'customer_id' } },
    },
    OrderItem: {
      table: 'order_items',
      fields: { id: 'allow', order_id: 'allow', sku: 'allow', quantity: 'allow' },
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
  // @ts-expect-error a masked field in where: masked fields are read, never filtered
  await toolset.query(ctx, { model: 'Order', where: { field: 'customer_email', op: 'eq', value: 'x' } })
  // @ts-expect-error a hashed field in orderBy
  await toolset.query(ctx, { model: 'Order', orderBy: ['row_version'] })

  // Includes: rows of the related model, typed by its readable fields (masked as strings, denied absent).
  const withCustomer = await toolset.query(ctx, {
    model: 'Order',
    select: ['id'],
    include: { customer: { select: ['name', 'ssn'] } },
  })
  // The foreign key is on this table (orders.customer_id): one row, or null.
  expectTypeOf(withCustomer.rows[0]!).toEqualTypeOf<{
    id: string
    customer: { name: string; ssn: string | null } | null
  }>()
  const customer = await toolset.get(ctx, {
    model: 'Customer',
    id: 'c1',
    select: ['name'],
    include: {
      orders: {
        select: ['id', 'customer_email'],
        where: { field: 'status', op: 'eq', value: 'paid' },
        limit: 5,
      },
    },
  })
  // The foreign key is on the target's table (orders.customer_id): an array.
  expectTypeOf(customer.row.orders).toEqualTypeOf<{ id: string; customer_email: string | null }[]>()
  // `true`: every readable field of the target, never a denied one; includes nest.
  const nested = await toolset.get(ctx, {
    model: 'Customer',
    id: 'c1',
    select: ['id'],
    include: { orders: { select: ['id'], include: { customer: true } } },
  })
  const nestedCustomer = nested.row.orders[0]!.customer!
  expectTypeOf(nestedCustomer).toEqualTypeOf<{ id: string; name: string; ssn: string | null }>()
  expectTypeOf(nestedCustomer).not.toHaveProperty('notes')
  // Without a foreignKey the types cannot tell one from many: either shape.
  const withItems = await toolset.query(ctx, {
    model: 'Order',
    select: ['id'],
    include: { items: { select: ['sku'] } },
  })
  expectTypeOf(withItems.rows[0]!.items).toEqualTypeOf<{ sku: string }[] | { sku: string } | null>()
  // @ts-expect-error a misspelt relation
  await toolset.query(ctx, { model: 'Order', include: { custmer: true } })
  // @ts-expect-error a relation of another model
  await toolset.query(ctx, { model: 'Order', include: { orders: true } })
  // @ts-expect-error a denied field of the related model
  await toolset.query(ctx, { model: 'Order', include: { customer: { select: ['notes'] } } })
  // @ts-expect-error a misspelt include option
  await toolset.query(ctx, { model: 'Order', include: { customer: { selct: ['name'] } } })
  await toolset.get(ctx, {
    model: 'Order',
    id: 'o1',
    // @ts-expect-error where on a to-one include: it returns one row
    include: { customer: { where: { field: 'name', op: 'eq', value: 'x' } } },
  })
  await toolset.get(ctx, {
    model: 'Customer',
    id: 'c1',
    // @ts-expect-error a masked field of the related model in an include's where
    include: { orders: { where: { field: 'customer_email', op: 'eq', value: 'x' } } },
  })
  // @ts-expect-error a misspelt relation in a nested include
  await toolset.get(ctx, { model: 'Customer', id: 'c1', include: { orders: { include: { itmes: true } } } })

  // Aggregates: the result is shaped by op, field and groupBy.
  const count = await toolset.aggregate(ctx, { model: 'Order', op: 'count' })
  expectTypeOf(count).toEqualTypeOf<{ value: number | string }>()
  const sum = await toolset.aggregate(ctx, { model: 'Order', op: 'sum', field: 'total' })
  expectTypeOf(sum).toEqualTypeOf<{ value: string | null }>()
  const latest = await toolset.aggregate(ctx, { model: 'Order', op: 'max', field: 'created_at' })
  expectTypeOf(latest).toEqualTypeOf<{ value: string | null }>()
  const byStatus = await toolset.aggregate(ctx, {
    model: 'Order',
    op: 'count',
    where: { field: 'total', op: 'gt', value: 10 },
    groupBy: ['status', 'customer_id'],
  })
  expectTypeOf(byStatus.groups[0]!.key).toEqualTypeOf<{
    status: 'draft' | 'paid'
    customer_id: string | null
  }>()
  expectTypeOf(byStatus.groups[0]!.value).toEqualTypeOf<number | string>()
  // @ts-expect-error an aggregate on a denied field
  await toolset.aggregate(ctx, { model: 'Order', op: 'max', field: 'internal_note' })
  // @ts-expect-error an aggregate on a masked field (listed in aggregations, but masked values are never aggregated)
  await toolset.aggregate(ctx, { model: 'Order', op: 'max', field: 'customer_email' })
  // @ts-expect-error an allowed field the policy's aggregations do not list
  await toolset.aggregate(ctx, { model: 'Order', op: 'max', field: 'status' })
  // @ts-expect-error sum names a field
  await toolset.aggregate(ctx, { model: 'Order', op: 'sum' })
  // @ts-expect-error a groupBy field the policy's aggregations do not list
  await toolset.aggregate(ctx, { model: 'Order', op: 'count', groupBy: ['total'] })
  // @ts-expect-error a model without aggregations aggregates no field
  await toolset.aggregate(ctx, { model: 'Customer', op: 'max', field: 'name' })

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
  // An approved write is sent again with its approvalId.
  await toolset.update(ctx, { model: 'Order', id: 'o1', data: { status: 'paid' }, approvalId: 'ap-1' })

  // delete and bulkUpdate: model names from the policy, bulk data as for update, results typed.
  const deleted = await toolset.delete(ctx, { model: 'Order', id: 'o1', reason: 'duplicate', hard: false })
  expectTypeOf(deleted).toEqualTypeOf<DeleteResult>()
  expectTypeOf(deleted.deleted).toEqualTypeOf<1>()
  expectTypeOf(deleted.soft).toEqualTypeOf<boolean>()
  const bulk = await toolset.bulkUpdate(ctx, { model: 'Order', ids: ['o1', 'o2'], data: { status: 'paid' } })
  expectTypeOf(bulk).toEqualTypeOf<BulkUpdateResult>()
  expectTypeOf(bulk.updated).toEqualTypeOf<number>()
  // @ts-expect-error a model the policy does not have
  await toolset.delete(ctx, { model: 'Invoice', id: 'i1' })
  // @ts-expect-error a misspelt option
  await toolset.delete(ctx, { model: 'Order', id: 'o1', hrad: true })
  // @ts-expect-error a value outside the column's type
  await toolset.bulkUpdate(ctx, { model: 'Order', ids: ['o1'], data: { status: 'shipped' } })
  // @ts-expect-error an immutable field
  await toolset.bulkUpdate(ctx, { model: 'Order', ids: ['o1'], data: { tenant_id: 't2' } })
  // @ts-expect-error ids is a list
  await toolset.bulkUpdate(ctx, { model: 'Order', ids: 'o1', data: { status: 'paid' } })
}

async function untypedUse(plain: Policy): Promise<void> {
  // A policy without a database type keeps the untyped toolset.
  const toolset = await createToolset({ db, policy: plain, secret: 'type-test-secret' })
  expectTypeOf(toolset).toEqualTypeOf<Toolset>()
  const { rows } = await toolset.query(ctx, {
    model: 'Anything',
    select: ['whatever'],
    include: { any: true },
  })
  expectTypeOf(rows[0]!).toEqualTypeOf<Record<string, unknown>>()
  const aggregate = await toolset.aggregate(ctx, { model: 'Anything', op: 'sum', field: 'whatever' })
  expectTypeOf(aggregate).toEqualTypeOf<AggregateResult>()
}

export { typedUse, untypedUse }
