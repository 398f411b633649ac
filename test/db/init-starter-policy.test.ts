import { sql } from 'kysely'
import { parse } from 'yaml'
import { beforeAll, expect, it } from 'vitest'
import { starterPolicy } from '../../src/cli/starter-policy.ts'
import { bindPolicy, parsePolicy } from '../../src/policy/index.ts'
import { introspectSchema, type DbSchema } from '../../src/schema/index.ts'
import { createToolset } from '../../src/tools/index.ts'
import { APP_ROLE, describeEachDatabase } from '../support/databases.ts'

const W1 = '10000000-0000-4000-8000-000000000000'
const W2 = '20000000-0000-4000-8000-000000000000'

// A schema that is not the fixture: workspaces as tenants, a child table with no tenant column, a credential
// and personal data under other names, a column named like a YAML keyword and a two-key foreign key.
const CRM = `
create schema crm;
create table crm.workspaces (id uuid primary key, name text not null);
create table crm.members (
  id uuid primary key, workspace_id uuid not null references crm.workspaces(id), display_name text not null,
  password_digest text, private_key_pem text);
create table crm.currencies (code text primary key, label text not null);
create table crm.contacts (
  id uuid primary key, workspace_id uuid not null references crm.workspaces(id), account_id text,
  full_name text not null, email text, phone_number text, date_of_birth date,
  "on" boolean not null default true, currency text references crm.currencies(code),
  owner uuid references crm.members(id), unique (id, workspace_id));
create table crm.contact_notes (id serial primary key, contact_id uuid not null references crm.contacts(id), body text);
create table crm.deals (
  id uuid primary key, workspace_id uuid not null, contact_id uuid not null, amount numeric(12,2),
  foreign key (contact_id, workspace_id) references crm.contacts(id, workspace_id));
grant usage on schema crm to ${APP_ROLE};
grant select on all tables in schema crm to ${APP_ROLE};
insert into crm.workspaces values ('${W1}', 'one'), ('${W2}', 'two');
insert into crm.members values ('${W1.slice(0, -1)}1', '${W1}', 'Ann', 'digest', 'pem');
insert into crm.contacts (id, workspace_id, full_name, email, phone_number, date_of_birth) values
  ('${W1.slice(0, -1)}a', '${W1}', 'Ada', 'ada@one.test', '+15550001', '1990-01-01'),
  ('${W2.slice(0, -1)}b', '${W2}', 'Bo', 'bo@two.test', '+15550002', '1991-01-01');
`

// A schema whose tenant column has a name init does not recognise (`clinic`): nothing marks tenant data.
const CLINIC = `
create schema vet;
create table vet.clinics (id uuid primary key, name text not null);
create table vet.pets (id uuid primary key, clinic uuid not null references vet.clinics(id), name text not null);
create table vet.breeds (code text primary key, label text not null);
grant usage on schema vet to ${APP_ROLE};
grant select on all tables in schema vet to ${APP_ROLE};
insert into vet.clinics values ('${W1}', 'one'), ('${W2}', 'two');
insert into vet.pets values ('${W1.slice(0, -1)}a', '${W1}', 'Rex'), ('${W2.slice(0, -1)}b', '${W2}', 'Tom');
`

describeEachDatabase('tessera init: the starter policy', (db) => {
  let fixture: DbSchema
  let crm: DbSchema
  let vet: DbSchema

  beforeAll(async () => {
    await sql.raw(CRM).execute(db().admin)
    fixture = await introspectSchema(db().admin)
    crm = await introspectSchema(db().admin, { schemas: ['crm'] })
    await sql.raw(CLINIC).execute(db().admin)
    vet = await introspectSchema(db().admin, { schemas: ['vet'] })
  })

  function load(schema: DbSchema) {
    const starter = starterPolicy(schema, 'a test')
    return { starter, bound: bindPolicy(parsePolicy(parse(starter.text), 'starter.yaml'), schema) }
  }

  it('binds to the fixture unchanged: tenant tables scoped, reference data shared, writes off', () => {
    const { starter, bound } = load(fixture)
    expect(Object.keys(bound.models).sort()).toEqual(
      ['Country', 'Customer', 'Invoice', 'Order', 'OrderItem', 'Product', 'Tenant', 'User'].sort(),
    )
    expect(bound.models['Order']?.policy.scoping.map((s) => s.column)).toEqual(['tenant_id'])
    expect(bound.models['Tenant']?.policy.scoping.map((s) => s.column)).toEqual(['id'])
    expect(bound.models['Country']?.policy.shared).toBe(true)
    expect(bound.models['User']?.fields['password_hash']?.rule.action).toBe('deny')
    expect(bound.models['User']?.fields['email']?.rule.action).toBe('mask')
    for (const m of Object.values(bound.models)) {
      expect([m.policy.write.create, m.policy.write.update, m.policy.write.delete]).toEqual([
        'deny',
        'deny',
        'deny',
      ])
    }
    expect(bound.models['Customer']?.relations['orders']?.target).toBe('Order')
    expect(starter.review.join('\n')).toMatch(/org_id/)
  })

  it('binds to a second schema and, used as is, keeps each workspace to its own rows', async () => {
    const { starter, bound } = load(crm)
    expect(Object.keys(bound.models).sort()).toEqual(['Contact', 'Currency', 'Deal', 'Member', 'Workspace'])
    // The child table with no tenant column is left out, with the reason in the file.
    expect(starter.skipped.map((s) => s.table)).toEqual(['crm.contact_notes'])
    expect(starter.text).toContain('# SKIPPED crm.contact_notes')
    expect(bound.models['Contact']?.policy.unscopedColumns).toEqual(['account_id'])
    expect(bound.models['Contact']?.fields['on']?.rule.action).toBe('allow')
    expect(bound.models['Member']?.fields['private_key_pem']?.rule.action).toBe('deny')
    expect(bound.models['Contact']?.fields['date_of_birth']?.rule.action).toBe('hash')

    const appRole = db().appRole
    const toolset = await createToolset({
      db: db().app,
      policy: bound.policy,
      secret: 'init-test-secret-0123456789abcdef',
      schemas: ['crm'],
      ...(appRole === undefined ? {} : { role: appRole }),
    })
    const one = { principal: { tenantId: W1 } }
    const contacts = await toolset.query(one, { model: 'Contact', select: ['full_name', 'email'] })
    expect(contacts.rows.map((r) => r['full_name'])).toEqual(['Ada'])
    expect(contacts.rows[0]?.['email']).not.toBe('ada@one.test')
    const workspaces = await toolset.query(one, { model: 'Workspace' })
    expect(workspaces.rows.map((r) => r['name'])).toEqual(['one'])
    const write = await toolset.call(one, 'db_create', {
      model: 'Currency',
      data: { code: 'EUR', label: 'Euro' },
    })
    expect(write.ok).toBe(false)
  })

  it('refuses, naming --tenant-column, when no table has a tenant column it recognises, instead of writing every table as shared', () => {
    expect(() => starterPolicy(vet, 'a test')).toThrow(
      /no table in a test has a tenant column .*--tenant-column <name>/,
    )
  })

  it('scopes on the column --tenant-column names, so each clinic reads only its own pets', async () => {
    const starter = starterPolicy(vet, 'a test', { tenantColumn: 'clinic' })
    const bound = bindPolicy(parsePolicy(parse(starter.text), 's.yaml'), vet)
    expect(starter.models.map((m) => [m.name, m.kind])).toEqual([
      ['Breed', 'shared'],
      ['Clinic', 'tenant'],
      ['Pet', 'scoped'],
    ])
    expect(bound.models['Pet']?.policy.scoping.map((s) => s.column)).toEqual(['clinic'])
    const appRole = db().appRole
    const toolset = await createToolset({
      db: db().app,
      policy: bound.policy,
      secret: 'init-test-secret-0123456789abcdef',
      schemas: ['vet'],
      ...(appRole === undefined ? {} : { role: appRole }),
    })
    const pets = await toolset.query({ principal: { tenantId: W1 } }, { model: 'Pet' })
    expect(pets.rows.map((r) => r['name'])).toEqual(['Rex'])
    expect(() => starterPolicy(vet, 'a test', { tenantColumn: 'practice' })).toThrow(/no table .* 'practice'/)
  })

  // Red team (freight schema): naming one table's tenant column made every other table's `tenant_id` invisible to
  // init, which wrote those tables `shared: true` — every tenant read every depot — and the policy loaded.
  it('keeps scoping the tenant columns it recognises when --tenant-column names another', async () => {
    await sql
      .raw(
        `create schema mix;
      create table mix.pets (id int primary key, clinic text not null, name text not null);
      create table mix.invoices (tenant_id text not null, id int not null, amount numeric, primary key (tenant_id, id));
      create table mix.breeds (code text primary key);
      grant usage on schema mix to ${APP_ROLE};
      grant select on all tables in schema mix to ${APP_ROLE};`,
      )
      .execute(db().admin)
    const schema = await introspectSchema(db().admin, { schemas: ['mix'] })
    const starter = starterPolicy(schema, 'a test', { tenantColumn: 'clinic' })
    const bound = bindPolicy(parsePolicy(parse(starter.text), 's.yaml'), schema)
    expect(starter.models.map((m) => [m.name, m.kind])).toEqual([
      ['Breed', 'shared'],
      ['Invoice', 'scoped'],
      ['Pet', 'scoped'],
    ])
    expect(bound.models['Invoice']?.policy.scoping.map((s) => s.column)).toEqual(['tenant_id'])
    expect(bound.models['Pet']?.policy.scoping.map((s) => s.column)).toEqual(['clinic'])
  })

  // Red team (payroll schema): pay and bank details came out `allow`, though the header says personal data is masked.
  it('masks pay and bank details', async () => {
    await sql
      .raw(
        `create schema pay;
      create table pay.employees (id int primary key, workspace_id text not null, name text not null,
        salary numeric(12,2), base_salary_cents bigint, hourly_wage numeric, bank_account text, bank_routing text,
        account_number text);
      grant usage on schema pay to ${APP_ROLE};
      grant select on all tables in schema pay to ${APP_ROLE};`,
      )
      .execute(db().admin)
    const { bound } = load(await introspectSchema(db().admin, { schemas: ['pay'] }))
    const fields = bound.models['Employee']?.fields ?? {}
    expect(fields['name']?.rule.action).toBe('allow')
    for (const f of [
      'salary',
      'base_salary_cents',
      'hourly_wage',
      'bank_account',
      'bank_routing',
      'account_number',
    ]) {
      expect(fields[f]?.rule.action, f).not.toBe('allow')
    }
  })

  // Red team (freight schema): a generated column computed from a masked column made the starter policy one
  // that does not load (the column would reveal what the mask hides); init now denies it.
  it('denies a generated column computed from a column it masks, so the policy loads', async () => {
    await sql
      .raw(
        `create schema gen;
      create table gen.contacts (id int primary key, workspace_id text not null, email text,
        email_domain text generated always as (split_part(email, '@', 2)) stored, name text not null,
        name_upper text generated always as (upper(name)) stored);
      grant usage on schema gen to ${APP_ROLE};
      grant select on all tables in schema gen to ${APP_ROLE};`,
      )
      .execute(db().admin)
    const { starter, bound } = load(await introspectSchema(db().admin, { schemas: ['gen'] }))
    const fields = bound.models['Contact']?.fields ?? {}
    expect(fields['email']?.rule.action).toBe('mask')
    expect(fields['email_domain']?.rule.action).toBe('deny')
    expect(fields['name_upper']?.rule.action).toBe('allow')
    expect(starter.text).toContain('email_domain: deny # computed from "email", which is not allowed')
  })
})
