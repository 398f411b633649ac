/**
 * Regression (outside attack suite, hole 6): a create referencing `badges(pin)` where `pin` is denied
 * succeeded iff the guessed pin existed — the write path checks that the referenced row is visible, and that
 * answer depends on a value the caller may not read. "Join columns must be allow" now covers every foreign key
 * the write path checks, declared as a relation or not.
 */
import { sql } from 'kysely'
import { beforeAll, expect, it } from 'vitest'
import { bindPolicy } from '../../src/policy/bind-policy.ts'
import { definePolicy } from '../../src/policy/define-policy.ts'
import type { FieldRuleInput, ModelPolicyInput } from '../../src/policy/policy-schema.ts'
import { introspectSchema } from '../../src/schema/index.ts'
import type { DbSchema } from '../../src/schema/types.ts'
import { describeEachDatabase } from '../support/databases.ts'

describeEachDatabase('foreign keys onto denied columns', (db) => {
  let schema: DbSchema
  beforeAll(async () => {
    const admin = db().admin
    await sql`create table badges (id uuid primary key default gen_random_uuid(), tenant_id uuid not null, pin text not null unique, name text)`.execute(
      admin,
    )
    await sql`create table members (id uuid primary key default gen_random_uuid(), tenant_id uuid not null, badge_pin text references badges(pin), name text)`.execute(
      admin,
    )
    await sql`grant select, insert, update, delete on badges, members to tessera_app`.execute(admin)
    const role = db().appRole
    schema = await introspectSchema(db().app, role === undefined ? {} : { role })
  })

  const models = (
    pin: FieldRuleInput,
    member: Partial<ModelPolicyInput> = {},
  ): Record<string, ModelPolicyInput> => ({
    Badge: {
      table: 'badges',
      fields: { id: 'allow', tenant_id: 'allow', pin, name: 'allow' },
      scoping: { tenant_id: 'principal.tenantId' },
    },
    Member: {
      table: 'members',
      fields: { id: 'allow', tenant_id: 'allow', badge_pin: 'allow', name: 'allow' },
      scoping: { tenant_id: 'principal.tenantId' },
      write: { create: 'allow' },
      ...member,
    },
  })
  const bind = (m: Record<string, ModelPolicyInput>): unknown =>
    bindPolicy(definePolicy({ models: m }), schema)

  it('refuses a writable reference onto a denied column although no relation declares it', () => {
    expect(() => bind(models('deny'))).toThrow(
      expect.objectContaining({
        code: 'POLICY_INVALID',
        message: expect.stringMatching(
          /models\.Member\.fields\.badge_pin: .*references Badge\.pin \(foreign key members_badge_pin_fkey\).*allow the referenced column/,
        ),
      }),
    )
  })

  it('refuses it onto a masked or hashed column too, and through a declared relation', () => {
    expect(() => bind(models('hash'))).toThrow(expect.objectContaining({ code: 'POLICY_INVALID' }))
    expect(() =>
      bind(models('mask', { relations: { badge: { model: 'Badge', foreignKey: 'badge_pin' } } })),
    ).toThrow(expect.objectContaining({ message: expect.stringMatching(/fields\.badge_pin/) }))
  })

  it('loads when the referenced column is readable or the referencing field is not writable', () => {
    expect(() => bind(models('allow'))).not.toThrow()
    expect(() => bind(models('deny', { write: { create: 'deny' } }))).not.toThrow()
    expect(() =>
      bind(models('deny', { fields: { id: 'allow', tenant_id: 'allow', badge_pin: 'deny', name: 'allow' } })),
    ).not.toThrow()
  })
})
