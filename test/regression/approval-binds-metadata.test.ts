/**
 * Regression (second red-team pass): an approval was bound to tenant, user, roles, tool, arguments and policy
 * version, but not to the principal's metadata — which scoping, row policies and autoSet read. A create that a
 * manager approved while the user acted in org `main` ran, when re-submitted from org `labs`, in `labs` (autoSet
 * took the org from the new metadata). Cursors already bind metadata; approvals now do too.
 */
import { beforeAll, expect, it } from 'vitest'
import type { Principal } from '../../src/context/index.ts'
import { describeEachDatabase } from '../support/databases.ts'
import { ALICE, as } from '../support/saas.ts'
import { type ToolsetHarness, toolsetFor } from '../support/toolset.ts'
import { errorOf } from '../support/write-helpers.ts'

const ALICE_IN_LABS: Principal = { ...ALICE, metadata: { orgId: 'labs' } }

describeEachDatabase('regression: an approval does not follow its user into another org', (db) => {
  let h: ToolsetHarness
  beforeAll(async () => {
    h = await toolsetFor(db(), {
      models: {
        Customer: {
          table: 'customers',
          fields: { id: 'allow', name: 'allow' },
          scoping: { tenant_id: 'principal.tenantId', org_id: 'principal.metadata.orgId' },
          write: {
            create: 'approval',
            autoSet: { tenant_id: 'principal.tenantId', org_id: 'principal.metadata.orgId' },
          },
        },
      },
    })
  })

  it('refuses the approval from another org like an unknown one, and runs it in the org it was granted for', async () => {
    const args = { model: 'Customer', data: { name: 'Approved in main' } }
    const pending = await errorOf(h.toolset.create(as(ALICE), args))
    expect(pending.code).toBe('WRITE_APPROVAL_REQUIRED')
    const approvalId = pending.details['approvalId'] as string
    await h.toolset.approvals.approve(approvalId, 'manager')

    const elsewhere = await h.toolset.call(as(ALICE_IN_LABS), 'db_create', { ...args, approvalId })
    expect(elsewhere).toMatchObject({
      ok: false,
      error: {
        code: 'VALIDATION_ERROR',
        message: 'The approval does not exist or was granted for other arguments',
      },
    })
    const inLabs = await h.toolset.query(as(ALICE_IN_LABS), {
      model: 'Customer',
      where: { field: 'name', op: 'eq', value: 'Approved in main' },
    })
    expect(inLabs.rows).toEqual([])

    const created = await h.toolset.create(as(ALICE), { ...args, approvalId })
    const inMain = await h.toolset.get(as(ALICE), { model: 'Customer', id: created.row['id'] as string })
    expect(inMain.row['name']).toBe('Approved in main')
  })
})
