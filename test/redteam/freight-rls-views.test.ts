/**
 * Red team, freight schema: the RLS posture check passed while a view let the application role read every
 * account's shipments. `ops.open_shipments` (a plain view, as migrations create them: owned by a superuser,
 * no `security_invoker`) reads `ops.shipments` as its owner, to whom row-level security never applies
 * (docs/threats.md fact 5), and `grant select on all tables in schema ops` granted it to the application role.
 * Tessera's own reads go to tables only, but under `rls` the database is the only wall for every other client
 * of that role. The check now names such views (and materialized views, which RLS never filters): an error when
 * the database is judged as the only wall (`tessera check --rls rls`), a warning for a Tessera toolset.
 */
import { sql } from 'kysely'
import { beforeAll, expect, it } from 'vitest'
import { bindPolicy, definePolicy, type BoundPolicy } from '../../src/policy/index.ts'
import { applyRls, generateRls, inspectRlsPosture, type GeneratedRls } from '../../src/rls/index.ts'
import { introspectSchema } from '../../src/schema/index.ts'
import { APP_ROLE, describeEachDatabase } from '../support/databases.ts'
import { ACCT_A, ACCT_B, freightPolicy, loadFreight } from '../support/freight.ts'

describeEachDatabase('red team on the freight schema: views around row-level security', (db) => {
  let bound: BoundPolicy
  let generated: GeneratedRls

  beforeAll(async () => {
    await loadFreight(db())
    bound = bindPolicy(
      definePolicy(freightPolicy()),
      await introspectSchema(db().admin, { role: APP_ROLE, schemas: ['ops'] }),
    )
    generated = generateRls(bound)
    await applyRls(db().admin, generated)
  })

  /** Accounts whose rows a client connected as the application role reads, with account A's claims set. */
  const accountsSeen = async (from: string): Promise<string[]> =>
    db()
      .app.transaction()
      .execute(async (trx) => {
        if (db().appRole !== undefined) await sql`select set_config('role', ${APP_ROLE}, true)`.execute(trx)
        await sql`select set_config('tessera.tenant_id', ${ACCT_A}, true),
        set_config('tessera.roles', '["dispatcher"]', true)`.execute(trx)
        const r = await sql<{
          acct: string
        }>`select distinct acct::text as acct from ${sql.raw(from)} order by 1`.execute(trx)
        return r.rows.map((x) => x.acct)
      })

  const viewFindings = async (options: { referencedRowsChecked?: boolean } = {}) => {
    const role = db().appRole
    const report = await inspectRlsPosture(db().app, bound, generated, {
      enforcement: 'rls',
      ...(role === undefined ? {} : { role }),
      ...options,
    })
    return report.findings
      .filter((f) => f.code === 'view_bypasses_rls')
      .map((f) => ({ severity: f.severity, table: f.table, message: f.message }))
  }

  it('names a view that reads a model table as a superuser owner, which the role may select', async () => {
    // The hole itself: the table is filtered, the view over it is not.
    expect(await accountsSeen('ops.shipments')).toEqual([ACCT_A])
    expect(await accountsSeen('ops.open_shipments')).toEqual([ACCT_A, ACCT_B])
    expect(await viewFindings()).toEqual([
      {
        severity: 'error',
        table: 'ops.shipments',
        message: expect.stringMatching(
          /^view ops\.open_shipments reads ops\.shipments as its owner '[^']+', to whom row-level security does not apply, and role 'tessera_app' may read or write through it; REVOKE ALL ON ops\.open_shipments FROM tessera_app, or ALTER VIEW ops\.open_shipments SET \(security_invoker = true\)$/,
        ),
      },
    ])
    // A Tessera toolset reads tables only: for its start-up gate the view is a warning.
    expect((await viewFindings({ referencedRowsChecked: true })).map((f) => f.severity)).toEqual(['warning'])
  })

  it('prints a remedy that runs as written for a view whose name needs quoting', async () => {
    await sql`create view ops."Open Shipments" as select * from ops.shipments`.execute(db().admin)
    await sql`grant select on ops."Open Shipments" to ${sql.id(APP_ROLE)}`.execute(db().admin)
    const quoted = (await viewFindings()).filter((f) => f.message.startsWith('view ops."Open Shipments" '))
    expect(quoted).toHaveLength(1)
    // The remedy is pasted verbatim: unquoted, `ops.Open Shipments` is a syntax error.
    const remedy = /; (REVOKE ALL ON .+ FROM [^,]+), or ALTER VIEW/.exec(quoted[0]?.message ?? '')?.[1]
    expect(remedy).toBe(`REVOKE ALL ON ops."Open Shipments" FROM ${APP_ROLE}`)
    await sql.raw(remedy ?? 'select 1').execute(db().admin)
    expect((await viewFindings()).filter((f) => f.message.includes('"Open Shipments"'))).toEqual([])
    await sql`drop view ops."Open Shipments"`.execute(db().admin)
  })

  it('is satisfied by security_invoker or a revoke, and names a materialized view of a model table', async () => {
    await sql`alter view ops.open_shipments set (security_invoker = true)`.execute(db().admin)
    expect(await accountsSeen('ops.open_shipments')).toEqual([ACCT_A])
    expect(await viewFindings()).toEqual([])

    await sql`create materialized view ops.depot_totals as
      select d.tenant_id as acct, d.id, count(s.id) as n from ops.depots d left join ops.shipments s
        on s.acct = d.tenant_id and s.depot_id = d.id group by d.tenant_id, d.id`.execute(db().admin)
    await sql`grant select on ops.depot_totals to ${sql.id(APP_ROLE)}`.execute(db().admin)
    expect(await accountsSeen('ops.depot_totals')).toEqual([ACCT_A, ACCT_B])
    const findings = await viewFindings()
    expect(findings.map((f) => f.table).sort()).toEqual(['ops.depots', 'ops.shipments'])
    expect(findings.every((f) => f.severity === 'error')).toBe(true)
    expect(findings[0]?.message).toMatch(/^materialized view ops\.depot_totals holds a copy of/)

    await sql`revoke select on ops.depot_totals from ${sql.id(APP_ROLE)}`.execute(db().admin)
    expect(await viewFindings()).toEqual([])
  })
})

/**
 * The same hole through a partition: the policies of a partitioned table apply to queries that name it, and a
 * query naming a partition gets only the partition's own (none, with RLS off there). `grant select on all
 * tables in schema` grants the partitions too.
 */
describeEachDatabase('red team on the freight schema: partitions around row-level security', (db) => {
  let bound: BoundPolicy
  let generated: GeneratedRls

  beforeAll(async () => {
    await loadFreight(db())
    const admin = db().admin
    await sql`create table ops.events (tenant_id bigint not null, id int not null, note text,
      primary key (tenant_id, id)) partition by list (tenant_id)`.execute(admin)
    await sql`create table ops.events_a partition of ops.events for values in (1001)`.execute(admin)
    await sql`create table ops.events_b partition of ops.events for values in (2002)`.execute(admin)
    await sql`insert into ops.events values (1001, 1, 'a'), (2002, 1, 'B-SECRET')`.execute(admin)
    await sql`grant select on all tables in schema ops to ${sql.id(APP_ROLE)}`.execute(admin)
    const policy = freightPolicy()
    policy.models['Event'] = {
      table: 'ops.events',
      scoping: { tenant_id: 'principal.tenantId' },
      fields: { tenant_id: 'allow', id: 'allow', note: 'allow' },
    }
    bound = bindPolicy(
      definePolicy(policy),
      await introspectSchema(admin, { role: APP_ROLE, schemas: ['ops'] }),
    )
    generated = generateRls(bound)
    await applyRls(admin, generated)
  })

  const notesSeen = async (from: string): Promise<string[]> =>
    db()
      .app.transaction()
      .execute(async (trx) => {
        if (db().appRole !== undefined) await sql`select set_config('role', ${APP_ROLE}, true)`.execute(trx)
        await sql`select set_config('tessera.tenant_id', ${ACCT_A}, true)`.execute(trx)
        const r = await sql<{ note: string }>`select note from ${sql.raw(from)} order by 1`.execute(trx)
        return r.rows.map((x) => x.note)
      })

  const findings = async () => {
    const role = db().appRole
    const report = await inspectRlsPosture(db().app, bound, generated, {
      enforcement: 'rls',
      ...(role === undefined ? {} : { role }),
    })
    return report.findings.filter((f) => f.code === 'partition_bypasses_rls')
  }

  it('names a partition the role may select with RLS off, until RLS is on there', async () => {
    expect(await notesSeen('ops.events')).toEqual(['a'])
    expect(await notesSeen('ops.events_b')).toEqual(['B-SECRET'])
    const found = await findings()
    expect(found.map((f) => [f.severity, f.table, f.message.split(' ')[0]])).toEqual([
      ['error', 'ops.events', 'ops.events_a'],
      ['error', 'ops.events', 'ops.events_b'],
    ])
    expect(found[1]?.message).toContain('REVOKE ALL ON ops.events_b FROM tessera_app')
    for (const part of ['ops.events_a', 'ops.events_b']) {
      await sql`alter table ${sql.raw(part)} enable row level security, force row level security`.execute(
        db().admin,
      )
    }
    expect(await notesSeen('ops.events_b')).toEqual([])
    expect(await notesSeen('ops.events')).toEqual(['a'])
    expect(await findings()).toEqual([])
  })
})
