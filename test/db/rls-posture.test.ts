/**
 * RLS generated from the demo policy, applied to the SaaS fixture and judged by the posture check. Queries run
 * as the non-superuser, non-owner application role (`tessera_app`) with the claims the executor sets; the
 * superuser connection is only the oracle and the DDL runner.
 */
import { sql } from 'kysely'
import { beforeAll, beforeEach, expect, it } from 'vitest'
import type { Principal } from '../../src/context/index.ts'
import { createExecutor } from '../../src/executor/index.ts'
import { bindPolicy, loadPolicyFile } from '../../src/policy/index.ts'
import type { BoundPolicy } from '../../src/policy/index.ts'
import {
  applyRls,
  generateRls,
  inspectRlsPosture,
  rlsScript,
  type GeneratedRls,
  type PostureReport,
} from '../../src/rls/index.ts'
import { introspectSchema } from '../../src/schema/index.ts'
import { APP_ROLE, describeEachDatabase } from '../support/databases.ts'
import { ALICE, BOB, TENANT_A, TENANT_B } from '../support/saas.ts'

const errors = (r: PostureReport): string[] =>
  r.findings.filter((f) => f.severity === 'error').map((f) => `${f.code} ${f.table ?? '-'}`)

describeEachDatabase('RLS generated from the demo policy', (db) => {
  let bound: BoundPolicy
  let generated: GeneratedRls

  beforeAll(async () => {
    const schema = await introspectSchema(db().admin, { role: APP_ROLE })
    bound = bindPolicy(await loadPolicyFile('policies/demo.yaml'), schema)
    generated = generateRls(bound)
  })

  beforeEach(async () => {
    // Idempotent: every test starts from the freshly generated state, whatever the last one broke.
    await sql`drop policy if exists open_door on orders`.execute(db().admin)
    await sql`drop policy if exists raw_claim on orders`.execute(db().admin)
    await applyRls(db().admin, generated)
  })

  const posture = (enforcement: 'rls' | 'both' = 'both', role: string | undefined = APP_ROLE) =>
    inspectRlsPosture(db().admin, bound, generated, { enforcement, ...(role === undefined ? {} : { role }) })

  async function asApp<T>(principal: Principal, query: string): Promise<T[]> {
    const { app, appRole } = db()
    const executor = createExecutor({ db: app, ...(appRole === undefined ? {} : { role: appRole }) })
    return executor.run(
      { access: 'read', requestId: 'rls-posture', principal, claims: true, statementTimeoutMs: 5000 },
      async (q) => (await sql<T>`${sql.raw(query)}`.execute(q)).rows,
    )
  }

  it('passes the posture check for the application role in both mode, with warnings only', async () => {
    const report = await posture('both')
    expect(report.role).toBe(APP_ROLE)
    expect(errors(report)).toEqual([])
    expect(report.ok).toBe(true)
    // The fixture's single-column foreign keys between scoped tables are named even when they do not fail.
    expect(report.findings.map((f) => f.code)).toContain('foreign_key_not_composite')
  })

  it("fails in rls mode on the fixture's single-column foreign key between scoped tables", async () => {
    const report = await posture('rls')
    expect(report.ok).toBe(false)
    expect(errors(report)).toContain('foreign_key_not_composite public.orders')
  })

  it("shows the application role only its tenant's rows, and no row at all without claims", async () => {
    const ofA = await asApp<{ tenant_id: string }>(ALICE, 'select distinct tenant_id from customers')
    expect(ofA.map((r) => r.tenant_id)).toEqual([TENANT_A])
    const ofB = await asApp<{ tenant_id: string }>(BOB, 'select distinct tenant_id from orders')
    expect(ofB.map((r) => r.tenant_id)).toEqual([TENANT_B])
    // Shared reference data stays readable.
    expect((await asApp<{ n: string }>(ALICE, 'select count(*)::text as n from countries'))[0]?.n).not.toBe(
      '0',
    )
    // Without claims (an app-mode connection, or a forgotten set_config) nothing is visible.
    const { app, appRole } = db()
    const bare = createExecutor({ db: app, ...(appRole === undefined ? {} : { role: appRole }) })
    const rows = await bare.run(
      { access: 'read', requestId: 'no-claims', principal: ALICE, claims: false, statementTimeoutMs: 4321 },
      async (q) => (await sql<{ n: string }>`select count(*)::text as n from customers`.execute(q)).rows,
    )
    expect(rows[0]?.n).toBe('0')
  })

  it('refuses, through WITH CHECK, an insert into another tenant and an update that moves a row out of the tenant', async () => {
    const { app, appRole } = db()
    const executor = createExecutor({ db: app, ...(appRole === undefined ? {} : { role: appRole }) })
    const write = (query: string) =>
      executor.run(
        { access: 'write', requestId: 'rls-write', principal: ALICE, claims: true, statementTimeoutMs: 5000 },
        async (q) => (await sql`${sql.raw(query)}`.execute(q)).numAffectedRows,
      )
    await expect(
      write(`insert into customers (tenant_id, name) values ('${TENANT_B}', 'intruder')`),
    ).rejects.toThrow()
    await expect(write(`update customers set tenant_id = '${TENANT_B}'`)).rejects.toThrow()
    // An update of B's rows from A's claims touches nothing.
    expect(await write(`update orders set status = 'hacked' where tenant_id = '${TENANT_B}'`)).toBe(0n)
    const hacked = await db().admin.selectFrom('orders').select('id').where('status', '=', 'hacked').execute()
    expect(hacked).toEqual([])
  })

  it('is idempotent: applying the script again leaves the same policies and a passing posture', async () => {
    const before = await sql<{ polname: string }>`select polname from pg_policy order by 1`.execute(
      db().admin,
    )
    await applyRls(db().admin, generated)
    const after = await sql<{ polname: string }>`select polname from pg_policy order by 1`.execute(db().admin)
    expect(after.rows).toEqual(before.rows)
    expect((await posture()).ok).toBe(true)
    expect(rlsScript(generated)).toMatch(
      /^-- Row-level security generated by tessera[\s\S]*\nbegin;\n[\s\S]*\ncommit;\n$/,
    )
  })

  it('fails for a superuser connection, naming the cause', async () => {
    const report = await inspectRlsPosture(db().admin, bound, generated)
    expect(report.ok).toBe(false)
    expect(errors(report)).toContain('role_superuser -')
  })

  it('fails when the role is a member of the owner of a table', async () => {
    const admin = db().admin
    await sql`do $$ begin
      if not exists (select 1 from pg_roles where rolname = 'tessera_rls_owner') then create role tessera_rls_owner; end if;
    end $$`.execute(admin)
    await sql`alter table invoices owner to tessera_rls_owner`.execute(admin)
    await sql`grant tessera_rls_owner to tessera_app`.execute(admin)
    try {
      expect(errors(await posture())).toContain('role_owns_table public.invoices')
    } finally {
      await sql`revoke tessera_rls_owner from tessera_app`.execute(admin)
      await sql`alter table invoices owner to postgres`.execute(admin)
    }
  })

  it.each<[string, string, string]>([
    [
      'RLS not forced',
      'alter table customers no force row level security',
      'rls_not_forced public.customers',
    ],
    ['RLS disabled', 'alter table orders disable row level security', 'rls_disabled public.orders'],
    ['a missing policy', 'drop policy tessera_scope_delete on customers', 'policy_missing public.customers'],
    [
      'a policy edited by hand',
      'alter policy tessera_scope_select on customers using (true)',
      'policy_drift public.customers',
    ],
    [
      'a permissive policy not generated from the policy file',
      'create policy open_door on orders for select using (true)',
      'policy_foreign_permissive public.orders',
    ],
    [
      'a claim read without nullif',
      "create policy raw_claim on orders as restrictive for select using (tenant_id = current_setting('tessera.tenant_id', true)::uuid)",
      'claim_without_nullif public.orders',
    ],
    [
      'a stale generated policy',
      'create policy tessera_permissive_old_select on invoices for select using (true)',
      'policy_stale public.invoices',
    ],
  ])('fails on %s, naming the cause', async (_title, breakIt, expected) => {
    await sql`${sql.raw(breakIt)}`.execute(db().admin)
    const report = await posture()
    expect(report.ok).toBe(false)
    expect(errors(report)).toContain(expected)
  })
})
