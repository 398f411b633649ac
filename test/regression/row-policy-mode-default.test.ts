/**
 * Regression (guide check, issue 9 item 11): the multi-tenant guides write
 * `RowPolicy(name="tenant_required", condition="tenant_id IS NOT NULL")` meaning a restriction, but a rule
 * without `mode` was permissive, so that copy showed every tenant's rows. A rule without `mode` now only
 * narrows, and a permissive rule on a scoped model that reaches other tenants (a branch not tied to the
 * principal, a tenant column compared with a literal) is a load error unless it says `crossTenant: true`.
 */
import { readdirSync } from 'node:fs'
import { beforeAll, describe, expect, it } from 'vitest'
import { isTesseraError, type TesseraError } from '../../src/errors/index.ts'
import { bindPolicy, definePolicy, loadPolicyFile, type PolicyInput } from '../../src/policy/index.ts'
import { introspectSchema } from '../../src/schema/index.ts'
import { describeEachDatabase } from '../support/databases.ts'
import { ALICE, as, ORDER_B1, ORDER_NO_TENANT, TENANT_A } from '../support/saas.ts'
import { type ToolsetHarness, toolsetFor } from '../support/toolset.ts'

type Rule = NonNullable<NonNullable<PolicyInput['models'][string]>['rowPolicies']>[number]

/** Orders (some rows have no tenant) for the database test; customers (with is_public) for load checks. */
function orders(rowPolicies: Rule[], scoped = true, table = 'orders'): PolicyInput {
  return {
    models: {
      Order: {
        table,
        fields: { id: 'allow', tenant_id: 'allow', status: 'allow' },
        ...(scoped ? { scoping: { tenant_id: 'principal.tenantId' } } : {}),
        unscopedColumns: ['org_id'],
        rowPolicies,
      },
    },
  }
}

function problemsOf(input: PolicyInput): { path: string; message: string }[] {
  try {
    definePolicy(input)
  } catch (error) {
    if (isTesseraError(error) && error.code === 'POLICY_INVALID') {
      return (error as TesseraError).details['problems'] as { path: string; message: string }[]
    }
    throw error
  }
  return []
}

describeEachDatabase('a row policy without mode narrows', (db) => {
  let h: ToolsetHarness
  beforeAll(async () => {
    h = await toolsetFor(db(), orders([{ name: 'tenant_required', condition: 'tenant_id IS NOT NULL' }]))
  })

  it("shows only the caller's rows when the guide's tenant_required is copied as written", async () => {
    const { rows } = await h.toolset.query(as(ALICE), { model: 'Order', select: ['id', 'tenant_id'] })
    expect(rows.length).toBeGreaterThan(0)
    expect(new Set(rows.map((r) => r['tenant_id']))).toEqual(new Set([TENANT_A]))
    const ids = rows.map((r) => r['id'])
    expect(ids).not.toContain(ORDER_B1)
    expect(ids).not.toContain(ORDER_NO_TENANT)
  })

  it('loads every policy shipped in policies/ against the fixture', async () => {
    const role = db().appRole
    const schema = await introspectSchema(db().app, role === undefined ? {} : { role })
    const dir = new URL('../../policies/', import.meta.url)
    const files = readdirSync(dir).filter((f) => f.endsWith('.yaml'))
    expect(files.length).toBeGreaterThan(5)
    for (const file of files) {
      const policy = await loadPolicyFile(new URL(file, dir).pathname)
      expect(() => bindPolicy(policy, schema), file).not.toThrow()
    }
  })
})

describe('permissive rules that reach other tenants', () => {
  it('refuses the guide rule as the only rule of an unscoped model, saying how to write a widening rule', () => {
    const found = problemsOf(orders([{ name: 'tenant_required', condition: 'tenant_id IS NOT NULL' }], false))
    expect(found).toEqual([
      {
        path: 'models.Order',
        message: expect.stringMatching(
          /mode: permissive.*'tenant_required' has no mode, so it is restrictive: it can only narrow/,
        ),
      },
    ])
  })

  it.each([
    ['tenant_id IS NOT NULL'],
    ['is_public = true'],
    ['is_public = true OR tenant_id = principal.tenantId'],
    ['tenant_id != principal.tenantId'],
    ['NOT (tenant_id = principal.tenantId)'],
    ["'admin' IN principal.roles AND is_public = true"],
    ['tenant_id NOT IN principal.metadata.tenantHierarchy'],
  ])('refuses permissive %s on a scoped model unless crossTenant: true', (condition) => {
    const rule = { name: 'wide', condition, mode: 'permissive' } as const
    const found = problemsOf(orders([rule]))
    expect(found).toEqual([
      {
        path: 'models.Order.rowPolicies[0].condition',
        message: expect.stringContaining("remove mode: 'permissive'"),
      },
    ])
    expect(found[0]?.message).toContain('add crossTenant: true')
    expect(problemsOf(orders([{ ...rule, crossTenant: true }]))).toEqual([])
  })

  it.each([[true], [false]])(
    'refuses a tenant column compared with a literal, naming the column (scoped: %s)',
    (scoped) => {
      const rule = {
        name: 'globex',
        condition: "tenant_id = 'b0000000-0000-4000-8000-000000000000' OR tenant_id = principal.tenantId",
        mode: 'permissive',
      } as const
      expect(problemsOf(orders([rule], scoped))).toEqual([
        {
          path: 'models.Order.rowPolicies[0].condition',
          message: expect.stringContaining("compares tenant column 'tenant_id' with a literal"),
        },
      ])
      expect(problemsOf(orders([{ ...rule, crossTenant: true }], scoped))).toEqual([])
    },
  )

  it.each([
    ['tenant_id IN principal.metadata.tenantHierarchy'],
    ['tenant_id = principal.tenantId AND is_public = true'],
    ["tenant_id = principal.tenantId AND status = 'paid'"],
    ['(tenant_id = principal.tenantId OR tenant_id IN principal.metadata.tenantHierarchy)'],
  ])('accepts permissive %s: every branch is tied to the principal', (condition) => {
    expect(problemsOf(orders([{ name: 'family', condition, mode: 'permissive' }]))).toEqual([])
  })

  it('accepts the shared-resources pattern on a model scoped only by permissive rules', () => {
    const rule = {
      name: 'public_or_own',
      condition: 'is_public = true OR tenant_id = principal.tenantId',
      mode: 'permissive',
    } as const
    expect(problemsOf(orders([rule], false))).toEqual([])
  })

  it('refuses crossTenant on a rule that is not permissive', () => {
    expect(
      problemsOf(orders([{ name: 'guard', condition: 'tenant_id IS NOT NULL', crossTenant: true }])),
    ).toEqual([
      {
        path: 'models.Order.rowPolicies[0].crossTenant',
        message: expect.stringContaining('crossTenant only applies to a permissive rule'),
      },
    ])
  })

  it('normalises a rule without mode to restrictive and a bypass to permissive', () => {
    const policy = definePolicy(
      orders([
        { name: 'guard', condition: 'tenant_id IS NOT NULL' },
        { name: 'admin', condition: "'super_admin' IN principal.roles", bypass: true },
      ]),
    )
    expect(policy.models['Order']?.rowPolicies.map((r) => [r.name, r.mode])).toEqual([
      ['guard', 'restrictive'],
      ['admin', 'permissive'],
    ])
  })
})
