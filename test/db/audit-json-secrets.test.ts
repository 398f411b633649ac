/**
 * Secrets nested in json/jsonb values never reach the audit: a write's inputs, its before and after images, at
 * any depth, in arrays, under any spelling of a secret-looking key (src/stores/secret-key.ts). On PGlite and
 * PostgreSQL.
 */
import { sql } from 'kysely'
import { beforeAll, expect, it } from 'vitest'
import type { PolicyInput } from '../../src/policy/policy-schema.ts'
import { REDACTED } from '../../src/stores/index.ts'
import { describeEachDatabase } from '../support/databases.ts'
import { ALICE, as } from '../support/saas.ts'
import { type ToolsetHarness, toolsetFor } from '../support/toolset.ts'

const DOCS_SQL = `
create table vault_docs (
  id integer primary key,
  tenant_id uuid not null,
  settings jsonb,
  raw json
);
grant select, insert, update on vault_docs to tessera_app`

const policy: PolicyInput = {
  models: {
    VaultDoc: {
      table: 'vault_docs',
      fields: { id: { action: 'allow', acceptGlobalUnique: true }, settings: 'allow', raw: 'allow' },
      scoping: { tenant_id: 'principal.tenantId' },
      write: { create: 'allow', update: 'allow', autoSet: { tenant_id: 'principal.tenantId' } },
    },
  },
}

/** Each value is a secret the audit must not keep; `note` and the structure around them must stay. */
const SECRETS = [
  '4321',
  'DE89370400440532013000',
  '4111111111111111',
  '737',
  'k-live-1',
  'k-live-2',
  'hunter2',
]

function settings(version: number) {
  return {
    note: `visible-${version}`,
    pin: '4321',
    accounts: [{ IBAN: 'DE89370400440532013000', cards: [{ cardNumber: '4111111111111111', CVV: '737' }] }],
    profile: { 'api-key': 'k-live-1', integrations: [[{ API_KEY: 'k-live-2' }]], Password: 'hunter2' },
  }
}

describeEachDatabase('secrets nested in json values never reach the audit', (db) => {
  let h: ToolsetHarness
  beforeAll(async () => {
    for (const statement of DOCS_SQL.split(';')) await sql.raw(statement).execute(db().admin)
    h = await toolsetFor(db(), policy)
  })

  it('redacts pin, iban, card number, cvv and api keys at any depth in inputs, before and after', async () => {
    await h.toolset.create(as(ALICE), {
      model: 'VaultDoc',
      data: { id: 1, settings: settings(1), raw: settings(1) },
    })
    const updated = await h.toolset.update(as(ALICE), {
      model: 'VaultDoc',
      id: 1,
      data: { settings: settings(2) },
    })
    // The caller still gets its data back: redaction is the audit's only.
    expect((updated.row?.['settings'] as { pin: string }).pin).toBe('4321')
    const [update, create] = await h.audit.query({ model: 'VaultDoc' })
    for (const record of [update, create]) {
      const text = JSON.stringify([record?.inputs, record?.before, record?.after])
      for (const secret of SECRETS) expect(text).not.toContain(secret)
    }
    expect(JSON.stringify(create?.after)).toContain('visible-1')
    expect(update?.before).toMatchObject({
      settings: {
        note: 'visible-1',
        pin: REDACTED,
        accounts: [{ IBAN: REDACTED, cards: [{ cardNumber: REDACTED, CVV: REDACTED }] }],
        profile: { 'api-key': REDACTED, integrations: [[{ API_KEY: REDACTED }]], Password: REDACTED },
      },
    })
    expect(update?.after).toMatchObject({ settings: { note: 'visible-2', pin: REDACTED } })
  })
})
