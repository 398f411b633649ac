/**
 * Tenant pins in the generated RLS (src/rls/generate-rls.ts): on a model scoped only through a permissive rule
 * with a branch that does not name the tenant (`owner_id = principal.userId OR org_id = principal.tenantId`),
 * the planner refuses a write that places or moves a row into another tenant (test/regression/
 * or-branch-tenant-write.test.ts). These tests write as the application role directly, claims set and no
 * Tessera in the way — the client the second wall is for — and the database refuses the same writes.
 */
import { sql } from 'kysely'
import { beforeAll, expect, it } from 'vitest'
import { bindPolicy, definePolicy } from '../../src/policy/index.ts'
import { applyRls, generateRls } from '../../src/rls/index.ts'
import { introspectSchema } from '../../src/schema/index.ts'
import { APP_ROLE, describeEachDatabase } from '../support/databases.ts'
import { TENANT_A, TENANT_B, USER_ALICE } from '../support/saas.ts'

const policy = definePolicy({
  models: {
    Memo: {
      table: 'pinned_memos',
      fields: { id: 'allow', org_id: 'allow', owner_id: 'allow', body: 'allow' },
      rowPolicies: [
        {
          name: 'own_or_org',
          mode: 'permissive',
          condition: 'owner_id = principal.userId OR org_id = principal.tenantId',
          // The owner branch reads across tenants on purpose (a user id need not be unique across them).
          crossTenant: true,
        },
        { name: 'support', condition: "'support' IN principal.roles", bypass: true },
      ],
      write: { create: 'allow', update: 'allow', delete: 'allow' },
    },
  },
})

interface Claims {
  readonly tenantId: string
  readonly userId: string
  readonly roles?: readonly string[]
}

const ALICE: Claims = { tenantId: TENANT_A, userId: USER_ALICE }
const SUPPORT: Claims = { tenantId: TENANT_A, userId: USER_ALICE, roles: ['support'] }

describeEachDatabase('generated RLS pins a written row to the caller’s tenant', (db) => {
  beforeAll(async () => {
    const admin = db().admin
    await sql`create table pinned_memos (id uuid primary key default gen_random_uuid(), org_id uuid not null,
      owner_id uuid, body text not null)`.execute(admin)
    await sql`grant select, insert, update, delete on pinned_memos to ${sql.id(APP_ROLE)}`.execute(admin)
    const schema = await introspectSchema(admin, { role: APP_ROLE })
    await applyRls(admin, generateRls(bindPolicy(policy, schema)))
  }, 60_000)

  /**
   * Runs `statement` as the application role in one transaction with the claims set, as a client without
   * Tessera would; resolves with the affected row count, or the SQLSTATE it failed with.
   */
  async function asApp(claims: Claims, statement: string, values: unknown[]): Promise<number | string> {
    const { appPool, appRole } = db()
    const client = await appPool.connect()
    try {
      await client.query('begin')
      await client.query(
        `select set_config('tessera.tenant_id', $1, true), set_config('tessera.user_id', $2, true),
          set_config('tessera.roles', $3, true)`,
        [claims.tenantId, claims.userId, claims.roles === undefined ? '' : JSON.stringify(claims.roles)],
      )
      if (appRole !== undefined) await client.query(`select set_config('role', $1, true)`, [appRole])
      const result = await client.query(statement, values)
      await client.query('commit')
      return result.rowCount ?? 0
    } catch (err) {
      await client.query('rollback')
      return String((err as { code?: unknown }).code)
    } finally {
      client.release()
    }
  }

  const orgsOf = async (body: string): Promise<string[]> =>
    (await db().admin.selectFrom('pinned_memos').select('org_id').where('body', '=', body).execute()).map(
      (r) => String(r.org_id),
    )

  const INSERT = 'insert into pinned_memos (org_id, owner_id, body) values ($1, $2, $3)'

  it('generates a restrictive pin policy for insert, update and delete, none for select', async () => {
    const generated = generateRls(bindPolicy(policy, await introspectSchema(db().admin, { role: APP_ROLE })))
    const pins = generated.tables[0]?.policies.filter((p) => p.name.startsWith('tessera_pin_org_id_'))
    expect(pins?.map((p) => [p.command, p.permissive])).toEqual([
      ['insert', false],
      ['update', false],
      ['delete', false],
    ])
  })

  it('refuses an insert into another tenant through the owner branch, and writes nothing', async () => {
    expect(await asApp(ALICE, INSERT, [TENANT_B, USER_ALICE, 'planted'])).toBe('42501')
    expect(await orgsOf('planted')).toEqual([])
    expect(await asApp(ALICE, INSERT, [TENANT_A, USER_ALICE, 'own'])).toBe(1)
    expect(await orgsOf('own')).toEqual([TENANT_A])
  })

  it('refuses moving the caller’s own row into another tenant', async () => {
    expect(await asApp(ALICE, INSERT, [TENANT_A, USER_ALICE, 'to move'])).toBe(1)
    const moved = await asApp(ALICE, 'update pinned_memos set org_id = $1 where body = $2', [
      TENANT_B,
      'to move',
    ])
    expect(moved).toBe('42501')
    expect(await orgsOf('to move')).toEqual([TENANT_A])
  })

  it('lets no update or delete reach a row of another tenant the caller owns (it stays readable)', async () => {
    await sql`insert into pinned_memos (org_id, owner_id, body) values (${TENANT_B}, ${USER_ALICE}, 'elsewhere')`.execute(
      db().admin,
    )
    expect(await asApp(ALICE, 'select 1 from pinned_memos where body = $1', ['elsewhere'])).toBe(1)
    expect(
      await asApp(ALICE, 'update pinned_memos set body = $1 where body = $2', ['hijacked', 'elsewhere']),
    ).toBe(0)
    expect(await asApp(ALICE, 'delete from pinned_memos where body = $1', ['elsewhere'])).toBe(0)
    expect(await orgsOf('elsewhere')).toEqual([TENANT_B])
  })

  it('lifts the pin for a principal a bypass rule holds for, as the planner does', async () => {
    expect(await asApp(SUPPORT, INSERT, [TENANT_B, USER_ALICE, 'by support'])).toBe(1)
    expect(await orgsOf('by support')).toEqual([TENANT_B])
  })
})
