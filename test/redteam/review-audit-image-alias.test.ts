/**
 * Review of the write audit shortcuts: a write's record is accepted at commit and sealed with the memory store's
 * next batch (StagedAudit.accept, 3e60e42), and its images are redacted and bounded in one copy (88703ed). Both
 * hold the draft by reference until the seal, so a draft sharing an object with what the caller got back (the
 * returned row, a jsonb value inside it) would let the caller rewrite the sealed record after the call, before
 * the batch seals it. Held: the record is pending when the caller edits its row (top level and nested jsonb),
 * and the sealed images are the database's, on both engines.
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
      table: 'rv_docs',
      fields: {
        id: { action: 'allow', acceptGlobalUnique: true },
        tenant_id: 'allow',
        body: 'allow',
        meta: 'allow',
      },
      scoping: { tenant_id: 'principal.tenantId' },
      write: { create: 'allow', update: 'allow', autoSet: { tenant_id: 'principal.tenantId' } },
    },
  },
}
const as = { principal: { tenantId: '1', userId: 'u1' } }

/** The caller edits what it got back, as a host handing rows on might. */
function tamper(data: unknown): void {
  const row = (data as { row: Record<string, unknown> }).row
  row['body'] = 'TAMPERED'
  ;(row['meta'] as Record<string, unknown>)['k'] = 'TAMPERED'
}

describeEachDatabase('review: a write’s pending audit record and the row its caller got back', (db) => {
  let h: ToolsetHarness
  // Its own store: the harness's per-call audit check reads (and so seals) the store after every call.
  const audit = new MemoryAuditStore()
  beforeAll(async () => {
    await sql`create table rv_docs (id int primary key, tenant_id int not null, body text not null,
      meta jsonb not null)`.execute(db().admin)
    await sql`insert into rv_docs values (1, 1, 'b', '{"k":"orig"}')`.execute(db().admin)
    await sql`grant select, insert, update on rv_docs to ${sql.id(APP_ROLE)}`.execute(db().admin)
    h = await toolsetFor(db(), policy, { enforcement: 'app', audit })
  })

  it('seals the database’s images, not the caller’s later edits of its returned rows', async () => {
    const updated = await h.toolset.call(as, 'db_update', { model: 'Doc', id: 1, data: { body: 'new' } })
    if (!updated.ok) throw new Error(updated.error.message)
    const pendingAtEdit = audit.pending
    tamper(updated.data)
    const created = await h.toolset.call(as, 'db_create', {
      model: 'Doc',
      data: { id: 5, body: 'c', meta: { k: 'orig' } },
    })
    if (!created.ok) throw new Error(created.error.message)
    tamper(created.data)
    const images = audit.all().map((r) => [r.before, r.after])
    expect(images).toEqual([
      [
        { id: 1, tenant_id: 1, body: 'b', meta: { k: 'orig' } },
        { id: 1, tenant_id: 1, body: 'new', meta: { k: 'orig' } },
      ],
      [null, { id: 5, tenant_id: 1, body: 'c', meta: { k: 'orig' } }],
    ])
    expect((await audit.verify()).ok).toBe(true)
    // What makes this an attack on the deferred seal: the record was still unsealed when the row was edited.
    if (db().kind === 'postgres') expect(pendingAtEdit).toBe(1)
  })
})
