/**
 * Red team, help desk schema (test/support/helpdesk.ts): triggers on tenant tables. Tessera plans a write from
 * the caller's values, but the database runs the table's triggers between that plan and the row it stores. What
 * held, in every enforcement mode and on both engines:
 *
 * - a BEFORE trigger that moves the row into another organisation (`handoff_org`) on create or update is refused
 *   as "outside what you may access", and nothing is written — the write check is evaluated on the row as
 *   stored (RETURNING sees the trigger's changes), and in `rls`/`both` RLS's WITH CHECK refuses it too;
 * - the AFTER trigger's own rows are rolled back with the refused write.
 *
 * What the posture check did not say: a trigger whose function is SECURITY DEFINER and owned by a superuser (or
 * a BYPASSRLS role) runs every statement as that owner, to whom row-level security never applies, so what it
 * reads (here: another organisation's macro, by title) or writes is filtered by nothing. It is now named
 * (`trigger_bypasses_rls`, a warning: Tessera cannot judge the function's body).
 */
import { sql } from 'kysely'
import { beforeAll, expect, it } from 'vitest'
import type { EnforcementMode } from '../../src/executor/index.ts'
import { bindPolicy, definePolicy, type BoundPolicy } from '../../src/policy/index.ts'
import { applyRls, generateRls, inspectRlsPosture, type GeneratedRls } from '../../src/rls/index.ts'
import { introspectSchema } from '../../src/schema/index.ts'
import { APP_ROLE, describeEachDatabase } from '../support/databases.ts'
import {
  AGENT_A,
  AGENT_B,
  B_SECRET,
  helpdeskPolicy,
  loadHelpdesk,
  ORG_A,
  ORG_B,
} from '../support/helpdesk.ts'
import { callError, type ToolsetHarness, toolsetFor } from '../support/toolset.ts'

const MODES: readonly EnforcementMode[] = ['app', 'both', 'rls']

describeEachDatabase('red team on the help desk schema: triggers on tenant tables', (db) => {
  const harness: Partial<Record<EnforcementMode, ToolsetHarness>> = {}
  let nextId = 100

  beforeAll(async () => {
    await loadHelpdesk(db())
    for (const mode of MODES) {
      harness[mode] = await toolsetFor(db(), helpdeskPolicy(), { schemas: ['desk'], enforcement: mode })
    }
  })

  const TABLES = ['desk.macros', 'desk.tickets', 'desk.ticket_log', 'desk.events']
  /**
   * The harness of `mode`. The `both` and `rls` harnesses installed the generated RLS, under which an `app`
   * toolset (it sets no claims) sees no rows: for an `app` call the tables' RLS is switched off, and back on for
   * the others (their policies stay in place).
   */
  const h = async (mode: EnforcementMode): Promise<ToolsetHarness> => {
    const found = harness[mode]
    if (!found) throw new Error(`no harness for ${mode}`)
    const on = mode === 'app' ? 'disable' : 'enable'
    for (const t of TABLES)
      await sql`alter table ${sql.raw(t)} ${sql.raw(on)} row level security`.execute(db().admin)
    return found
  }
  const ticketsOf = async (org: string): Promise<string[]> =>
    (
      await sql<{
        k: string
      }>`select id::text || ':' || subject as k from desk.tickets where org_id = ${org}::uuid order by id`.execute(
        db().admin,
      )
    ).rows.map((r) => r.k)
  const logRows = async (): Promise<number> =>
    Number(
      (await sql<{ n: string }>`select count(*)::text as n from desk.ticket_log`.execute(db().admin)).rows[0]
        ?.n,
    )

  it.each(MODES)(
    'refuses, in %s mode, an update whose BEFORE trigger moves the ticket into another organisation',
    async (mode) => {
      const beforeB = await ticketsOf(ORG_B)
      const beforeLog = await logRows()
      const e = await callError(await h(mode), AGENT_A, 'db_update', {
        model: 'Ticket',
        // B has no ticket 5: with B's ticket 1 the moved row would hit B's primary key before the write check (in
        // `app` mode a CONFLICT, an oracle on B's keys, reported this round; in `rls`/`both` RLS's WITH CHECK
        // comes first).
        id: { org_id: ORG_A, id: 5 },
        data: { handoff_org: ORG_B },
      })
      expect(e.code).toBe('VALIDATION_ERROR')
      expect(e.message).toBe('The record would be outside what you may access after this write')
      expect(JSON.stringify(e)).not.toMatch(/desk\.|handoff|trigger|B login/i)
      expect(await ticketsOf(ORG_B)).toEqual(beforeB)
      expect(await ticketsOf(ORG_A)).toContain('5:A public')
      expect(await logRows()).toBe(beforeLog)
    },
  )

  it.each(MODES)(
    'refuses, in %s mode, a create whose BEFORE trigger moves the new ticket into another organisation',
    async (mode) => {
      const beforeB = await ticketsOf(ORG_B)
      const beforeLog = await logRows()
      const e = await callError(await h(mode), AGENT_A, 'db_create', {
        model: 'Ticket',
        data: { id: nextId++, subject: 'planted', handoff_org: ORG_B },
      })
      expect(e.code).toBe('VALIDATION_ERROR')
      expect(e.message).toBe('The record would be outside what you may access after this write')
      expect(await ticketsOf(ORG_B)).toEqual(beforeB)
      expect(await logRows()).toBe(beforeLog)
    },
  )

  it.each(MODES)(
    'still updates and creates, in %s mode, tickets whose triggers keep them in the caller’s organisation',
    async (mode) => {
      const id = nextId++
      const created = await (
        await h(mode)
      ).toolset.create(AGENT_B, {
        model: 'Ticket',
        data: { id, subject: `b ${mode}`, handoff_org: ORG_B },
      })
      expect(created.row).toMatchObject({ org_id: ORG_B, id, handoff_org: null })
      const updated = await (
        await h(mode)
      ).toolset.update(AGENT_B, {
        model: 'Ticket',
        id: { org_id: ORG_B, id },
        data: { priority: 3, handoff_org: ORG_B },
      })
      expect(updated.row).toMatchObject({ org_id: ORG_B, priority: 3, handoff_org: null })
      // The AFTER trigger's rows belong to the ticket's organisation and are readable only there.
      const logs = await (await h(mode)).toolset.query(AGENT_A, { model: 'TicketLog', select: ['org_id'] })
      expect(logs.rows.every((r) => r['org_id'] === ORG_A)).toBe(true)
    },
  )

  it('names a SECURITY DEFINER trigger function owned by a superuser, through which RLS does not apply', async () => {
    // The hole itself, through a write the policy permits: A's new ticket names B's private macro by title, and
    // the trigger (running as its superuser owner) copies B's text into A's row, which A then reads back.
    const created = await (
      await h('rls')
    ).toolset.create(AGENT_A, {
      model: 'Ticket',
      data: { id: nextId++, subject: 'copy', macro_title: 'escalation' },
    })
    expect(created.row['body']).toBe(B_SECRET)

    const bound: BoundPolicy = bindPolicy(
      definePolicy(helpdeskPolicy()),
      await introspectSchema(db().admin, { role: APP_ROLE, schemas: ['desk'] }),
    )
    const generated: GeneratedRls = generateRls(bound)
    await applyRls(db().admin, generated)
    const findings = async () => {
      const role = db().appRole
      const report = await inspectRlsPosture(db().app, bound, generated, {
        enforcement: 'rls',
        ...(role === undefined ? {} : { role }),
      })
      return report.findings.filter((f) => f.code === 'trigger_bypasses_rls')
    }
    const found = await findings()
    expect(found.map((f) => [f.severity, f.table])).toEqual([['warning', 'desk.tickets']])
    expect(found[0]?.message).toMatch(
      /^trigger fill_body on desk\.tickets runs desk\.fill_body\(\) as its owner '[^']+' \(SECURITY DEFINER\), to whom row-level security does not apply/,
    )
    // The invoker's rights (the other two triggers) are not named; neither is a definer function owned by a role
    // that row-level security applies to.
    await sql`alter function desk.fill_body() security invoker`.execute(db().admin)
    expect(await findings()).toEqual([])
    const secret = await (
      await h('rls')
    ).toolset.create(AGENT_A, {
      model: 'Ticket',
      data: { id: nextId++, subject: 'copy again', macro_title: 'escalation' },
    })
    expect(secret.row['body']).toBeNull()
    const pub = await (
      await h('rls')
    ).toolset.create(AGENT_B, {
      model: 'Ticket',
      data: { id: nextId++, subject: 'public macro', macro_title: 'greeting' },
    })
    expect(pub.row['body']).toBe('Hello from A')
    await sql`alter function desk.fill_body() security definer`.execute(db().admin)
  })
})
