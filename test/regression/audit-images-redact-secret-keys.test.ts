/**
 * Regression (red team, project-tracker schema): an update writing `{ meta: { apiKey: 'sk-live-…' } }` stored
 * `inputs.data.meta.apiKey` as `[REDACTED]` and the same secret verbatim in the record's `after` image (and
 * in `before` on the next write); so did an allowed column named like a secret (`api_token`). Images now get
 * the same secret-key redaction as inputs, before any digest is taken.
 */
import { sql } from 'kysely'
import { beforeAll, expect, it } from 'vitest'
import { describeEachDatabase } from '../support/databases.ts'
import { ALICE, as, TENANT_A } from '../support/saas.ts'
import { toolsetFor, type ToolsetHarness } from '../support/toolset.ts'

const SECRETS = ['sk-live-4f1d', 'hunter2-pw', 'tok-9c2e', 'sk-live-older', 'tok-older']

describeEachDatabase('audit images of writes holding secret-looking keys', (db) => {
  let h: ToolsetHarness
  beforeAll(async () => {
    const admin = db().admin
    await sql`create table tracker_projects (
      tenant_id uuid not null, id int not null, title text not null, meta jsonb, api_token text,
      primary key (tenant_id, id))`.execute(admin)
    await sql`grant select, insert, update, delete on tracker_projects to tessera_app`.execute(admin)
    await sql`insert into tracker_projects values
      (${TENANT_A}, 1, 'Roadmap', '{"nested": [{"apiKey": "sk-live-older"}]}', 'tok-older')`.execute(admin)
    h = await toolsetFor(db(), {
      models: {
        Project: {
          table: 'tracker_projects',
          fields: { tenant_id: 'allow', id: 'allow', title: 'allow', meta: 'allow', api_token: 'allow' },
          scoping: { tenant_id: 'principal.tenantId' },
          write: { update: 'allow', autoSet: { tenant_id: 'principal.tenantId' } },
        },
      },
    })
  })

  it('redacts secret-looking keys at any depth in before and after, as in inputs, keeping other values', async () => {
    const r = await h.toolset.call(as(ALICE), 'db_update', {
      model: 'Project',
      id: { tenant_id: TENANT_A, id: 1 },
      data: {
        title: 'Roadmap 2',
        meta: { apiKey: 'sk-live-4f1d', owner: { password: 'hunter2-pw' }, color: 'blue' },
        api_token: 'tok-9c2e',
      },
    })
    expect(r.ok).toBe(true)
    // The caller, allowed to read these fields, still gets them: only the audit image is redacted.
    expect(JSON.stringify(r)).toContain('sk-live-4f1d')
    const record = (await h.audit.query({ tool: 'db_update' })).at(-1)
    const text = JSON.stringify(record)
    for (const secret of SECRETS) expect(text).not.toContain(secret)
    expect(record?.after).toMatchObject({
      title: 'Roadmap 2',
      api_token: '[REDACTED]',
      meta: { apiKey: '[REDACTED]', owner: { password: '[REDACTED]' }, color: 'blue' },
    })
    expect(record?.before).toMatchObject({
      title: 'Roadmap',
      api_token: '[REDACTED]',
      meta: { nested: [{ apiKey: '[REDACTED]' }] },
    })
  })
})
