/**
 * Regression (outside attack suite, hole 3): a create whose value collided with ANOTHER tenant's row in a
 * column under a unique key without the tenant column answered "conflicts with an existing record", a fresh
 * value answered ok — an existence oracle across tenants. Policies that let the caller write such a column
 * (unique constraint, unique expression index, caller-supplied primary key) no longer load, unless the field
 * says `acceptGlobalUnique: true`.
 */
import { sql } from 'kysely'
import { beforeAll, expect, it } from 'vitest'
import { bindPolicy } from '../../src/policy/bind-policy.ts'
import { definePolicy } from '../../src/policy/define-policy.ts'
import type { ModelPolicyInput } from '../../src/policy/policy-schema.ts'
import { introspectSchema } from '../../src/schema/index.ts'
import type { DbSchema } from '../../src/schema/types.ts'
import { describeEachDatabase } from '../support/databases.ts'
import { ALICE, as, TENANT_A, TENANT_B } from '../support/saas.ts'
import { toolsetFor } from '../support/toolset.ts'

describeEachDatabase('unique keys spanning tenants', (db) => {
  let schema: DbSchema
  beforeAll(async () => {
    const admin = db().admin
    await sql`create table handles (
      id uuid primary key default gen_random_uuid(), tenant_id uuid not null, handle text not null unique,
      slug text, label text, code text not null, unique (tenant_id, code))`.execute(admin)
    await sql`create unique index handles_slug_lower on handles (lower(slug))`.execute(admin)
    await sql`create table vouchers (code text primary key, tenant_id uuid not null, note text)`.execute(
      admin,
    )
    await sql`grant select, insert, update, delete on handles, vouchers to tessera_app`.execute(admin)
    await sql`insert into handles (tenant_id, handle, slug, code) values (${TENANT_B}, 'globex-secret', 'Globex', 'x')`.execute(
      admin,
    )
    const role = db().appRole
    schema = await introspectSchema(db().app, role === undefined ? {} : { role })
  })

  const handle = (fields: ModelPolicyInput['fields']): ModelPolicyInput => ({
    table: 'handles',
    fields,
    scoping: { tenant_id: 'principal.tenantId' },
    write: { create: 'allow', update: 'allow' },
  })
  const bind = (models: Record<string, ModelPolicyInput>): unknown =>
    bindPolicy(definePolicy({ models }), schema)

  it('introspects partial and expression unique indexes with the columns they read', () => {
    const keys = schema.tables['handles']?.uniqueKeys ?? []
    expect(keys.find((k) => k.name === 'handles_slug_lower')).toMatchObject({
      keyColumns: [],
      involvedColumns: ['slug'],
    })
    expect(keys.find((k) => k.name === 'handles_tenant_id_code_key')?.keyColumns).toEqual([
      'code',
      'tenant_id',
    ])
  })

  it('refuses a writable column under a unique constraint without the tenant column, naming it and the fix', () => {
    expect(() =>
      bind({ Handle: handle({ id: 'allow', tenant_id: 'allow', handle: 'allow', code: 'allow' }) }),
    ).toThrow(
      expect.objectContaining({
        code: 'POLICY_INVALID',
        message: expect.stringMatching(
          /models\.Handle\.fields\.handle: .*'handles_handle_key'.*unique \(tenant_id, handle\).*acceptGlobalUnique/,
        ),
      }),
    )
  })

  it('refuses a writable column read by a unique expression index', () => {
    expect(() =>
      bind({ Handle: handle({ id: 'allow', tenant_id: 'allow', slug: 'allow', code: 'allow' }) }),
    ).toThrow(
      expect.objectContaining({ message: expect.stringMatching(/fields\.slug: .*'handles_slug_lower'/) }),
    )
  })

  it('refuses a caller-supplied primary key that does not include the tenant column', () => {
    expect(() =>
      bind({
        Voucher: {
          table: 'vouchers',
          fields: { code: 'allow', tenant_id: 'allow', note: 'allow' },
          scoping: { tenant_id: 'principal.tenantId' },
          write: { create: 'allow' },
        },
      }),
    ).toThrow(
      expect.objectContaining({
        message: expect.stringMatching(/fields\.code: .*primary key 'vouchers_pkey'/),
      }),
    )
  })

  it('loads when the key includes the tenant column, the column is not writable, or the field accepts it', () => {
    expect(() =>
      bind({ Handle: handle({ id: 'allow', tenant_id: 'allow', code: 'allow', label: 'allow' }) }),
    ).not.toThrow()
    expect(() =>
      bind({
        Handle: {
          ...handle({ id: 'allow', tenant_id: 'allow', handle: 'allow', slug: 'allow' }),
          write: { create: 'deny', update: 'deny' },
        },
      }),
    ).not.toThrow()
    expect(() =>
      bind({
        Handle: handle({
          id: 'allow',
          tenant_id: 'allow',
          handle: { action: 'allow', acceptGlobalUnique: true },
          slug: { action: 'allow', acceptGlobalUnique: true },
          code: 'allow',
        }),
      }),
    ).not.toThrow()
  })

  it('with the opt-in, the collision is the documented, accepted answer', async () => {
    const h = await toolsetFor(db(), {
      models: {
        Handle: handle({
          id: 'allow',
          tenant_id: 'allow',
          handle: { action: 'allow', acceptGlobalUnique: true },
          code: 'allow',
        }),
      },
    })
    const r = await h.toolset.call(as(ALICE), 'db_create', {
      model: 'Handle',
      data: { tenant_id: TENANT_A, handle: 'globex-secret', code: 'a' },
    })
    expect(r).toEqual({
      ok: false,
      error: expect.objectContaining({
        code: 'VALIDATION_ERROR',
        message: 'The write conflicts with an existing record',
      }),
    })
  })
})
