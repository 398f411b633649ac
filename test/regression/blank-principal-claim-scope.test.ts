/**
 * Regression (red team): a blank string in a principal claim scoped rows to "the blank tenant". A model scoped
 * by `principal.metadata.org` showed every row whose org is '' to any principal whose host mapped a missing
 * claim to '' (a common default in JWT mappings), and `autoSet` filed its creates there too — one bucket shared
 * by every such caller of every tenant. A missing or null claim was refused; a blank `tenantId` is refused at
 * the boundary. A blank (empty or whitespace) claim now counts as missing: TENANT_SCOPE_REQUIRED for scopes,
 * autoSet and comparisons, NULL under IS NULL, a NULL item in a list — in memory and in the RLS claims alike.
 */
import { sql } from 'kysely'
import { beforeAll, expect, it } from 'vitest'
import type { Principal } from '../../src/context/index.ts'
import { describeEachDatabase } from '../support/databases.ts'
import { type ToolsetHarness, toolsetFor } from '../support/toolset.ts'

const TENANT = 'tenant-x'

describeEachDatabase('blank principal claims', (db) => {
  let h: ToolsetHarness
  let byList: ToolsetHarness
  beforeAll(async () => {
    const admin = db().admin
    await sql`create table wards (id int generated always as identity primary key, org text not null, name text not null, secret_level text)`.execute(
      admin,
    )
    await sql`grant select, insert, update on wards to tessera_app`.execute(admin)
    await sql`insert into wards (org, name, secret_level) values ('org-a', 'A ward', 'a'), ('', 'orphan ward', ''), ('   ', 'spaced ward', 'b')`.execute(
      admin,
    )
    h = await toolsetFor(db(), {
      models: {
        Ward: {
          table: 'wards',
          scoping: { org: 'principal.metadata.org' },
          fields: { id: 'allow', org: 'allow', name: 'allow', secret_level: 'allow' },
          write: { create: 'allow', autoSet: { org: 'principal.metadata.org' } },
        },
      },
    })
    // The same table reached through a list claim, and a rule that holds when a claim is missing.
    byList = await toolsetFor(db(), {
      models: {
        WardByList: {
          table: 'wards',
          rowPolicies: [
            { name: 'my_orgs', condition: 'org IN principal.metadata.orgs', mode: 'permissive' },
            { name: 'no_level', condition: 'principal.metadata.level IS NULL' },
          ],
          fields: { id: 'allow', org: 'allow', name: 'allow' },
        },
      },
    })
  })

  const as = (metadata: Record<string, unknown>) => ({
    principal: { tenantId: TENANT, metadata } as Principal,
  })

  it('refuses a blank scoping claim as a missing one instead of showing the blank tenant’s rows', async () => {
    for (const org of ['', '   ', '\t\n']) {
      const r = await h.toolset.call(as({ org }), 'db_query', { model: 'Ward' })
      expect(r, JSON.stringify(org)).toEqual({
        ok: false,
        error: expect.objectContaining({ code: 'TENANT_SCOPE_REQUIRED' }),
      })
    }
    const own = await h.toolset.query(as({ org: 'org-a' }), { model: 'Ward', select: ['name'] })
    expect(own.rows).toEqual([{ name: 'A ward' }])
  })

  it('refuses to file a create under a blank autoSet claim', async () => {
    for (const org of ['', ' ']) {
      const r = await h.toolset.call(as({ org }), 'db_create', { model: 'Ward', data: { name: 'planted' } })
      expect(r).toEqual({ ok: false, error: expect.objectContaining({ code: 'TENANT_SCOPE_REQUIRED' }) })
    }
    const planted = await db().admin.selectFrom('wards').select('id').where('name', '=', 'planted').execute()
    expect(planted).toEqual([])
  })

  it('reads a blank item of a list claim as no value, and a blank claim as NULL under IS NULL', async () => {
    const { rows } = await byList.toolset.query(as({ orgs: ['', '   ', 'org-a'] }), {
      model: 'WardByList',
      select: ['name'],
    })
    expect(rows).toEqual([{ name: 'A ward' }])
    const blankLevel = await byList.toolset.query(as({ orgs: ['org-a'], level: ' ' }), {
      model: 'WardByList',
      select: ['name'],
    })
    expect(blankLevel.rows).toEqual([{ name: 'A ward' }])
  })
})
