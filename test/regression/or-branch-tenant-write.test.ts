/**
 * Regression (outside attack suite, hole 1): on a model without scoping, the single permissive rule
 * `owner_id = principal.userId OR org_id = principal.tenantId` (owner_id auto-set) granted a write through
 * its first branch, so a user could create a row with another tenant's `org_id`, or move its own row there by
 * update — planting agent-visible text into another tenant. Every tenant-like column of a written row must now
 * hold the caller's own value, whichever branch grants the write.
 */
import { sql } from 'kysely'
import { beforeAll, expect, it } from 'vitest'
import { describeEachDatabase } from '../support/databases.ts'
import { ALICE, as, BOB, TENANT_A, TENANT_B } from '../support/saas.ts'
import { type ToolsetHarness, toolsetFor } from '../support/toolset.ts'

describeEachDatabase('OR-branch write grants and tenant columns', (db) => {
  let h: ToolsetHarness
  beforeAll(async () => {
    const admin = db().admin
    await sql`create table memos (id uuid primary key default gen_random_uuid(), org_id uuid, owner_id uuid, body text)`.execute(
      admin,
    )
    await sql`grant select, insert, update, delete on memos to tessera_app`.execute(admin)
    h = await toolsetFor(db(), {
      models: {
        Memo: {
          table: 'memos',
          fields: { id: 'allow', org_id: 'allow', owner_id: 'allow', body: 'allow' },
          rowPolicies: [
            {
              name: 'own_or_org',
              mode: 'permissive',
              condition: 'owner_id = principal.userId OR org_id = principal.tenantId',
              // The owner branch reaches other tenants' rows for reads: declared, since such a rule no longer
              // loads silently; whether it can grant a write elsewhere is what this test is about.
              crossTenant: true,
            },
          ],
          write: {
            create: 'allow',
            update: 'allow',
            delete: 'allow',
            autoSet: { owner_id: 'principal.userId' },
          },
        },
      },
    })
  })

  const stored = async (body: string): Promise<unknown[]> =>
    (await db().admin.selectFrom('memos').select(['org_id']).where('body', '=', body).execute()).map(
      (r) => r.org_id,
    )

  it('refuses to create a row in another tenant through the owner branch, and writes nothing', async () => {
    const r = await h.toolset.call(as(ALICE), 'db_create', {
      model: 'Memo',
      data: { org_id: TENANT_B, body: 'planted' },
    })
    expect(r).toEqual({ ok: false, error: expect.objectContaining({ code: 'VALIDATION_ERROR' }) })
    expect(await stored('planted')).toEqual([])
  })

  it('refuses a row with no tenant at all', async () => {
    const r = await h.toolset.call(as(ALICE), 'db_create', { model: 'Memo', data: { body: 'orphan' } })
    expect(r.ok).toBe(false)
    expect(await stored('orphan')).toEqual([])
  })

  it('refuses to move an own row into another tenant by update', async () => {
    const { row } = await h.toolset.create(as(ALICE), {
      model: 'Memo',
      data: { org_id: TENANT_A, body: 'mover' },
    })
    const r = await h.toolset.call(as(ALICE), 'db_update', {
      model: 'Memo',
      id: row['id'],
      data: { org_id: TENANT_B },
    })
    expect(r.ok).toBe(false)
    expect(await stored('mover')).toEqual([TENANT_A])
  })

  it('still creates and updates rows inside the caller own tenant', async () => {
    const { row } = await h.toolset.create(as(BOB), {
      model: 'Memo',
      data: { org_id: TENANT_B, body: 'bob' },
    })
    expect(row).toMatchObject({ org_id: TENANT_B, body: 'bob' })
    const updated = await h.toolset.update(as(BOB), { model: 'Memo', id: row['id'], data: { body: 'bob2' } })
    expect(updated.row).toMatchObject({ org_id: TENANT_B, body: 'bob2' })
  })

  it('does not let the owner branch reach a row of its owner left in another tenant', async () => {
    // A row owned by Alice but filed under Globex (written by someone else, e.g. a migration).
    const planted = await db()
      .admin.insertInto('memos')
      .values({ org_id: TENANT_B, owner_id: ALICE.userId, body: 'left behind' })
      .returning('id')
      .executeTakeFirstOrThrow()
    const r = await h.toolset.call(as(ALICE), 'db_update', {
      model: 'Memo',
      id: planted.id,
      data: { body: 'rewritten by alice' },
    })
    expect(r).toEqual({ ok: false, error: expect.objectContaining({ code: 'NOT_FOUND' }) })
    const d = await h.toolset.call(as(ALICE), 'db_delete', { model: 'Memo', id: planted.id })
    expect(d).toEqual({ ok: false, error: expect.objectContaining({ code: 'NOT_FOUND' }) })
    expect(await stored('left behind')).toEqual([TENANT_B])
  })
})
