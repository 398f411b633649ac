/**
 * Red team, freight schema: principal metadata is held to the same text rules as tenantId, userId and roles.
 * A metadata claim scopes rows (`principal.metadata.fleet`) and becomes the RLS claim, but lone surrogates and
 * NUL were accepted in it: PostgreSQL receives a lone surrogate as U+FFFD, so the fleet `'north\uD800'` read the
 * rows of fleet `'north\uFFFD'` — two principals that differ in memory and in the audit named one fleet in the
 * database (the tenantId case, docs/decisions.md "Text is well-formed Unicode"). Refused before any SQL now.
 */
import { sql } from 'kysely'
import { beforeAll, expect, it } from 'vitest'
import type { RunContext } from '../../src/context/index.ts'
import type { PolicyInput } from '../../src/policy/policy-schema.ts'
import { describeEachDatabase } from '../support/databases.ts'
import { ACCT_A, loadFreight } from '../support/freight.ts'
import { type ToolsetHarness, toolsetFor } from '../support/toolset.ts'

const FLEET = 'north\ufffd'

const policy: PolicyInput = {
  models: {
    FleetDriver: {
      table: 'ops.drivers',
      scoping: { Tenant: 'principal.tenantId', name: 'principal.metadata.fleet' },
      fields: { Tenant: 'allow', badge: 'allow', name: 'allow' },
    },
  },
}

describeEachDatabase('red team on the freight schema: principal metadata text', (db) => {
  let h: ToolsetHarness
  beforeAll(async () => {
    await loadFreight(db())
    await sql`insert into ops.drivers ("Tenant", badge, name) values (${ACCT_A}, 50, ${FLEET})`.execute(
      db().admin,
    )
    h = await toolsetFor(db(), policy, { schemas: ['ops'] })
  })

  const as = (metadata: Record<string, unknown>): RunContext => ({
    principal: { tenantId: ACCT_A, userId: 'u', metadata },
  })

  it('reads the fleet named in well-formed text', async () => {
    const rows = await h.toolset.query(as({ fleet: FLEET }), { model: 'FleetDriver', select: ['badge'] })
    expect(rows.rows).toEqual([{ badge: 50 }])
  })

  it('refuses metadata holding a lone surrogate or NUL, at any depth, before any SQL', async () => {
    const hostile: Record<string, unknown>[] = [
      { fleet: 'north\ud800' },
      { fleet: 'north\udfff' },
      { fleet: 'north\u0000' },
      { fleet: FLEET, nested: { list: ['ok', 'x\ud800'] } },
      { fleet: FLEET, ['k\ud800']: 1 },
    ]
    for (const metadata of hostile) {
      h.queries.length = 0
      const r = await h.toolset.call(as(metadata), 'db_query', { model: 'FleetDriver' })
      expect(r, JSON.stringify(metadata)).toMatchObject({ ok: false, error: { code: 'VALIDATION_ERROR' } })
      expect(h.queries).toEqual([])
    }
  })
})
