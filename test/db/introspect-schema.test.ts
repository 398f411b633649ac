import { sql } from 'kysely'
import { beforeAll, expect, it } from 'vitest'
import { isTesseraError } from '../../src/errors/index.ts'
import {
  findColumn,
  introspectSchema,
  ROW_COUNT_CAP,
  type DbSchema,
  type IntrospectOptions,
  type TableInfo,
} from '../../src/schema/index.ts'
import { describeEachDatabase } from '../support/databases.ts'

const FIXTURE_TABLES = [
  'countries',
  'customers',
  'invoices',
  'order_items',
  'orders',
  'products',
  'tenants',
  'users',
]

describeEachDatabase('introspectSchema', (db) => {
  let fixture: DbSchema

  beforeAll(async () => {
    fixture = await introspectSchema(db().admin)
  })

  function table(schema: DbSchema, key: string): TableInfo {
    const info = schema.tables[key]
    if (!info) throw new Error(`table ${key} was not reported`)
    return info
  }

  function column(key: string, name: string) {
    const info = findColumn(table(fixture, key), name)
    if (!info) throw new Error(`column ${key}.${name} was not reported`)
    return info
  }

  /** Introspects as the non-superuser role the toolset runs as. */
  function introspectAsApp(options: IntrospectOptions = {}): Promise<DbSchema> {
    const { app, appRole } = db()
    return introspectSchema(app, appRole === undefined ? options : { ...options, role: appRole })
  }

  async function exec(statements: string): Promise<void> {
    for (const statement of statements.split(';').filter((s) => s.trim() !== '')) {
      await sql.raw(statement).execute(db().admin)
    }
  }

  async function reltuples(name: string): Promise<number> {
    const result = await sql<{ n: number }>`
      select reltuples::float8 as n from pg_class where oid = ${name}::regclass`.execute(db().admin)
    return result.rows[0]!.n
  }

  async function errorOf(promise: Promise<unknown>): Promise<unknown> {
    try {
      await promise
    } catch (error) {
      return error
    }
    throw new Error('expected a rejection')
  }

  it('reports exactly the eight fixture tables, keyed by name and in key order', () => {
    expect(Object.keys(fixture.tables)).toEqual(FIXTURE_TABLES)
    for (const key of FIXTURE_TABLES) {
      expect(table(fixture, key)).toMatchObject({ schema: 'public', name: key, key })
    }
  })

  it('reports the primary key of every fixture table', () => {
    const primaryKeys = Object.fromEntries(FIXTURE_TABLES.map((k) => [k, table(fixture, k).primaryKey]))
    expect(primaryKeys).toEqual({
      countries: ['code'],
      customers: ['id'],
      invoices: ['id'],
      order_items: ['id'],
      orders: ['id'],
      products: ['id'],
      tenants: ['id'],
      users: ['id'],
    })
  })

  it('pairs the composite foreign key of order_items with orders(tenant_id, id) column by column', () => {
    const composite = table(fixture, 'order_items').foreignKeys.filter((fk) => fk.columns.length > 1)
    expect(composite).toHaveLength(1)
    expect(composite[0]).toMatchObject({
      columns: ['tenant_id', 'order_id'],
      referencedSchema: 'public',
      referencedTable: 'orders',
      referencedColumns: ['tenant_id', 'id'],
    })
  })

  it('reports single-column foreign keys, including a self reference', () => {
    const pairs = (key: string) =>
      table(fixture, key).foreignKeys.map((fk) => ({
        columns: fk.columns,
        to: `${fk.referencedSchema}.${fk.referencedTable}`,
        referencedColumns: fk.referencedColumns,
      }))
    expect(pairs('order_items')).toContainEqual({
      columns: ['product_id'],
      to: 'public.products',
      referencedColumns: ['id'],
    })
    expect(pairs('orders')).toContainEqual({
      columns: ['customer_id'],
      to: 'public.customers',
      referencedColumns: ['id'],
    })
    expect(pairs('tenants')).toEqual([
      { columns: ['parent_id'], to: 'public.tenants', referencedColumns: ['id'] },
    ])
    expect(pairs('countries')).toEqual([])
    expect(table(fixture, 'orders').foreignKeys.map((fk) => fk.name)).toEqual(
      [...table(fixture, 'orders').foreignKeys.map((fk) => fk.name)].sort(),
    )
  })

  it('classifies fixture columns into type families and keeps the PostgreSQL type names', () => {
    expect(column('orders', 'total')).toMatchObject({
      typeClass: 'numeric',
      dataType: 'numeric(12,2)',
      udtName: 'numeric',
    })
    expect(column('order_items', 'id')).toMatchObject({ typeClass: 'bigint', udtName: 'int8' })
    expect(column('order_items', 'quantity')).toMatchObject({ typeClass: 'integer', dataType: 'integer' })
    expect(column('customers', 'is_public')).toMatchObject({ typeClass: 'boolean', udtName: 'bool' })
    expect(column('orders', 'created_at')).toMatchObject({
      typeClass: 'timestamp',
      dataType: 'timestamp with time zone',
      udtName: 'timestamptz',
    })
    expect(column('invoices', 'issued_on')).toMatchObject({ typeClass: 'timestamp', udtName: 'date' })
    expect(column('tenants', 'id')).toMatchObject({ typeClass: 'uuid', dataType: 'uuid' })
    expect(column('users', 'email')).toMatchObject({ typeClass: 'string', dataType: 'text' })
  })

  it('reports nullability, defaults and generated columns', () => {
    expect(column('products', 'id')).toMatchObject({
      generated: true,
      hasDefault: true,
      defaultExpression: null,
      nullable: false,
    })
    expect(column('order_items', 'id')).toMatchObject({ generated: false, hasDefault: true })
    expect(column('tenants', 'plan')).toMatchObject({
      hasDefault: true,
      defaultExpression: "'free'::text",
      generated: false,
      nullable: false,
    })
    expect(column('users', 'id').defaultExpression).toBe('gen_random_uuid()')
    expect(column('users', 'email')).toMatchObject({
      nullable: false,
      hasDefault: false,
      defaultExpression: null,
    })
    expect(column('orders', 'deleted_at')).toMatchObject({ nullable: true, hasDefault: false })
    expect(column('orders', 'tenant_id').nullable).toBe(true)
  })

  it('lists columns in declaration order with their ordinal', () => {
    const columns = table(fixture, 'orders').columns
    expect(columns.map((c) => c.name)).toEqual([
      'id',
      'tenant_id',
      'org_id',
      'customer_id',
      'status',
      'total',
      'created_by',
      'created_at',
      'deleted_at',
    ])
    expect(columns.map((c) => c.ordinal)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9])
  })

  it('reports indexes with columns in index order, unique constraints and primary keys', () => {
    const indexes = table(fixture, 'orders').indexes
    expect(indexes).toContainEqual({
      name: 'orders_tenant_created_idx',
      columns: ['tenant_id', 'created_at'],
      unique: false,
      primary: false,
    })
    expect(indexes).toContainEqual({ name: 'orders_pkey', columns: ['id'], unique: true, primary: true })
    expect(indexes).toContainEqual({
      name: 'orders_tenant_id_id_key',
      columns: ['tenant_id', 'id'],
      unique: true,
      primary: false,
    })
    expect(table(fixture, 'products').indexes).toContainEqual({
      name: 'products_sku_key',
      columns: ['sku'],
      unique: true,
      primary: false,
    })
    expect(table(fixture, 'users').indexes).toContainEqual({
      name: 'users_tenant_id_email_key',
      columns: ['tenant_id', 'email'],
      unique: true,
      primary: false,
    })
  })

  it('estimates rows from the statistics of an analysed table', () => {
    const products = table(fixture, 'products').estimatedRows
    expect(products).toBeGreaterThan(18_000)
    expect(products).toBeLessThan(22_000)
    expect(table(fixture, 'countries').estimatedRows).toBe(5)
  })

  it('returns deeply frozen, JSON-serialisable data with no inherited table keys', () => {
    expect(JSON.parse(JSON.stringify(fixture))).toEqual({
      tables: { ...fixture.tables },
      role: 'postgres',
      unreadableTables: [],
    })
    const orders = table(fixture, 'orders')
    for (const value of [
      fixture,
      fixture.tables,
      fixture.unreadableTables,
      orders,
      orders.columns,
      orders.columns[0],
      orders.indexes,
    ]) {
      expect(Object.isFrozen(value)).toBe(true)
    }
    expect(Object.isFrozen(table(fixture, 'order_items').foreignKeys[0]!.referencedColumns)).toBe(true)
    expect(fixture.tables['constructor']).toBeUndefined()
    expect(fixture.tables['toString']).toBeUndefined()
  })

  it('counts the rows of a table that was never analysed', async () => {
    await exec(`
      create table fresh_counted (id int primary key, label text) with (autovacuum_enabled = false);
      insert into fresh_counted values (1, 'a'), (2, 'b'), (3, 'c')`)
    expect(await reltuples('fresh_counted')).toBe(-1)
    const schema = await introspectSchema(db().admin)
    expect(table(schema, 'fresh_counted').estimatedRows).toBe(3)
  })

  it('caps the count of a large table that was never analysed', async () => {
    await exec(`
      create table fresh_large (n int) with (autovacuum_enabled = false);
      insert into fresh_large select g from generate_series(1, ${ROW_COUNT_CAP + 5}) as g`)
    expect(await reltuples('fresh_large')).toBe(-1)
    const schema = await introspectSchema(db().admin)
    expect(table(schema, 'fresh_large').estimatedRows).toBe(ROW_COUNT_CAP)
    // Every later introspection in this file would pay for the capped scan again.
    await exec(`drop table fresh_large`)
  })

  it('quotes catalog identifiers when counting a table with quotes and dots in its name', async () => {
    await exec(`
      create table "we""ird.name" (id int) with (autovacuum_enabled = false);
      insert into "we""ird.name" values (1), (2)`)
    const schema = await introspectSchema(db().admin)
    expect(table(schema, 'we"ird.name')).toMatchObject({
      schema: 'public',
      name: 'we"ird.name',
      estimatedRows: 2,
    })
  })

  it('as the app role, omits a table without a SELECT grant and reports it once granted', async () => {
    await exec(`create table admin_only_notes (id int primary key, body text)`)
    expect(Object.keys((await introspectSchema(db().admin)).tables)).toContain('admin_only_notes')

    const before = await introspectAsApp()
    expect(Object.keys(before.tables)).toEqual(FIXTURE_TABLES)
    // Named, so binding can say "cannot SELECT" instead of "unknown table".
    expect(before.unreadableTables).toContain('admin_only_notes')

    await exec(`grant select on admin_only_notes to tessera_app`)
    const after = await introspectAsApp()
    expect(Object.keys(after.tables)).toEqual([...FIXTURE_TABLES, 'admin_only_notes'].sort())
    expect(after.unreadableTables).not.toContain('admin_only_notes')
  })

  it('as the app role, reports the size cap when a row-level security policy makes the count fail', async () => {
    await exec(`
      create table failing_policy (id int primary key) with (autovacuum_enabled = false);
      insert into failing_policy values (1), (2);
      alter table failing_policy enable row level security;
      create policy needs_setting on failing_policy using (id = current_setting('tessera.never_set')::int);
      grant select on failing_policy to tessera_app`)
    const schema = await introspectAsApp()
    expect(table(schema, 'failing_policy').estimatedRows).toBe(ROW_COUNT_CAP)
    // The failed count did not abort the snapshot: tables after it in key order are still complete.
    expect(table(schema, 'users').columns.length).toBeGreaterThan(0)
    expect(table(schema, 'users').foreignKeys).toHaveLength(1)
  })

  it('reports a table of another schema as schema.name only when that schema is requested', async () => {
    await exec(`
      create schema reporting;
      create table reporting.daily_totals (
        tenant_id uuid not null references public.tenants(id),
        day date not null,
        total numeric not null,
        primary key (tenant_id, day)
      )`)
    const defaults = await introspectSchema(db().admin)
    expect(Object.keys(defaults.tables).filter((k) => k.includes('daily_totals'))).toEqual([])

    const both = await introspectSchema(db().admin, { schemas: ['public', 'reporting'] })
    expect(table(both, 'reporting.daily_totals')).toMatchObject({
      schema: 'reporting',
      name: 'daily_totals',
      key: 'reporting.daily_totals',
      primaryKey: ['tenant_id', 'day'],
      foreignKeys: [
        {
          columns: ['tenant_id'],
          referencedSchema: 'public',
          referencedTable: 'tenants',
          referencedColumns: ['id'],
        },
      ],
    })
    expect(both.tables['daily_totals']).toBeUndefined()
    expect(both.tables['orders']).toBeDefined()

    const only = await introspectSchema(db().admin, { schemas: ['reporting'] })
    expect(Object.keys(only.tables)).toEqual(['reporting.daily_totals'])
  })

  it('refuses to report two tables under the same key', async () => {
    await exec(`create schema clash; create table clash.t (id int); create table public."clash.t" (id int)`)
    const error = await errorOf(introspectSchema(db().admin, { schemas: ['public', 'clash'] }))
    expect(isTesseraError(error) && error.code).toBe('VALIDATION_ERROR')
  })

  it('reflects enabling and forcing row level security', async () => {
    await exec(`create table rls_probe (id int primary key)`)
    const flags = async () => {
      const t = table(await introspectSchema(db().admin), 'rls_probe')
      return { enabled: t.rlsEnabled, forced: t.rlsForced }
    }
    expect(await flags()).toEqual({ enabled: false, forced: false })
    await exec(`alter table rls_probe enable row level security`)
    expect(await flags()).toEqual({ enabled: true, forced: false })
    await exec(`alter table rls_probe force row level security`)
    expect(await flags()).toEqual({ enabled: true, forced: true })
  })

  it('reports a partitioned table but not its partitions', async () => {
    await exec(`
      create table events (tenant_id uuid not null, at date not null, kind text) partition by range (at);
      create table events_2026 partition of events for values from ('2026-01-01') to ('2027-01-01');
      insert into events values ('a0000000-0000-4000-8000-000000000000', '2026-03-01', 'x')`)
    const schema = await introspectSchema(db().admin)
    expect(table(schema, 'events').columns.map((c) => c.name)).toEqual(['tenant_id', 'at', 'kind'])
    expect(schema.tables['events_2026']).toBeUndefined()
  })

  it('classifies enum, domain and array columns through their base types', async () => {
    await exec(`
      create type mood as enum ('happy', 'sad');
      create domain positive_int as int4 check (value > 0);
      create domain small_positive as positive_int check (value < 100);
      create domain tag_list as text[];
      create table typed_things (
        feeling mood, amount positive_int, level small_positive, tags text[], tag_set tag_list,
        moods mood[], waited interval, label varchar(20), code char(2)
      )`)
    const t = table(await introspectSchema(db().admin), 'typed_things')
    const classes = Object.fromEntries(t.columns.map((c) => [c.name, c.typeClass]))
    expect(classes).toEqual({
      feeling: 'string',
      amount: 'integer',
      level: 'integer',
      tags: 'array',
      tag_set: 'array',
      moods: 'array',
      waited: 'other',
      label: 'string',
      code: 'string',
    })
    expect(findColumn(t, 'level')).toMatchObject({ udtName: 'small_positive', dataType: 'small_positive' })
    expect(findColumn(t, 'tags')).toMatchObject({ udtName: '_text', dataType: 'text[]' })
    expect(findColumn(t, 'label')?.dataType).toBe('character varying(20)')
  })

  it('reports expression and partial indexes by their plain leading columns, never as unique', async () => {
    await exec(`
      create table indexed_things (id int primary key, tenant_id int, email text, code text, active bool, note text);
      create unique index indexed_things_tenant_email on indexed_things (tenant_id, lower(email), code);
      create unique index indexed_things_active_code on indexed_things (code) where active;
      create index indexed_things_lower_email on indexed_things (lower(email));
      create unique index indexed_things_code_incl on indexed_things (tenant_id, code) include (note)`)
    const indexes = table(await introspectSchema(db().admin), 'indexed_things').indexes
    expect(indexes).toEqual([
      { name: 'indexed_things_active_code', columns: ['code'], unique: false, primary: false },
      { name: 'indexed_things_code_incl', columns: ['tenant_id', 'code'], unique: true, primary: false },
      { name: 'indexed_things_pkey', columns: ['id'], unique: true, primary: true },
      { name: 'indexed_things_tenant_email', columns: ['tenant_id'], unique: false, primary: false },
    ])
  })

  it('skips dropped columns and reports generated stored columns as generated', async () => {
    await exec(`
      create table evolving (id int primary key, gone text, price numeric not null,
        price_with_tax numeric generated always as (price * 1.2) stored);
      alter table evolving drop column gone`)
    const t = table(await introspectSchema(db().admin), 'evolving')
    expect(t.columns.map((c) => [c.name, c.ordinal])).toEqual([
      ['id', 1],
      ['price', 3],
      ['price_with_tax', 4],
    ])
    expect(findColumn(t, 'price_with_tax')).toMatchObject({
      generated: true,
      hasDefault: true,
      defaultExpression: null,
    })
  })

  it('rejects an empty schema list and system schemas before querying', async () => {
    for (const schemas of [[], ['pg_catalog'], ['public', 'information_schema'], ['pg_toast'], ['']]) {
      const error = await errorOf(introspectSchema(db().admin, { schemas }))
      expect(isTesseraError(error) && error.code).toBe('VALIDATION_ERROR')
    }
  })

  it('names a role that does not exist as SETUP_INVALID (a setup mistake, issue 9 item 14), without database text', async () => {
    const error = await errorOf(introspectSchema(db().admin, { role: 'no_such_role_x' }))
    expect(isTesseraError(error) && error.toJSON()).toEqual({
      code: 'SETUP_INVALID',
      message: "Role 'no_such_role_x' (the toolset's `role` option) does not exist",
      hints: ['Create it (CREATE ROLE no_such_role_x NOLOGIN) or fix the `role` option'],
      details: { cause: '22023' },
    })
  })
})
