/**
 * Red team: updates that commit with their one statement when SQL's own WITH CHECK decides (docs/decisions.md,
 * "A write that decides itself commits with its statement"), against columns whose `=` is not exact equality of
 * what Node reads back. Under a case-insensitive ICU collation 'ACME' = 'acme', and char(n) ignores trailing
 * blanks, so SQL matches another tenant's row for a principal whose tenant differs only in case or padding; the
 * in-memory check, which compares exactly, must still refuse it. Table-driven over the ways a column gets such
 * a comparison: a domain over text with the collation, varchar with a column collation, char(n), and a restrictive
 * rule that reads an unchanged case-insensitive column. PostgreSQL only: PGlite compares ICU collations exactly.
 * What held: every such update is refused and changes nothing, while the exact principal's update succeeds.
 */
import { sql } from 'kysely'
import { beforeAll, expect, it } from 'vitest'
import type { RunContext } from '../../src/context/index.ts'
import type { PolicyInput } from '../../src/policy/policy-schema.ts'
import { APP_ROLE, describeEachDatabase } from '../support/databases.ts'
import { callError, type ToolsetHarness, toolsetFor } from '../support/toolset.ts'

interface Case {
  readonly table: string
  /** The column type of `org`. */
  readonly orgType: string
  /** The row's tenant, and the principal that SQL equates with it but Node does not. */
  readonly owner: string
  readonly alias: string
  /** Extra metadata of both principals (for the rule case). */
  readonly aliasMetadata?: Record<string, string>
  readonly ownerMetadata?: Record<string, string>
}

const CASES: Record<string, Case> = {
  'a domain over text with a case-insensitive collation': {
    table: 't_domain',
    orgType: 'cx.ci_text',
    owner: 'acme',
    alias: 'ACME',
  },
  'varchar with a case-insensitive column collation': {
    table: 't_varchar',
    orgType: 'varchar(20) collate cx.ci',
    owner: 'acme',
    alias: 'Acme',
  },
  'char(8), whose trailing blanks do not count': {
    table: 't_char',
    orgType: 'char(8)',
    // Node reads the column padded: only the padded tenant id is the owner in memory (an unpadded one reads the
    // rows, but its every update is refused — reported as a Low finding of this round).
    owner: 'acme    ',
    alias: 'acme',
  },
  'a restrictive rule on an unchanged case-insensitive column': {
    table: 't_rule',
    orgType: 'text',
    owner: 'acme',
    alias: 'acme',
    ownerMetadata: { team: 'Red' },
    aliasMetadata: { team: 'RED' },
  },
}

function policyFor(): PolicyInput {
  const models: PolicyInput['models'] = {}
  for (const c of Object.values(CASES)) {
    models[c.table] = {
      table: `cx.${c.table}`,
      scoping: { org: 'principal.tenantId' },
      ...(c.table === 't_rule'
        ? { rowPolicies: [{ name: 'own_team', condition: 'team = principal.metadata.team' }] }
        : {}),
      fields: { org: 'allow', id: 'allow', note: 'allow', team: 'allow' },
      write: { update: 'allow' },
    }
  }
  return { models }
}

const ctx = (tenantId: string, metadata?: Record<string, string>): RunContext => ({
  principal: { tenantId, userId: 'u', roles: ['agent'], ...(metadata === undefined ? {} : { metadata }) },
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
          org ${sql.raw(c.orgType)} not null, id int not null, note text,
          team text collate cx.ci not null default 'Red', primary key (org, id))`.execute(admin)
        await sql`insert into ${sql.raw(`cx.${c.table}`)} (org, id, note) values (${c.owner}, 1, 'victim')`.execute(
          admin,
        )
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
        const e = await callError(h, ctx(c.alias, c.aliasMetadata), 'db_update', {
          model: c.table,
          id: { org: c.owner, id: 1 },
          data: { note: 'overwritten by the alias' },
        })
        expect(['NOT_FOUND', 'VALIDATION_ERROR']).toContain(e.code)
        expect(await noteOf(c.table)).toBe('victim')
        // The owner itself still updates its row.
        const ok = await h.toolset.update(ctx(c.owner, c.ownerMetadata), {
          model: c.table,
          id: { org: c.owner, id: 1 },
          data: { note: 'by the owner' },
        })
        expect(ok.row['note']).toBe('by the owner')
        await sql`update ${sql.raw(`cx.${c.table}`)} set note = 'victim'`.execute(db().admin)
      },
    )
  },
  { only: ['postgres'] },
)
