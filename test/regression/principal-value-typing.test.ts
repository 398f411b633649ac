/**
 * Regression: the SQL visibility predicate and the in-memory isRowVisible disagreed when a principal value was
 * compared with a column of another type or spelling — an upper-case uuid, a numeric '1.5' against 1.50, a
 * number against a text column (SQL compared as text, memory as numbers), a non-integer against an int column
 * (the database raised 22P02). Principal values are now bound to the column's type before either side runs.
 */
import { sql } from 'kysely'
import { beforeAll, expect, it } from 'vitest'
import type { Principal } from '../../src/context/index.ts'
import { columnRef, visibilityPredicate } from '../../src/sql/print-predicates.ts'
import { planVisibility } from '../../src/planner/plan-visibility.ts'
import { isRowVisible } from '../../src/planner/row-visibility.ts'
import { bindPolicy } from '../../src/policy/bind-policy.ts'
import { definePolicy } from '../../src/policy/define-policy.ts'
import type { ModelPolicyInput as FullModelPolicyInput } from '../../src/policy/policy-schema.ts'

type ModelPolicyInput = Omit<FullModelPolicyInput, 'table'>
import { introspectSchema } from '../../src/schema/index.ts'
import type { DbSchema } from '../../src/schema/types.ts'
import { describeEachDatabase } from '../support/databases.ts'

const TENANT = 'a0000000-0000-4000-8000-000000000000'

describeEachDatabase('principal values are typed by the column they meet', (db) => {
  let schema: DbSchema
  let rows: Record<string, unknown>[]
  beforeAll(async () => {
    const admin = db().admin
    await sql`create table typed_rows (id int primary key, tenant_id uuid, org_id text, level int, amount numeric(10, 2))`.execute(
      admin,
    )
    await sql`insert into typed_rows values (1, ${TENANT}, 'o1', 1, 1.50), (2, ${TENANT}, '07', 2, 7.00)`.execute(
      admin,
    )
    schema = await introspectSchema(admin)
    rows = (await sql<Record<string, unknown>>`select * from typed_rows order by id`.execute(admin)).rows
  })

  async function bothSides(
    model: ModelPolicyInput,
    principal: Principal,
  ): Promise<{ sqlIds: unknown; memoryIds: unknown }> {
    const bound = bindPolicy(
      definePolicy({
        models: {
          T: {
            table: 'typed_rows',
            fields: { id: 'allow', tenant_id: 'allow', org_id: 'allow', level: 'allow', amount: 'allow' },
            unscopedColumns: ['org_id'],
            ...model,
          },
        },
      }),
      schema,
    )
    const run = async (): Promise<number[] | string> => {
      try {
        const plan = planVisibility(bound.models['T']!, principal)
        const r = await db()
          .admin.selectFrom('typed_rows as t0')
          .select('t0.id')
          .where(visibilityPredicate(plan, columnRef('t0')))
          .orderBy('t0.id')
          .execute()
        return r.map((x) => x.id as number)
      } catch (e) {
        return (e as { code?: string }).code ?? 'THROWN'
      }
    }
    const memory = (): number[] | string => {
      try {
        const plan = planVisibility(bound.models['T']!, principal)
        return rows.filter((r) => isRowVisible(plan, r)).map((r) => r['id'] as number)
      } catch (e) {
        return (e as { code?: string }).code ?? 'THROWN'
      }
    }
    return { sqlIds: await run(), memoryIds: memory() }
  }

  it('refuses an upper-case tenant uuid on both sides (a tenant column takes only its canonical text)', async () => {
    const r = await bothSides(
      { scoping: { tenant_id: 'principal.tenantId' } },
      { tenantId: TENANT.toUpperCase() },
    )
    expect(r).toEqual({ sqlIds: 'TENANT_SCOPE_REQUIRED', memoryIds: 'TENANT_SCOPE_REQUIRED' })
    const rule = await bothSides(
      { rowPolicies: [{ name: 'own', condition: 'tenant_id = principal.tenantId', mode: 'permissive' }] },
      { tenantId: TENANT.toUpperCase() },
    )
    expect(rule).toEqual({ sqlIds: 'TENANT_SCOPE_REQUIRED', memoryIds: 'TENANT_SCOPE_REQUIRED' })
  })

  it('matches an upper-case uuid on both sides where the column is not a tenant column', async () => {
    const r = await bothSides(
      {
        scoping: { org_id: 'principal.metadata.org' },
        unscopedColumns: ['tenant_id'],
        rowPolicies: [{ name: 't', condition: 'tenant_id = principal.userId', mode: 'restrictive' }],
      },
      { tenantId: 'x', userId: TENANT.toUpperCase(), metadata: { org: 'o1' } },
    )
    expect(r).toEqual({ sqlIds: [1], memoryIds: [1] })
  })

  it("matches a numeric principal '1.5' against 1.50 on both sides", async () => {
    const r = await bothSides(
      {
        scoping: { tenant_id: 'principal.tenantId' },
        rowPolicies: [{ name: 'amt', condition: 'amount = principal.metadata.amount', mode: 'restrictive' }],
      },
      { tenantId: TENANT, metadata: { amount: '1.5' } },
    )
    expect(r).toEqual({ sqlIds: [1], memoryIds: [1] })
  })

  it('refuses a number compared with a text column on both sides instead of comparing differently', async () => {
    const model: ModelPolicyInput = {
      scoping: { tenant_id: 'principal.tenantId' },
      rowPolicies: [{ name: 'org', condition: 'org_id = principal.metadata.orgId', mode: 'restrictive' }],
    }
    expect(await bothSides(model, { tenantId: TENANT, metadata: { orgId: 7 } })).toEqual({
      sqlIds: 'TENANT_SCOPE_REQUIRED',
      memoryIds: 'TENANT_SCOPE_REQUIRED',
    })
  })

  it('refuses a non-integer compared with an int column before the database can raise a parse error', async () => {
    const model: ModelPolicyInput = {
      scoping: { tenant_id: 'principal.tenantId' },
      rowPolicies: [
        { name: 'lvl', condition: 'NOT (level = principal.metadata.level)', mode: 'restrictive' },
      ],
    }
    expect(await bothSides(model, { tenantId: TENANT, metadata: { level: 'high' } })).toEqual({
      sqlIds: 'TENANT_SCOPE_REQUIRED',
      memoryIds: 'TENANT_SCOPE_REQUIRED',
    })
  })

  it('binds every item of a principal list to the column type', async () => {
    const model: ModelPolicyInput = {
      rowPolicies: [
        { name: 'tenants', condition: 'tenant_id IN principal.metadata.tenants', mode: 'permissive' },
      ],
    }
    expect(await bothSides(model, { tenantId: TENANT, metadata: { tenants: [TENANT] } })).toEqual({
      sqlIds: [1, 2],
      memoryIds: [1, 2],
    })
    // tenant_id is a tenant column here (pinned by the permissive rule): only the canonical text is taken.
    expect(
      await bothSides(model, { tenantId: TENANT, metadata: { tenants: [TENANT.toUpperCase()] } }),
    ).toEqual({ sqlIds: 'TENANT_SCOPE_REQUIRED', memoryIds: 'TENANT_SCOPE_REQUIRED' })
    expect(await bothSides(model, { tenantId: TENANT, metadata: { tenants: ['not-a-uuid'] } })).toEqual({
      sqlIds: 'TENANT_SCOPE_REQUIRED',
      memoryIds: 'TENANT_SCOPE_REQUIRED',
    })
  })
})
