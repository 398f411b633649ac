/**
 * Regression (red-team finding): on a model scoped only through permissive rules, one rule was enough to grant
 * a write, so with `owner_id = principal.userId` and `tenant_id = principal.tenantId` as two rules a user could
 * create a row they own inside ANOTHER tenant. Every write-granting rule must now hold.
 */
import { beforeAll, expect, it } from 'vitest'
import { describeEachDatabase } from '../support/databases.ts'
import { ALICE, as, TENANT_A, TENANT_B, USER_ALICE } from '../support/saas.ts'
import { type ToolsetHarness, toolsetFor } from '../support/toolset.ts'

describeEachDatabase('permissive-only writes', (db) => {
  let h: ToolsetHarness
  beforeAll(async () => {
    h = await toolsetFor(db(), {
      models: {
        Customer: {
          table: 'customers',
          unscopedColumns: ['org_id'],
          fields: { id: 'allow', tenant_id: 'allow', owner_id: 'allow', name: 'allow' },
          rowPolicies: [
            // Shows the caller's rows in any tenant (user ids are not tenant-qualified): declared, since
            // such a rule no longer loads silently; the writes it may grant are what this test is about.
            { name: 'own', condition: 'owner_id = principal.userId', mode: 'permissive', crossTenant: true },
            { name: 'tenant', condition: 'tenant_id = principal.tenantId', mode: 'permissive' },
          ],
          write: { create: 'allow', update: 'allow' },
        },
        Tenant: { table: 'tenants', shared: true, fields: { id: 'allow', name: 'allow' } },
        User: { table: 'users', fields: { id: 'allow' }, scoping: { tenant_id: 'principal.tenantId' } },
      },
    })
  })

  it('refuses to create a row the caller owns inside another tenant', async () => {
    const r = await h.toolset.call(as(ALICE), 'db_create', {
      model: 'Customer',
      data: { tenant_id: TENANT_B, owner_id: USER_ALICE, name: 'Planted' },
    })
    expect(r).toEqual({ ok: false, error: expect.objectContaining({ code: 'VALIDATION_ERROR' }) })
    const planted = await db()
      .admin.selectFrom('customers')
      .select('id')
      .where('name', '=', 'Planted')
      .execute()
    expect(planted).toEqual([])
  })

  it('creates a row that satisfies every rule', async () => {
    const r = await h.toolset.create(as(ALICE), {
      model: 'Customer',
      data: { tenant_id: TENANT_A, owner_id: USER_ALICE, name: 'Mine' },
    })
    expect(r.row).toMatchObject({ tenant_id: TENANT_A, owner_id: USER_ALICE, name: 'Mine' })
  })

  it('refuses to move an own row into another tenant by update', async () => {
    const { row } = await h.toolset.create(as(ALICE), {
      model: 'Customer',
      data: { tenant_id: TENANT_A, owner_id: USER_ALICE, name: 'Mover' },
    })
    const r = await h.toolset.call(as(ALICE), 'db_update', {
      model: 'Customer',
      id: row['id'],
      data: { tenant_id: TENANT_B },
    })
    expect(r.ok).toBe(false)
    const stored = await db()
      .admin.selectFrom('customers')
      .select('tenant_id')
      .where('id', '=', row['id'] as string)
      .executeTakeFirstOrThrow()
    expect(stored.tenant_id).toBe(TENANT_A)
  })
})
