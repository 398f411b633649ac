/**
 * Regression (outside attack suite, hole 7): a scoped column was exempt from "join columns must be readable"
 * because its value is the caller's own on every visible row — but a permissive rule makes other tenants' rows
 * visible, and an include over the denied `tenant_id` of such a row handed out the other tenant's id as the
 * included row's key. The exemption now holds only when no permissive rule can make a foreign row visible.
 */
import { beforeAll, expect, it } from 'vitest'
import { bindPolicy } from '../../src/policy/bind-policy.ts'
import { definePolicy } from '../../src/policy/define-policy.ts'
import type { ModelPolicyInput, RowPolicyInput } from '../../src/policy/policy-schema.ts'
import { introspectSchema } from '../../src/schema/index.ts'
import type { DbSchema } from '../../src/schema/types.ts'
import { describeEachDatabase } from '../support/databases.ts'

describeEachDatabase('denied scoping column as a join column', (db) => {
  let schema: DbSchema
  beforeAll(async () => {
    const role = db().appRole
    schema = await introspectSchema(db().app, role === undefined ? {} : { role })
  })

  const policy = (rowPolicies: RowPolicyInput[]): Record<string, ModelPolicyInput> => ({
    Customer: {
      table: 'customers',
      fields: { id: 'allow', tenant_id: 'deny', is_public: 'allow', name: 'allow' },
      scoping: { tenant_id: 'principal.tenantId' },
      unscopedColumns: ['org_id'],
      rowPolicies,
      relations: { tenant: { model: 'Tenant' } },
    },
    Tenant: { table: 'tenants', shared: true, fields: { id: 'allow', name: 'allow' } },
  })
  const bind = (m: Record<string, ModelPolicyInput>): unknown =>
    bindPolicy(definePolicy({ models: m }), schema)

  it('refuses an include over a denied scoping column when a permissive rule shows other tenants rows', () => {
    expect(() =>
      bind(
        policy([{ name: 'public', mode: 'permissive', crossTenant: true, condition: 'is_public = true' }]),
      ),
    ).toThrow(
      expect.objectContaining({
        code: 'POLICY_INVALID',
        message: expect.stringMatching(
          /models\.Customer\.relations\.tenant: relation 'tenant' joins on 'tenant_id', which is not 'allow' on Customer/,
        ),
      }),
    )
  })

  it('refuses it under a bypass rule as well, which shows every tenant', () => {
    expect(() =>
      bind(
        policy([
          { name: 'admins', mode: 'permissive', bypass: true, condition: "'super_admin' IN principal.roles" },
        ]),
      ),
    ).toThrow(expect.objectContaining({ code: 'POLICY_INVALID' }))
  })

  it('keeps the exemption when only the caller own rows are visible', () => {
    expect(() => bind(policy([]))).not.toThrow()
    expect(() =>
      bind(policy([{ name: 'named', mode: 'restrictive', condition: 'name IS NOT NULL' }])),
    ).not.toThrow()
  })
})
