import { readFileSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { sql } from 'kysely'
import { beforeAll, expect, it } from 'vitest'
import { parse as parseYaml } from 'yaml'
import { isTesseraError, type TesseraError } from '../../src/errors/index.ts'
import { bindPolicy, definePolicy, loadPolicyFile, type PolicyInput } from '../../src/policy/index.ts'
import { introspectSchema } from '../../src/schema/introspect-schema.ts'
import type { DbSchema } from '../../src/schema/types.ts'
import { describeEachDatabase } from '../support/databases.ts'

const POLICY_DIR = 'policies'
const policyFiles = readdirSync(POLICY_DIR).filter(
  (f) => /\.(ya?ml|json)$/.test(f) && f !== 'policy.schema.json',
)

type Mutable = Record<string, any>

function demo(): Mutable {
  return parseYaml(readFileSync(join(POLICY_DIR, 'demo.yaml'), 'utf8')) as Mutable
}

function bindError(schema: DbSchema, input: Mutable): { path: string; message: string }[] {
  const policy = definePolicy(input as PolicyInput)
  let error: TesseraError | undefined
  try {
    bindPolicy(policy, schema)
  } catch (e) {
    if (!isTesseraError(e)) throw e
    error = e
  }
  expect(error?.code).toBe('POLICY_INVALID')
  return (error?.details['problems'] ?? []) as { path: string; message: string }[]
}

describeEachDatabase('bindPolicy', (db) => {
  let schema: DbSchema

  beforeAll(async () => {
    const { admin, app, appRole } = db()
    // Tables the fixture lacks: two foreign keys to the same table, and a table without a primary key.
    await sql`
      create table transfers (
        id uuid primary key default gen_random_uuid(),
        tenant_id uuid not null references tenants(id),
        from_customer_id uuid not null references customers(id),
        to_customer_id uuid not null references customers(id)
      )`.execute(admin)
    await sql`create table loose_notes (tenant_id uuid not null, note text)`.execute(admin)
    await sql`grant select on transfers, loose_notes to tessera_app`.execute(admin)
    schema = await introspectSchema(app, appRole === undefined ? {} : { role: appRole })
  })

  it('loads and binds every policy file in policies/', async () => {
    expect(policyFiles).toContain('demo.yaml')
    expect(policyFiles.length).toBeGreaterThanOrEqual(8)
    for (const file of policyFiles) {
      const bound = bindPolicy(await loadPolicyFile(join(POLICY_DIR, file)), schema)
      expect(Object.keys(bound.models).length, file).toBeGreaterThan(0)
    }
  })

  it('resolves relations to foreign keys with the right cardinality and column pairs', async () => {
    const bound = bindPolicy(await loadPolicyFile(join(POLICY_DIR, 'demo.yaml')), schema)
    const models = bound.models
    expect(models['Order']?.relations['customer']).toEqual({
      name: 'customer',
      target: 'Customer',
      cardinality: 'one',
      pairs: [{ local: 'customer_id', remote: 'id' }],
    })
    expect(models['Customer']?.relations['orders']).toEqual({
      name: 'orders',
      target: 'Order',
      cardinality: 'many',
      pairs: [{ local: 'id', remote: 'customer_id' }],
    })
    expect(models['OrderItem']?.relations['order']).toEqual({
      name: 'order',
      target: 'Order',
      cardinality: 'one',
      pairs: [
        { local: 'tenant_id', remote: 'tenant_id' },
        { local: 'order_id', remote: 'id' },
      ],
    })
    expect(models['Order']?.relations['items']?.cardinality).toBe('many')
    expect(models['Order']?.relations['items']?.pairs).toEqual([
      { local: 'tenant_id', remote: 'tenant_id' },
      { local: 'id', remote: 'order_id' },
    ])
    expect(models['Order']?.relations['creator']).toMatchObject({
      cardinality: 'one',
      pairs: [{ local: 'created_by', remote: 'id' }],
    })
  })

  it('binds every column of the table with its effective rule, in table order', async () => {
    const bound = bindPolicy(await loadPolicyFile(join(POLICY_DIR, 'demo.yaml')), schema)
    const user = bound.models['User']
    expect(Object.keys(user?.fields ?? {})).toEqual([
      'id',
      'tenant_id',
      'name',
      'role',
      'email',
      'phone',
      'password_hash',
      'api_token',
      'created_at',
    ])
    expect(user?.fields['password_hash']?.rule).toEqual({ action: 'deny' })
    expect(user?.fields['email']?.rule).toEqual({ action: 'mask' })
    expect(user?.fields['email']?.column.typeClass).toBe('string')
    // Not listed in the policy: takes the default field action (deny).
    expect(bound.models['Order']?.fields['deleted_at']?.rule).toEqual({ action: 'deny' })
    expect(bound.models['Invoice']?.fields['card_number']?.rule).toEqual({
      action: 'mask',
      pattern: '****{last4}',
    })
    expect(bound.models['OrderItem']?.primaryKey).toEqual(['id'])
    expect(bound.models['Country']?.primaryKey).toEqual(['code'])
  })

  it('returns a deeply frozen bound policy without freezing the caller’s schema', async () => {
    const copy = structuredClone(schema)
    const bound = bindPolicy(await loadPolicyFile(join(POLICY_DIR, 'demo.yaml')), copy)
    expect(Object.isFrozen(bound)).toBe(true)
    expect(Object.isFrozen(bound.models['Order']?.fields['id']?.column)).toBe(true)
    expect(Object.isFrozen(bound.models['Order']?.relations['items']?.pairs)).toBe(true)
    expect(Object.isFrozen(copy.tables['orders'])).toBe(false)
  })

  it('rejects an unknown table', () => {
    const input = demo()
    input['models'].Order.table = 'orderz'
    expect(bindError(schema, input)).toEqual([
      { path: 'models.Order.table', message: "unknown table 'orderz' (did you mean 'orders'?)" },
    ])
  })

  it('rejects a table without a primary key', () => {
    const input = { models: { Note: { table: 'loose_notes', scoping: { tenant_id: 'principal.tenantId' } } } }
    expect(bindError(schema, input)).toEqual([
      {
        path: 'models.Note.table',
        message: expect.stringContaining("table 'loose_notes' has no primary key"),
      },
    ])
  })

  it('rejects unknown columns in fields, scoping, conditions, aggregations and write settings', () => {
    const input = demo()
    const order = input['models'].Order
    order.fields.totl = 'allow'
    order.scoping.tenantid = 'principal.tenantId'
    order.rowPolicies = [{ name: 'paid_only', condition: "statuz = 'paid'", mode: 'restrictive' }]
    order.aggregations.fields = ['totl']
    order.aggregations.groupBy = ['state']
    order.write.autoSet.created_byy = 'principal.userId'
    order.write.immutableFields = ['tenantid']
    order.write.requiredFields = ['customerid']
    order.write.softDelete = { field: 'removed_at' }
    // A close column name is suggested; 'removed_at' is too far from every column for a guess.
    const unknown = (column: string, close?: string): string =>
      `unknown column '${column}' on table 'orders'${close === undefined ? '' : ` (did you mean '${close}'?)`}`
    expect(bindError(schema, input)).toEqual([
      { path: 'models.Order.fields.totl', message: unknown('totl', 'total') },
      { path: 'models.Order.scoping.tenantid', message: unknown('tenantid', 'tenant_id') },
      {
        path: 'models.Order.rowPolicies[0].condition',
        message: `row policy 'paid_only' references ${unknown('statuz', 'status')}`,
      },
      { path: 'models.Order.aggregations.fields[0]', message: unknown('totl', 'total') },
      { path: 'models.Order.aggregations.groupBy[0]', message: unknown('state', 'status') },
      { path: 'models.Order.write.autoSet.created_byy', message: unknown('created_byy', 'created_by') },
      { path: 'models.Order.write.immutableFields[0]', message: unknown('tenantid', 'tenant_id') },
      { path: 'models.Order.write.requiredFields[0]', message: unknown('customerid', 'customer_id') },
      { path: 'models.Order.write.softDelete.field', message: unknown('removed_at') },
    ])
  })

  it('rejects a model whose tenant column is neither scoped, used by a permissive rule, nor waived', () => {
    const input = demo()
    input['models'].Order.scoping = { org_id: 'principal.metadata.orgId' }
    delete input['models'].Order.unscopedColumns
    delete input['models'].Customer.unscopedColumns
    expect(bindError(schema, input)).toEqual([
      {
        path: 'models.Customer.scoping',
        message: expect.stringMatching(
          /^model 'Customer' has tenant-like column 'org_id' that is neither scoped/,
        ),
      },
      {
        path: 'models.Order.scoping',
        message: expect.stringMatching(
          /^model 'Order' has tenant-like column 'tenant_id' that is neither scoped/,
        ),
      },
    ])
  })

  it('accepts a tenant column that a permissive rule uses, and one on a shared model', () => {
    const input = {
      models: {
        Customer: {
          table: 'customers',
          fields: { id: 'allow', tenant_id: 'allow', org_id: 'allow' },
          rowPolicies: [
            {
              name: 'own_org',
              condition: "tenant_id = principal.tenantId AND org_id = 'main'",
              mode: 'permissive',
            },
          ],
        },
        User: { table: 'users', shared: true, fields: { id: 'allow' } },
      },
    } satisfies PolicyInput
    expect(Object.keys(bindPolicy(definePolicy(input), schema).models)).toEqual(['Customer', 'User'])
  })

  it('rejects a relation that joins on a denied or masked field (the include would reveal its value)', () => {
    const input = demo()
    input['models'].Order.fields.customer_id = 'deny'
    expect(bindError(schema, input).filter((p) => p.path.includes('.relations.'))).toEqual([
      {
        path: 'models.Customer.relations.orders',
        message: "relation 'orders' joins on 'customer_id', which is not 'allow' on Order",
      },
      {
        path: 'models.Order.relations.customer',
        message: "relation 'customer' joins on 'customer_id', which is not 'allow' on Order",
      },
    ])
  })

  it('rejects a primary key that is not allow', () => {
    const input = demo()
    input['models'].Invoice.fields.id = 'hash'
    expect(bindError(schema, input)).toEqual([
      {
        path: 'models.Invoice.fields.id',
        message: "primary key column 'id' must be 'allow': rows are addressed by it",
      },
    ])
  })

  it('rejects a relation that no foreign key backs', () => {
    const input = demo()
    input['models'].Order.relations.country = { model: 'Country' }
    input['models'].Order.relations.customer.foreignKey = 'created_by'
    expect(bindError(schema, input)).toEqual([
      {
        path: 'models.Order.relations.customer',
        message: expect.stringContaining(
          "no foreign key on (created_by) links table 'orders' and table 'customers'",
        ),
      },
      {
        path: 'models.Order.relations.country',
        message: "relation 'country': no foreign key links table 'orders' and table 'countries'",
      },
    ])
  })

  it('rejects an ambiguous relation and resolves it once foreignKey chooses', () => {
    const input: Mutable = {
      models: {
        Transfer: {
          table: 'transfers',
          defaultFieldAction: 'allow',
          scoping: { tenant_id: 'principal.tenantId' },
          relations: { customer: { model: 'Customer' } },
        },
        Customer: {
          table: 'customers',
          fields: { id: 'allow' },
          scoping: { tenant_id: 'principal.tenantId' },
          unscopedColumns: ['org_id'],
          relations: { transfers: { model: 'Transfer' } },
        },
      },
    }
    const found = bindError(schema, input)
    expect(found.map((p) => p.path)).toEqual([
      'models.Transfer.relations.customer',
      'models.Customer.relations.transfers',
    ])
    for (const problem of found) expect(problem.message).toMatch(/several foreign keys link .*set foreignKey/)

    input['models'].Transfer.relations.customer.foreignKey = 'to_customer_id'
    input['models'].Customer.relations.transfers.foreignKey = ['from_customer_id']
    const bound = bindPolicy(definePolicy(input as PolicyInput), schema)
    expect(bound.models['Transfer']?.relations['customer']).toMatchObject({
      cardinality: 'one',
      pairs: [{ local: 'to_customer_id', remote: 'id' }],
    })
    expect(bound.models['Customer']?.relations['transfers']).toMatchObject({
      cardinality: 'many',
      pairs: [{ local: 'id', remote: 'from_customer_id' }],
    })
  })

  it('rejects condition literals that do not fit the column type', () => {
    const input = demo()
    const customer = input['models'].Customer
    customer.rowPolicies = [
      {
        name: 'public',
        condition: "is_public = 'yes' OR tenant_id = principal.tenantId",
        mode: 'permissive',
        crossTenant: true,
      },
      { name: 'big', condition: "id != 'not-a-uuid' AND name != 5", mode: 'restrictive' },
    ]
    input['models'].Order.rowPolicies = [
      { name: 'cheap', condition: "total = 'abc' OR status = null", mode: 'restrictive' },
      {
        name: 'fine',
        condition: "total < '100.50' AND created_at > '2026-01-01' AND status IN ('paid', 'open')",
        mode: 'restrictive',
      },
    ]
    expect(bindError(schema, input)).toEqual([
      {
        path: 'models.Customer.rowPolicies[0].condition',
        message: "row policy 'public' compares boolean column 'is_public' with string 'yes'",
      },
      {
        path: 'models.Customer.rowPolicies[1].condition',
        message:
          "row policy 'big' compares uuid column 'id' with string 'not-a-uuid', which is not a valid uuid",
      },
      {
        path: 'models.Customer.rowPolicies[1].condition',
        message: "row policy 'big' compares string column 'name' with number 5",
      },
      {
        path: 'models.Order.rowPolicies[0].condition',
        message: "row policy 'cheap' compares numeric column 'total' with string 'abc'",
      },
      {
        path: 'models.Order.rowPolicies[0].condition',
        message: expect.stringContaining("compares column 'status' with null"),
      },
    ])
  })

  it('rejects a row policy that references a denied field', () => {
    const input = demo()
    input['models'].Order.rowPolicies = [
      { name: 'live', condition: 'deleted_at IS NULL', mode: 'restrictive' },
    ]
    expect(bindError(schema, input)).toEqual([
      {
        path: 'models.Order.rowPolicies[0].condition',
        message: expect.stringMatching(
          /^row policy 'live' references field 'deleted_at', which the policy denies/,
        ),
      },
    ])
  })

  it('rejects aggregation and groupBy on denied, masked and hashed fields', () => {
    const input = demo()
    input['models'].Order.aggregations = { fields: ['total', 'deleted_at'], groupBy: ['status'] }
    input['models'].Customer.aggregations = { groupBy: ['email', 'ssn'] }
    expect(bindError(schema, input)).toEqual([
      {
        path: 'models.Customer.aggregations.groupBy[0]',
        message: "'email' is masked; only allowed fields can be aggregated or grouped by",
      },
      {
        path: 'models.Customer.aggregations.groupBy[1]',
        message: "'ssn' is hashed; only allowed fields can be aggregated or grouped by",
      },
      {
        path: 'models.Order.aggregations.fields[1]',
        message: "'deleted_at' is denied; only allowed fields can be aggregated or grouped by",
      },
    ])
  })

  it('rejects write settings the columns cannot honour', () => {
    const input = demo()
    const write = input['models'].Order.write
    write.softDelete = { field: 'status' }
    write.autoSet.org_id = 'now()'
    write.requiredFields = ['deleted_at']
    const found = bindError(schema, input)
    expect(found).toEqual([
      {
        path: 'models.Order.write.autoSet.org_id',
        message: expect.stringContaining('now() can only set a timestamp'),
      },
      {
        path: 'models.Order.write.requiredFields[0]',
        message: expect.stringContaining("'deleted_at' is denied"),
      },
      { path: 'models.Order.write.softDelete.field', message: expect.stringContaining('nullable timestamp') },
    ])
  })

  it('reports the problems of every model in one error', () => {
    const input = demo()
    input['models'].Order.table = 'orderz'
    input['models'].User.fields.passwd = 'deny'
    input['models'].Invoice.relations.customer = { model: 'Customer' }
    expect(bindError(schema, input).map((p) => p.path)).toEqual([
      'models.User.fields.passwd',
      'models.Order.table',
      'models.Invoice.relations.customer',
    ])
  })
})
