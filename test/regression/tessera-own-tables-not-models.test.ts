/**
 * Regression (red team, careless host): `tessera init` on a database holding Tessera's own tables wrote them
 * into the starter policy as models an agent could read — `tessera_audit` (every call of the tenant, other users'
 * arguments and write images), `tessera_approvals` (pending writes) and `tessera_audit_cuts` as `shared: true`,
 * whose chain keys name every tenant that ever called. These tables are the operator's, never an agent's: init
 * leaves them out and a policy that models one does not load.
 */
import { beforeAll, expect, it } from 'vitest'
import { starterPolicy } from '../../src/cli/starter-policy.ts'
import { bindPolicy, definePolicy, TESSERA_OWN_TABLES } from '../../src/policy/index.ts'
import { introspectSchema, type DbSchema } from '../../src/schema/index.ts'
import { ensureApprovalTable, ensureAuditTables } from '../../src/stores/index.ts'
import { describeEachDatabase } from '../support/databases.ts'

const OWN_TABLES = ['tessera_audit', 'tessera_audit_cuts', 'tessera_approvals']

describeEachDatabase('Tessera’s own tables', (db) => {
  let schema: DbSchema
  beforeAll(async () => {
    await ensureAuditTables(db().admin)
    await ensureApprovalTable(db().admin)
    schema = await introspectSchema(db().admin)
  })

  it('are every table the stores create', () => {
    const created = Object.keys(schema.tables).filter((k) => k.startsWith('tessera_'))
    expect(new Set(created)).toEqual(TESSERA_OWN_TABLES)
  })

  it('are left out of the starter policy, each with its reason', () => {
    const starter = starterPolicy(schema, 'test')
    expect(starter.models.map((m) => m.table)).not.toEqual(
      expect.arrayContaining([expect.stringMatching(/^tessera_/)]),
    )
    for (const table of OWN_TABLES) {
      expect(starter.text).not.toContain(`table: ${table}`)
      expect(starter.skipped).toContainEqual({ table, reason: expect.stringContaining('Tessera') })
    }
    // The rest of the fixture is still there.
    expect(starter.models.map((m) => m.table)).toContain('orders')
  })

  it('cannot be the table of a model', () => {
    for (const table of [...OWN_TABLES, 'public.tessera_audit']) {
      const policy = definePolicy({
        models: { Leak: { table, shared: true, fields: { tool: 'allow', chain: 'allow', id: 'allow' } } },
      })
      expect(() => bindPolicy(policy, schema), table).toThrow(
        expect.objectContaining({
          code: 'POLICY_INVALID',
          message: expect.stringContaining(
            `models.Leak.table: table '${table.replace('public.', '')}' is Tessera's own`,
          ),
        }),
      )
    }
  })
})
