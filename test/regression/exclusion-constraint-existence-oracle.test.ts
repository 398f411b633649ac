/**
 * Regression (red team, bookings schema): an exclusion constraint without the tenant column —
 * `exclude (room with =)` or `exclude using gist (during with &&)` — refused tenant A's booking when it clashed
 * with tenant B's ("The values break a rule of the table") and accepted it otherwise: an existence oracle for
 * other tenants' rooms and time slots. The load check for unique keys spanning tenants now covers exclusion
 * constraints; one that compares the tenant column with `=` confines conflicts to the tenant and loads.
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

describeEachDatabase('exclusion constraints spanning tenants', (db) => {
  let schema: DbSchema
  beforeAll(async () => {
    const admin = db().admin
    await sql`create table bookings (
      id serial primary key, tenant_id uuid not null, room text not null, during tstzrange not null, note text,
      exclude (room with =), exclude using gist (during with &&))`.execute(admin)
    await sql`create table desks (
      id serial primary key, tenant_id uuid not null, desk text not null, exclude (tenant_id with =, desk with =))`.execute(
      admin,
    )
    await sql`grant select, insert, update, delete on bookings, desks to tessera_app`.execute(admin)
    await sql`grant usage on all sequences in schema public to tessera_app`.execute(admin)
    await sql`insert into bookings (tenant_id, room, during)
      values (${TENANT_B}, 'globex-board-room', '[2030-01-01 10:00Z, 2030-01-01 11:00Z)')`.execute(admin)
    await sql`insert into desks (tenant_id, desk) values (${TENANT_B}, 'D-7')`.execute(admin)
    const role = db().appRole
    schema = await introspectSchema(db().app, role === undefined ? {} : { role })
  })

  const scoped = (table: string, fields: ModelPolicyInput['fields']): ModelPolicyInput => ({
    table,
    fields,
    scoping: { tenant_id: 'principal.tenantId' },
    write: { create: 'allow', update: 'allow', autoSet: { tenant_id: 'principal.tenantId' } },
  })

  it('introspects an exclusion constraint with its equality columns as key columns', () => {
    const keys = schema.tables['bookings']?.uniqueKeys ?? []
    expect(keys.find((k) => k.name === 'bookings_room_excl')).toMatchObject({
      exclusion: true,
      keyColumns: ['room'],
      involvedColumns: ['room'],
    })
    expect(keys.find((k) => k.name === 'bookings_during_excl')).toMatchObject({
      exclusion: true,
      keyColumns: [],
      involvedColumns: ['during'],
    })
  })

  it('refuses writable columns under an exclusion constraint without the tenant column, naming each and the fix', () => {
    const fields = { id: 'allow', tenant_id: 'allow', room: 'allow', during: 'allow', note: 'allow' } as const
    expect(() =>
      bindPolicy(definePolicy({ models: { Booking: scoped('bookings', fields) } }), schema),
    ).toThrow(
      expect.objectContaining({
        code: 'POLICY_INVALID',
        message: expect.stringMatching(
          /models\.Booking\.fields\.during: .*exclusion constraint 'bookings_during_excl'.*tenant_id WITH =(.|\n)*models\.Booking\.fields\.room: .*'bookings_room_excl'/,
        ),
      }),
    )
  })

  it('loads when the constraint compares the tenant column, and a clash with another tenant is no clash', async () => {
    const h = await toolsetFor(db(), {
      models: { Desk: scoped('desks', { id: 'allow', tenant_id: 'allow', desk: 'allow' }) },
    })
    const r = await h.toolset.call(as(ALICE), 'db_create', { model: 'Desk', data: { desk: 'D-7' } })
    expect(r).toMatchObject({ ok: true, data: { row: { tenant_id: TENANT_A, desk: 'D-7' } } })
  })

  it('loads when the covered fields accept global uniqueness explicitly', () => {
    const fields = {
      id: 'allow',
      tenant_id: 'allow',
      room: { action: 'allow', acceptGlobalUnique: true },
      during: { action: 'allow', acceptGlobalUnique: true },
      note: 'allow',
    } as const
    expect(() =>
      bindPolicy(definePolicy({ models: { Booking: scoped('bookings', fields) } }), schema),
    ).not.toThrow()
  })
})
