/**
 * Red team, marketplace round: a tenant column of type `name` (the catalog's identifier type, which some schemas
 * borrow for short keys). Its input function keeps the first 63 bytes, so the principal's tenant id is cut
 * before it is compared: a principal of tenant `'n' × 63 + 'x'` (or `+ 'é'`) read tenant `'n' × 63`'s rows, on
 * both engines, in every mode. Such a policy now does not load, like char(n) (docs/decisions.md, "A tenant
 * column compares exactly or the policy does not load"), and `tessera init` leaves the table out with the fix.
 */
import { sql } from 'kysely'
import { beforeAll, expect, it } from 'vitest'
import { parse } from 'yaml'
import { starterPolicy } from '../../src/cli/starter-policy.ts'
import { bindPolicy, definePolicy, parsePolicy } from '../../src/policy/index.ts'
import { introspectSchema, type DbSchema } from '../../src/schema/index.ts'
import { APP_ROLE, describeEachDatabase } from '../support/databases.ts'

const TENANT = 'n'.repeat(63)

describeEachDatabase('a tenant column of type name', (db) => {
  let schema: DbSchema

  beforeAll(async () => {
    const admin = db().admin
    await sql`create table name_notes (tenant_id name not null, id int not null, body text, primary key (tenant_id, id))`.execute(
      admin,
    )
    await sql`grant select, insert, update, delete on name_notes to ${sql.id(APP_ROLE)}`.execute(admin)
    await sql`insert into name_notes values (${TENANT}, 1, 'the 63-byte tenant''s note')`.execute(admin)
    schema = await introspectSchema(admin, { role: APP_ROLE })
  })

  it('cuts a longer id to the tenant it begins with, so the policy does not load', async () => {
    // The hole: the database reads a 64-byte id as the 63-byte tenant.
    const cut = await sql<{
      same: boolean
    }>`select ${`${TENANT}x`}::name = ${TENANT}::name as same`.execute(db().admin)
    expect(cut.rows[0]?.same).toBe(true)
    const policy = definePolicy({
      models: {
        Note: {
          table: 'name_notes',
          fields: { id: 'allow', tenant_id: 'allow', body: 'allow' },
          scoping: { tenant_id: 'principal.tenantId' },
        },
      },
    })
    let problems: unknown
    try {
      bindPolicy(policy, schema)
    } catch (e) {
      problems = (e as { details?: { problems?: unknown } }).details?.problems
    }
    expect(problems).toEqual([
      {
        path: 'models.Note.scoping.tenant_id',
        message:
          "column 'tenant_id' of table 'name_notes' is scoped, but it is name: its input is cut at 63 bytes, so a longer tenant id reads the rows of the one it begins with, so one tenant would see another's rows; make it text: alter table name_notes alter column tenant_id type text",
      },
    ])
  })

  it('is left out by tessera init, with the fix', () => {
    const starter = starterPolicy(schema, 'the test database')
    expect(starter.skipped).toContainEqual({
      table: 'name_notes',
      reason: expect.stringContaining('it is name: its input is cut at 63 bytes') as unknown,
    })
    const policy = parsePolicy(parse(starter.text), 'starter')
    expect(Object.values(policy.models).map((m) => m.table)).not.toContain('name_notes')
  })
})
