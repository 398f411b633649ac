/**
 * Review of the self-committing write (run-write.ts selfDecidingWrite, on the direct path): its statement commits
 * before `finish` shapes the returned row and the audit record is accepted, so a row Node failed to shape (a
 * timestamp 'infinity', a numeric NaN, a jsonb number beyond a double) would be written without its record and
 * answered as an error. Held on both engines: such rows are answered and each write has its success record.
 */
import { sql } from 'kysely'
import { beforeAll, expect, it } from 'vitest'
import type { PolicyInput } from '../../src/policy/policy-schema.ts'
import { MemoryAuditStore } from '../../src/stores/index.ts'
import { APP_ROLE, describeEachDatabase } from '../support/databases.ts'
import { toolsetFor, type ToolsetHarness } from '../support/toolset.ts'

const policy: PolicyInput = {
  models: {
    Doc: {
      table: 'rv_fin',
      fields: {
        id: { action: 'allow', acceptGlobalUnique: true },
        tenant_id: 'allow',
        body: 'allow',
        at: 'allow',
        n: 'allow',
        j: 'allow',
      },
      scoping: { tenant_id: 'principal.tenantId' },
      write: { create: 'allow', update: 'allow', autoSet: { tenant_id: 'principal.tenantId' } },
    },
  },
}
const as = { principal: { tenantId: '1', userId: 'u1' } }
describeEachDatabase('review: a self-committing write whose row Node must shape unusually', (db) => {
  let h: ToolsetHarness
  const audit = new MemoryAuditStore()
  beforeAll(async () => {
    await sql`create table rv_fin (id int primary key, tenant_id int not null, body text not null,
      at timestamptz default 'infinity', n numeric default 'NaN', j jsonb default '{"a": 1e400}')`.execute(
      db().admin,
    )
    await sql`insert into rv_fin (id, tenant_id, body) values (1, 1, 'b')`.execute(db().admin)
    await sql`grant select, insert, update on rv_fin to ${sql.id(APP_ROLE)}`.execute(db().admin)
    h = await toolsetFor(db(), policy, { enforcement: 'app', audit })
  })
  it('answers and audits creates and updates of rows holding infinity, NaN and a jsonb 1e400', async () => {
    const created = await h.toolset.call(as, 'db_create', { model: 'Doc', data: { id: 2, body: 'c' } })
    const updated = await h.toolset.call(as, 'db_update', { model: 'Doc', id: 1, data: { body: 'u' } })
    if (!created.ok || !updated.ok) throw new Error('a write was refused')
    expect((created.data as { row: Record<string, unknown> }).row).toMatchObject({ at: 'infinity', n: 'NaN' })
    const rows = await sql`select id, body from rv_fin order by id`.execute(db().admin)
    expect(rows.rows).toEqual([
      { id: 1, body: 'u' },
      { id: 2, body: 'c' },
    ])
    expect(audit.all().map((r) => [r.tool, r.outcome])).toEqual([
      ['db_create', 'success'],
      ['db_update', 'success'],
    ])
  })
})
