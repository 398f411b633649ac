/**
 * Red team, help desk schema (test/support/helpdesk.ts): `tessera rls generate` over a partitioned table, and
 * the relations around a model table through which a client connected as the application role reaches its rows
 * without the table's policies. The policies of a partitioned table apply to statements that name it; a
 * statement naming a partition gets only the partition's own. The posture check named a partition with RLS off
 * that the role may SELECT, but stayed silent when the role could only write it (`grant insert`), when RLS was on
 * there with a permissive policy of its own, and when the role owned the partition; and named a view the role may
 * SELECT, but not one it may only write through. Each let a client of the role write (or read) another tenant's
 * rows under a green `tessera check --rls rls`. Each is now named (`partition_bypasses_rls`, `view_bypasses_rls`).
 *
 * What held is kept too: the generated RLS over the partitioned table itself (reads, and a write moving a row
 * across partitions into another tenant), through a Tessera toolset in `rls` mode.
 */
import { type Kysely, sql } from 'kysely'
import { beforeAll, expect, it } from 'vitest'
import { bindPolicy, definePolicy, type BoundPolicy } from '../../src/policy/index.ts'
import { generateRls, inspectRlsPosture, type GeneratedRls } from '../../src/rls/index.ts'
import { introspectSchema } from '../../src/schema/index.ts'
import { APP_ROLE, describeEachDatabase } from '../support/databases.ts'
import { AGENT_A, B_SECRET, helpdeskPolicy, loadHelpdesk, ORG_A, ORG_B } from '../support/helpdesk.ts'
import { callError, type ToolsetHarness, toolsetFor } from '../support/toolset.ts'

interface Hole {
  /** What the database looks like. */
  readonly setup: string
  /** What a client of the application role with organisation A's claims runs through the hole. */
  readonly attack: string
  /** The organisations of desk.events' rows the attack reaches (read) or the row it plants (write). */
  readonly check: 'reads B' | 'plants into B'
  readonly code: 'partition_bypasses_rls' | 'view_bypasses_rls'
  readonly names: string
  /** Undoes `setup`, after which the posture check names nothing. */
  readonly teardown: string
}

const P1 = 'desk.events_2026_01'
const HOLES: Record<string, Hole> = {
  'a partition with RLS off that the role may only INSERT into': {
    setup: `revoke all on ${P1} from ${APP_ROLE}; grant insert on ${P1} to ${APP_ROLE}`,
    attack: `insert into ${P1} (org_id, id, at, note) values ('${ORG_B}', 90, '2026-01-09', 'planted by A')`,
    check: 'plants into B',
    code: 'partition_bypasses_rls',
    names: P1,
    teardown: `revoke all on ${P1} from ${APP_ROLE}`,
  },
  'a partition with RLS on and forced, and a permissive policy of its own': {
    setup: `alter table ${P1} enable row level security, force row level security;
      create policy reporting on ${P1} for select using (true); grant select on ${P1} to ${APP_ROLE}`,
    attack: `select note from ${P1}`,
    check: 'reads B',
    code: 'partition_bypasses_rls',
    names: P1,
    teardown: `drop policy reporting on ${P1}; revoke all on ${P1} from ${APP_ROLE}`,
  },
  'a partition with RLS on, not forced, owned by the role': {
    setup: `alter table ${P1} enable row level security, no force row level security;
      alter table ${P1} owner to ${APP_ROLE}`,
    attack: `select note from ${P1}`,
    check: 'reads B',
    code: 'partition_bypasses_rls',
    names: P1,
    teardown: `alter table ${P1} owner to current_user; revoke all on ${P1} from ${APP_ROLE};
      alter table ${P1} force row level security`,
  },
  'a view owned by a superuser that the role may only INSERT through': {
    setup: `create view desk.event_feed as select org_id, id, at, note from desk.events;
      grant insert on desk.event_feed to ${APP_ROLE}`,
    attack: `insert into desk.event_feed (org_id, id, at, note) values ('${ORG_B}', 91, '2026-02-09', 'planted by A')`,
    check: 'plants into B',
    code: 'view_bypasses_rls',
    names: 'view desk.event_feed',
    teardown: 'drop view desk.event_feed',
  },
}

describeEachDatabase('red team on the help desk schema: RLS over a partitioned table', (db) => {
  let bound: BoundPolicy
  let generated: GeneratedRls
  let h: ToolsetHarness

  beforeAll(async () => {
    await loadHelpdesk(db())
    // The toolset's start-up gate would refuse `rls` over the partitions the fixture grants: take them away.
    await sql`revoke all on desk.events_2026_01, desk.events_2026_02 from ${sql.id(APP_ROLE)}`.execute(
      db().admin,
    )
    h = await toolsetFor(db(), helpdeskPolicy(), { schemas: ['desk'], enforcement: 'rls' })
    bound = bindPolicy(
      definePolicy(helpdeskPolicy()),
      await introspectSchema(db().admin, { role: APP_ROLE, schemas: ['desk'] }),
    )
    generated = generateRls(bound)
  })

  /** Runs `statement` as the application role with organisation A's claims, as a client other than Tessera. */
  const asClientOfA = async (statement: string): Promise<unknown[]> =>
    (db().app as Kysely<unknown>).transaction().execute(async (trx) => {
      if (db().appRole !== undefined) await sql`select set_config('role', ${APP_ROLE}, true)`.execute(trx)
      await sql`select set_config('tessera.tenant_id', ${ORG_A}, true)`.execute(trx)
      return (await sql.raw(statement).execute(trx)).rows
    })
  const findings = async (code: string) => {
    const role = db().appRole
    const report = await inspectRlsPosture(db().app, bound, generated, {
      enforcement: 'rls',
      ...(role === undefined ? {} : { role }),
    })
    return report.findings.filter((f) => f.code === code)
  }
  const notesOfB = async (): Promise<string[]> =>
    (
      await sql<{
        note: string
      }>`select note from desk.events where org_id = ${ORG_B}::uuid order by note`.execute(db().admin)
    ).rows.map((r) => r.note)

  it('reads and writes the partitioned table through the generated RLS, one organisation at a time', async () => {
    const rows = await h.toolset.query(AGENT_A, { model: 'Event', select: ['org_id', 'note'] })
    expect(rows.rows).toEqual([{ org_id: ORG_A, note: 'a jan' }])
    const created = await h.toolset.create(AGENT_A, {
      model: 'Event',
      data: { id: 5, at: '2026-02-03', note: 'a feb' },
    })
    expect(created.row).toMatchObject({ org_id: ORG_A, note: 'a feb' })
    // Moving a row into the other partition cannot move it into another organisation.
    const e = await callError(h, AGENT_A, 'db_update', {
      model: 'Event',
      id: { org_id: ORG_A, id: 5, at: '2026-02-03' },
      data: { at: '2026-01-03', org_id: ORG_B },
    })
    expect(['VALIDATION_ERROR', 'FORBIDDEN']).toContain(e.code)
    expect(await notesOfB()).toEqual([B_SECRET, 'b feb'])
    // Through the parent a client of the role sees its organisation only; the partitions it may not touch.
    expect(await asClientOfA('select note from desk.events order by note')).toEqual([
      { note: 'a feb' },
      { note: 'a jan' },
    ])
    expect(await findings('partition_bypasses_rls')).toEqual([])
  })

  it.each(Object.entries(HOLES))('names %s', async (_, hole) => {
    await sql.raw(hole.setup).execute(db().admin)
    try {
      // The hole itself, for a client of the role other than Tessera.
      const result = await asClientOfA(hole.attack)
      if (hole.check === 'reads B') expect(JSON.stringify(result)).toContain(B_SECRET)
      else expect(await notesOfB()).toContain('planted by A')
      const found = await findings(hole.code)
      expect(found.map((f) => [f.severity, f.table])).toEqual([['error', 'desk.events']])
      expect(found[0]?.message.startsWith(hole.names)).toBe(true)
    } finally {
      await sql.raw(hole.teardown).execute(db().admin)
      await sql`delete from desk.events where note = 'planted by A'`.execute(db().admin)
    }
    expect(await findings(hole.code)).toEqual([])
  })

  it('names nothing for a partition with RLS on and forced and no policy, which the role may read and write', async () => {
    await sql
      .raw(
        `alter table ${P1} enable row level security, force row level security;
      grant select, insert, update, delete on ${P1} to ${APP_ROLE}`,
      )
      .execute(db().admin)
    expect(await asClientOfA(`select note from ${P1}`)).toEqual([])
    await expect(
      asClientOfA(`insert into ${P1} (org_id, id, at) values ('${ORG_B}', 92, '2026-01-09')`),
    ).rejects.toThrow()
    expect(await findings('partition_bypasses_rls')).toEqual([])
    await sql.raw(`revoke all on ${P1} from ${APP_ROLE}`).execute(db().admin)
  })
})
