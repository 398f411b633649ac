/**
 * Regression (perfwrite helper, noticed): a principal whose tenant id is an upper-case uuid read its rows
 * (PostgreSQL compares uuids, not their spelling) while its writes were decided otherwise. Reads and writes must
 * agree; since a tenant id must be the canonical text of the tenant column (docs/decisions.md, "A principal names
 * its tenant in the column's canonical text") they agree by refusing it, and the lower-case spelling serves all.
 */
import { sql } from 'kysely'
import { beforeAll, expect, it } from 'vitest'
import { describeEachDatabase } from '../support/databases.ts'
import { callError, type ToolsetHarness, toolsetFor } from '../support/toolset.ts'

const TENANT = 'a0000000-0000-4000-8000-00000000abcd'
const UPPER = { principal: { tenantId: TENANT.toUpperCase(), userId: 'u1' } }
const LOWER = { principal: { tenantId: TENANT, userId: 'u1' } }

describeEachDatabase('an upper-case tenant uuid in the principal', (db) => {
  let h: ToolsetHarness
  beforeAll(async () => {
    const admin = db().admin
    await sql`create table jots (id integer primary key, tenant_id uuid not null, body text)`.execute(admin)
    await sql`grant select, insert, update, delete on jots to tessera_app`.execute(admin)
    await sql`insert into jots values (1, ${TENANT}, 'one')`.execute(admin)
    h = await toolsetFor(db(), {
      models: {
        Jot: {
          table: 'jots',
          fields: { id: { action: 'allow', acceptGlobalUnique: true }, body: 'allow' },
          scoping: { tenant_id: 'principal.tenantId' },
          write: {
            create: 'allow',
            update: 'allow',
            delete: 'allow',
            autoSet: { tenant_id: 'principal.tenantId' },
          },
        },
      },
    })
  })

  it('refuses the upper-case spelling for reads, creates, updates and deletes alike, writing nothing', async () => {
    const calls: [string, unknown][] = [
      ['db_get', { model: 'Jot', id: 1 }],
      ['db_update', { model: 'Jot', id: 1, data: { body: 'uno' } }],
      ['db_create', { model: 'Jot', data: { id: 2, body: 'two' } }],
      ['db_delete', { model: 'Jot', id: 1 }],
    ]
    for (const [tool, args] of calls) {
      expect({ tool, code: (await callError(h, UPPER, tool, args)).code }).toEqual({
        tool,
        code: 'TENANT_SCOPE_REQUIRED',
      })
    }
    const rows = await sql<{ id: number; body: string }>`select id, body from jots order by id`.execute(
      db().admin,
    )
    expect(rows.rows).toEqual([{ id: 1, body: 'one' }])
  })

  it('reads, updates, creates and deletes its own rows under the canonical spelling', async () => {
    expect((await h.toolset.get(LOWER, { model: 'Jot', id: 1 })).row).toMatchObject({ body: 'one' })
    expect((await h.toolset.update(LOWER, { model: 'Jot', id: 1, data: { body: 'uno' } })).row).toMatchObject(
      { body: 'uno' },
    )
    expect((await h.toolset.create(LOWER, { model: 'Jot', data: { id: 2, body: 'two' } })).row).toMatchObject(
      { body: 'two' },
    )
    await h.toolset.delete(LOWER, { model: 'Jot', id: 2 })
    const rows = await sql<{
      id: number
      tenant_id: string
    }>`select id, tenant_id from jots order by id`.execute(db().admin)
    expect(rows.rows).toEqual([{ id: 1, tenant_id: TENANT }])
  })
})
