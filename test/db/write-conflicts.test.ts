import { beforeAll, expect, it } from 'vitest'
import { describeEachDatabase } from '../support/databases.ts'
import { ALICE, as } from '../support/saas.ts'
import { type ToolsetHarness, toolsetFor } from '../support/toolset.ts'

describeEachDatabase('unique-key conflicts on create', (db) => {
  let h: ToolsetHarness
  beforeAll(async () => {
    h = await toolsetFor(db(), {
      models: {
        Country: {
          table: 'countries',
          shared: true,
          fields: { code: 'allow', name: 'allow' },
          write: { create: 'allow' },
        },
        User: {
          table: 'users',
          fields: { id: 'allow', name: 'allow', email: 'allow', password_hash: 'allow' },
          scoping: { tenant_id: 'principal.tenantId' },
          write: { create: 'allow', autoSet: { tenant_id: 'principal.tenantId' } },
        },
      },
    })
  })

  it('answers a caller-chosen key that exists with a uniform error that names no constraint', async () => {
    const r = await h.toolset.call(as(ALICE), 'db_create', {
      model: 'Country',
      data: { code: 'US', name: 'Again' },
    })
    expect(r).toEqual({
      ok: false,
      error: {
        code: 'VALIDATION_ERROR',
        message: 'The write conflicts with an existing record',
        hints: [],
        details: { issues: [] },
      },
    })
    expect(JSON.stringify(r)).not.toMatch(/duplicate|constraint|pkey|countries/i)
    const stored = await db()
      .admin.selectFrom('countries')
      .select('name')
      .where('code', '=', 'US')
      .executeTakeFirstOrThrow()
    expect(stored.name).toBe('United States')
  })

  it('answers a unique-column collision inside the tenant with the same uniform error', async () => {
    const r = await h.toolset.call(as(ALICE), 'db_create', {
      model: 'User',
      data: { name: 'Alice Again', email: 'alice@acme.test', password_hash: 'x' },
    })
    expect(r).toEqual({
      ok: false,
      error: expect.objectContaining({
        code: 'VALIDATION_ERROR',
        message: 'The write conflicts with an existing record',
      }),
    })
  })

  it('accepts an email that exists only in another tenant (the key includes the tenant: no oracle)', async () => {
    const r = await h.toolset.create(as(ALICE), {
      model: 'User',
      data: { name: 'Bob Twin', email: 'bob@globex.test', password_hash: 'x' },
    })
    expect(r.row['email']).toBe('bob@globex.test')
  })
})
