/**
 * A fifth schema for the red team, unlike the SaaS fixture, the clinic, the payroll and the freight schemas: a
 * multi-tenant help desk in a schema of its own (`desk`) whose tables carry **triggers**, as help desks do. The
 * tenant column is a uuid `org_id`; keys are composite `(org_id, id)`.
 *
 * - `desk.macros`: canned answers; a macro with `is_public` is readable by every organisation (a permissive rule).
 * - `desk.tickets`: a BEFORE INSERT OR UPDATE trigger (`handoff`, the invoker's rights) moves a ticket to the
 *   organisation named in `handoff_org` — a "hand off to a partner" feature that changes the tenant column after
 *   the caller's values were checked; a BEFORE INSERT trigger (`fill_body`, SECURITY DEFINER, owned by the
 *   superuser that ran the migration) fills an empty body from the macro whose *title* the ticket names — a
 *   lookup by a non-key column, unfiltered by row-level security because its function runs as its owner.
 * - `desk.ticket_log`: rows written by an AFTER trigger of tickets (same tenant as the ticket).
 * - `desk.events`: a table partitioned by month, one partition per month.
 *
 * Loaded into a copy of the fixture database by `loadHelpdesk`.
 */
import { sql } from 'kysely'
import type { RunContext } from '../../src/context/index.ts'
import type { PolicyInput } from '../../src/policy/policy-schema.ts'
import { APP_ROLE, type TestDatabase } from './databases.ts'

export const ORG_A = 'da000000-0000-4000-8000-00000000000a'
export const ORG_B = 'db000000-0000-4000-8000-00000000000b'
/** Text only organisation B's rows hold: an answer or error carrying it is a leak. */
export const B_SECRET = 'B-SECRET-escalation-phone-+1-555-0100'

export const AGENT_A: RunContext = { principal: { tenantId: ORG_A, userId: 'agent-a', roles: ['agent'] } }
export const AGENT_B: RunContext = { principal: { tenantId: ORG_B, userId: 'agent-b', roles: ['agent'] } }

export async function loadHelpdesk(db: TestDatabase): Promise<void> {
  const admin = db.admin
  await sql`create schema desk`.execute(admin)
  await sql`grant usage on schema desk to ${sql.id(APP_ROLE)}`.execute(admin)
  await sql`create table desk.macros (
    org_id uuid not null, id int not null, title text not null, body text not null,
    is_public boolean not null default false, primary key (org_id, id)
  )`.execute(admin)
  await sql`create table desk.tickets (
    org_id uuid not null, id int not null, subject text not null, body text, status text not null default 'open',
    handoff_org uuid, macro_title text, priority int, team text not null default 'sales',
    is_public boolean not null default false, confidential boolean not null default false, deleted_at timestamptz,
    macro_id int, primary key (org_id, id), foreign key (org_id, macro_id) references desk.macros (org_id, id)
  )`.execute(admin)
  await sql`create table desk.ticket_log (
    id bigint generated always as identity primary key, org_id uuid not null, ticket_id int not null,
    what text not null, at timestamptz not null default now()
  )`.execute(admin)
  await sql`create index on desk.ticket_log (org_id)`.execute(admin)
  await sql`create table desk.events (
    org_id uuid not null, id int not null, at date not null, note text, primary key (org_id, id, at)
  ) partition by range (at)`.execute(admin)
  await sql`create table desk.events_2026_01 partition of desk.events for values from ('2026-01-01') to ('2026-02-01')`.execute(
    admin,
  )
  await sql`create table desk.events_2026_02 partition of desk.events for values from ('2026-02-01') to ('2026-03-01')`.execute(
    admin,
  )

  await sql`create function desk.handoff() returns trigger language plpgsql as $$
    begin
      if new.handoff_org is not null then
        new.org_id := new.handoff_org;
        new.handoff_org := null;
      end if;
      return new;
    end $$`.execute(admin)
  await sql`create trigger handoff before insert or update on desk.tickets
    for each row execute function desk.handoff()`.execute(admin)
  await sql`create function desk.fill_body() returns trigger language plpgsql security definer
    set search_path = pg_catalog, desk as $$
    begin
      if new.body is null and new.macro_title is not null then
        new.body := (select m.body from desk.macros m where m.title = new.macro_title order by m.org_id limit 1);
      end if;
      return new;
    end $$`.execute(admin)
  await sql`create trigger fill_body before insert on desk.tickets
    for each row execute function desk.fill_body()`.execute(admin)
  await sql`create function desk.log_ticket() returns trigger language plpgsql as $$
    begin
      insert into desk.ticket_log (org_id, ticket_id, what) values (new.org_id, new.id, tg_op);
      return null;
    end $$`.execute(admin)
  await sql`create trigger log_ticket after insert or update on desk.tickets
    for each row execute function desk.log_ticket()`.execute(admin)

  await sql`grant select, insert, update, delete on all tables in schema desk to ${sql.id(APP_ROLE)}`.execute(
    admin,
  )
  await sql`insert into desk.macros values
    (${ORG_A}::uuid, 1, 'greeting', 'Hello from A', true),
    (${ORG_A}::uuid, 2, 'refund', 'A refunds within 14 days', false),
    (${ORG_B}::uuid, 1, 'escalation', ${B_SECRET}, false)`.execute(admin)
  await sql`insert into desk.tickets (org_id, id, subject, body, priority, team, is_public, confidential, deleted_at, macro_id) values
    (${ORG_A}::uuid, 1, 'A printer on fire', 'help', 1, 'sales', false, false, null, 1),
    (${ORG_A}::uuid, 2, 'A second ticket', null, 1, 'support', false, false, null, null),
    (${ORG_A}::uuid, 3, 'A confidential', 'A salary list', 2, 'support', false, true, null, 2),
    (${ORG_A}::uuid, 4, 'A deleted', 'gone', 3, 'sales', false, false, now(), null),
    (${ORG_A}::uuid, 5, 'A public', 'A faq', null, 'all', true, false, null, 1),
    (${ORG_B}::uuid, 1, 'B login broken', 'B body', 2, 'sales', false, false, null, 1),
    (${ORG_B}::uuid, 2, 'B public', 'B faq', 1, 'support', true, false, null, null),
    (${ORG_B}::uuid, 3, 'B public confidential', ${B_SECRET}, 5, 'all', true, true, null, null)`.execute(
    admin,
  )
  await sql`insert into desk.events values
    (${ORG_A}::uuid, 1, '2026-01-05', 'a jan'), (${ORG_B}::uuid, 1, '2026-01-06', ${B_SECRET}),
    (${ORG_B}::uuid, 2, '2026-02-07', 'b feb')`.execute(admin)
}

/** The help desk policy: what a careful host writes for it. */
export function helpdeskPolicy(): PolicyInput {
  return {
    models: {
      Macro: {
        table: 'desk.macros',
        scoping: { org_id: 'principal.tenantId' },
        rowPolicies: [
          { name: 'public_macros', mode: 'permissive', crossTenant: true, condition: 'is_public = true' },
        ],
        fields: { org_id: 'allow', id: 'allow', title: 'allow', body: 'allow', is_public: 'allow' },
        write: {
          create: 'allow',
          update: 'allow',
          delete: 'allow',
          autoSet: { org_id: 'principal.tenantId' },
        },
      },
      Ticket: {
        table: 'desk.tickets',
        scoping: { org_id: 'principal.tenantId' },
        fields: {
          org_id: 'allow',
          id: 'allow',
          subject: 'allow',
          body: { action: 'allow', untrusted: true },
          status: 'allow',
          handoff_org: 'allow',
          macro_title: 'allow',
          priority: 'allow',
        },
        write: { create: 'allow', update: 'allow', autoSet: { org_id: 'principal.tenantId' } },
      },
      TicketLog: {
        table: 'desk.ticket_log',
        scoping: { org_id: 'principal.tenantId' },
        fields: { id: 'allow', org_id: 'allow', ticket_id: 'allow', what: 'allow', at: 'allow' },
      },
      Event: {
        table: 'desk.events',
        scoping: { org_id: 'principal.tenantId' },
        fields: { org_id: 'allow', id: 'allow', at: 'allow', note: 'allow' },
        write: { create: 'allow', update: 'allow', autoSet: { org_id: 'principal.tenantId' } },
      },
    },
  }
}

/** Principals whose roles and attributes decide the read policy's rules differently (helpdeskReadPolicy). */
export const READERS: Readonly<Record<string, RunContext>> = {
  'A sales agent': {
    principal: {
      tenantId: ORG_A,
      userId: 'a-1',
      roles: ['agent'],
      metadata: { team: 'sales', maxPriority: 2 },
    },
  },
  'A support lead': {
    principal: {
      tenantId: ORG_A,
      userId: 'a-2',
      roles: ['lead'],
      metadata: { team: 'support', maxPriority: 5 },
    },
  },
  'A auditor': {
    principal: {
      tenantId: ORG_A,
      userId: 'a-3',
      roles: ['auditor'],
      metadata: { team: 'sales', maxPriority: 1 },
    },
  },
  'A without roles': {
    principal: { tenantId: ORG_A, userId: 'a-4', roles: [], metadata: { team: 'support', maxPriority: 3 } },
  },
  'A without a team': {
    principal: { tenantId: ORG_A, userId: 'a-5', roles: ['agent'], metadata: { maxPriority: 9 } },
  },
  'B sales agent': {
    principal: {
      tenantId: ORG_B,
      userId: 'b-1',
      roles: ['agent'],
      metadata: { team: 'sales', maxPriority: 1 },
    },
  },
  'B lead of all': {
    principal: {
      tenantId: ORG_B,
      userId: 'b-2',
      roles: ['lead', 'agent'],
      metadata: { team: 'all', maxPriority: 5 },
    },
  },
}

/**
 * The help desk with row policies that read roles and two metadata attributes, a bypass, soft delete, a masked
 * and a hashed field and an include: a policy whose plans differ per principal (a rule bound to a claim, decided
 * TRUE, or lifted by the bypass) while every shape can still be templated.
 */
export function helpdeskReadPolicy(): PolicyInput {
  const policy = helpdeskPolicy()
  policy.models['Ticket'] = {
    table: 'desk.tickets',
    scoping: { org_id: 'principal.tenantId' },
    // No literal in these rules: a rule with one is printed with it bound, and such shapes are not templated,
    // which would leave the per-shape cache nothing to keep.
    rowPolicies: [
      { name: 'up_to_my_priority', condition: 'priority <= principal.metadata.maxPriority' },
      {
        name: 'own_team',
        condition: "team = principal.metadata.team OR 'support' = principal.metadata.team",
      },
      { name: 'auditors', bypass: true, condition: "'auditor' IN principal.roles" },
    ],
    fields: {
      org_id: 'allow',
      id: 'allow',
      subject: 'allow',
      body: { action: 'mask' },
      status: 'allow',
      priority: 'allow',
      team: 'allow',
      is_public: 'allow',
      confidential: 'allow',
      macro_id: 'allow',
      macro_title: { action: 'hash' },
      handoff_org: 'deny',
      deleted_at: 'deny',
    },
    relations: { macro: { model: 'Macro', foreignKey: ['org_id', 'macro_id'] } },
    aggregations: { fields: ['priority'], groupBy: ['team', 'is_public'] },
    write: {
      create: 'allow',
      update: 'allow',
      autoSet: { org_id: 'principal.tenantId' },
      softDelete: { field: 'deleted_at' },
    },
  }
  return policy
}
