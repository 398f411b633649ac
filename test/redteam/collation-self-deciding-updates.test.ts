/**
 * Red team: updates that commit with their one statement when SQL's own WITH CHECK decides (docs/decisions.md,
 * "A write that decides itself commits with its statement"), against columns whose `=` is not exact equality of
 * what Node reads back. Under a case-insensitive ICU collation 'ACME' = 'acme', and char(n) ignores trailing
 * blanks, so SQL matches another principal's row for one whose claim differs only in case or padding; the
 * in-memory check, which compares exactly, must still refuse it. Table-driven over the ways a column gets such
 * a comparison — a domain over text with the collation, varchar with a column collation, char(n), text with the
 * collation — read by a restrictive rule (`team = principal.metadata.team`) on a column the update leaves
 * unchanged. A scope on such a column no longer loads at all (docs/decisions.md, "A tenant column compares
 * exactly or the policy does not load"; test/redteam/loose-tenant-column-refused.test.ts), asserted here for each
 * type. PostgreSQL only: PGlite compares ICU collations exactly.
 * What held: every such update is refused and changes nothing, while the exact principal's update succeeds.
 */
import { sql } from 'kysely'
import { beforeAll, expect, it } from 'vitest'
import type { RunContext } from '../../src/context/index.ts'
import { isTesseraError } from '../../src/errors/index.ts'
import type { PolicyInput } from '../../src/policy/policy-schema.ts'
import { APP_ROLE, describeEachDatabase } from '../support/databases.ts'
import { callError, type ToolsetHarness, toolsetFor } from '../support/toolset.ts'

interface Case {
  readonly table: string
  /** The column type of `team`, which the restrictive rule reads. */
  readonly teamType: string
  /** The row's team, and the principal's team that SQL equates with it but Node does not. */
  readonly owner: string
  readonly alias: string
}

const CASES: Record<string, Case> = {
  'a domain over text with a case-insensitive collation': {
    table: 't_domain',
    teamType: 'cx.ci_text',
    owner: 'red',
    alias: 'RED',
  },
  'varchar with a case-insensitive column collation': {
    table: 't_varchar',
    teamType: 'varchar(20) collate cx.ci',
    owner: 'red',
    alias: 'Red',
  },
  'char(8), whose trailing blanks do not count': {
    table: 't_char',
    teamType: 'char(8)',
    // Node reads the column padded: only the padded claim is the owner in memory (an unpadded one reads the
    // rows, but its every update is refused — reported as a Low finding of this round).
    owner: 'red     ',
    alias: 'red',
  },
  'text with a case-insensitive column collation': {
    table: 't_rule',
    teamType: 'text collate cx.ci',
    owner: 'Red',
    alias: 'RED',
  },
}

function policyFor(scopedOn: 'org' | 'team' = 'org', only?: string): PolicyInput {
  const models: PolicyInput['models'] = {}
  for (const c of Object.values(CASES)) {
    if (only !== undefined && c.table !== only) continue
    models[c.table] = {
      table: `cx.${c.table}`,
      scoping: { [scopedOn]: 'principal.tenantId' },
      rowPolicies: [{ name: 'own_team', condition: 'team = principal.metadata.team' }],
      fields: { org: 'allow', id: 'allow', note: 'allow', team: 'allow' },
      write: { update: 'allow' },
    }
  }
  return { models }
}

const ctx = (team: string): RunContext => ({
  principal: { tenantId: 'acme', userId: 'u', roles: ['agent'], metadata: { team } },
})

describeEachDatabase(
  'red team: self-deciding updates against columns whose equality is not exact',
  (db) => {
    let h: ToolsetHarness

    beforeAll(async () => {
      const admin = db().admin
      await sql`create schema cx`.execute(admin)
      await sql`grant usage on schema cx to ${sql.id(APP_ROLE)}`.execute(admin)
      await sql`create collation cx.ci (provider = icu, locale = 'und-u-ks-level2', deterministic = false)`.execute(
        admin,
      )
      await sql`create domain cx.ci_text as text collate cx.ci`.execute(admin)
      for (const c of Object.values(CASES)) {
        await sql`create table ${sql.raw(`cx.${c.table}`)} (
          org text not null, id int not null, note text,
          team ${sql.raw(c.teamType)} not null, primary key (org, id))`.execute(admin)
        await sql`insert into ${sql.raw(`cx.${c.table}`)} (org, id, note, team)
          values ('acme', 1, 'victim', ${c.owner})`.execute(admin)
      }
      await sql`grant select, insert, update, delete on all tables in schema cx to ${sql.id(APP_ROLE)}`.execute(
        admin,
      )
      // The server compares as the collation says (the precondition of every case).
      const eq = await sql<{ eq: boolean }>`select 'ACME'::cx.ci_text = 'acme'::cx.ci_text as eq`.execute(
        admin,
      )
      expect(eq.rows[0]?.eq).toBe(true)
      h = await toolsetFor(db(), policyFor(), { schemas: ['cx'], enforcement: 'app' })
    })

    const noteOf = async (table: string): Promise<string | null | undefined> =>
      (
        await sql<{ note: string | null }>`select note from ${sql.raw(`cx.${table}`)} where id = 1`.execute(
          db().admin,
        )
      ).rows[0]?.note

    it.each(Object.entries(CASES))(
      'refuses the update of %s by the principal SQL confuses with the owner, and changes nothing',
      async (_, c) => {
        const e = await callError(h, ctx(c.alias), 'db_update', {
          model: c.table,
          id: { org: 'acme', id: 1 },
          data: { note: 'overwritten by the alias' },
        })
        expect(['NOT_FOUND', 'VALIDATION_ERROR']).toContain(e.code)
        expect(await noteOf(c.table)).toBe('victim')
        // The owner itself still updates its row.
        const ok = await h.toolset.update(ctx(c.owner), {
          model: c.table,
          id: { org: 'acme', id: 1 },
          data: { note: 'by the owner' },
        })
        expect(ok.row['note']).toBe('by the owner')
        await sql`update ${sql.raw(`cx.${c.table}`)} set note = 'victim'`.execute(db().admin)
      },
    )

    it.each(Object.entries(CASES))('refuses a scope on %s at load', async (_, c) => {
      const loaded = await toolsetFor(db(), policyFor('team', c.table), {
        schemas: ['cx'],
        enforcement: 'app',
      }).catch((error: unknown) => error)
      if (!isTesseraError(loaded)) throw new Error('the policy loaded')
      expect(loaded.code).toBe('POLICY_INVALID')
      expect(loaded.message).toContain(`models.${c.table}.scoping.team`)
    })
  },
  { only: ['postgres'] },
)
