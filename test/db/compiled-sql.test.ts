/**
 * Snapshots of the SQL the planner compiles for representative plans. The point is what is NOT in the text:
 * tenant ids, principal values and filter values only ever appear as bound parameters.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { printAggregate } from '../../src/sql/print-aggregate.ts'
import { printGet, printQuery } from '../../src/sql/print-select.ts'
import { planAggregate, planGet, planQuery } from '../../src/planner/plan-read.ts'
import { parseRequest } from '../../src/request/request-schema.ts'
import { bindPolicy } from '../../src/policy/bind-policy.ts'
import { definePolicy } from '../../src/policy/define-policy.ts'
import type { BoundPolicy } from '../../src/policy/types.ts'
import { introspectSchema } from '../../src/schema/index.ts'
import { openTestDatabase, type TestDatabase } from '../support/databases.ts'
import { ERIN, SUPER, TENANT_A, TENANT_A1, TEST_SECRET } from '../support/saas.ts'
import { scopedOrder } from '../support/scoped-order.ts'

describe('compiled SQL', () => {
  let db: TestDatabase
  let bound: BoundPolicy
  beforeAll(async () => {
    db = await openTestDatabase('pglite')
    const policy = definePolicy({
      models: {
        Order: scopedOrder(
          {
            id: 'allow',
            tenant_id: 'allow',
            status: 'allow',
            total: 'allow',
            created_at: 'allow',
            customer_id: 'allow',
          },
          {
            rowPolicies: [
              {
                name: 'ancestors',
                condition: 'tenant_id IN principal.metadata.tenantHierarchy',
                mode: 'permissive',
              },
              { name: 'tenant_required', condition: 'tenant_id IS NOT NULL', mode: 'restrictive' },
              { name: 'admin_bypass', condition: "'super_admin' IN principal.roles", bypass: true },
            ],
            relations: { customer: { model: 'Customer' } },
            aggregations: { fields: ['total'], groupBy: ['status'] },
            write: { softDelete: { field: 'deleted_at' } },
          },
        ),
        Customer: {
          table: 'customers',
          unscopedColumns: ['org_id'],
          fields: { id: 'allow', name: 'allow', email: 'mask' },
          scoping: { tenant_id: 'principal.tenantId' },
        },
      },
    })
    bound = bindPolicy(policy, await introspectSchema(db.app, db.appRole ? { role: db.appRole } : {}))
  })
  afterAll(async () => {
    await db.close()
  })

  it('compiles a query with an include, a filter and an order, binding every value', () => {
    const req = parseRequest('query', {
      model: 'Order',
      where: { field: 'status', op: 'in', value: ['paid', 'shipped'] },
      orderBy: [{ field: 'created_at', direction: 'desc' }],
      include: { customer: true },
      limit: 10,
    })
    const compiled = printQuery(db.app, planQuery(bound, ERIN, req, { cursorKey: TEST_SECRET })).compile()
    expect(compiled.sql).not.toContain(TENANT_A1)
    expect(compiled.sql).not.toContain(TENANT_A)
    expect(compiled.sql).not.toContain('paid')
    expect(compiled.parameters).toContain(TENANT_A1)
    expect(compiled.parameters).toContainEqual([TENANT_A1, TENANT_A])
    expect(compiled.sql).toMatchInlineSnapshot(
      `"select "r"."id" as "id", "r"."tenant_id" as "tenant_id", "r"."customer_id" as "customer_id", "r"."status" as "status", "r"."total" as "total", "r"."created_at" as "created_at", "r"."customer" as "customer" from (select "b".*, sum(coalesce(octet_length("b"."status"::text), 0) + coalesce(octet_length("b"."total"::text), 0) + coalesce(octet_length("b"."created_at"::text), 0) + coalesce(octet_length("b"."customer"::text), 0) + 108) over (rows between unbounded preceding and current row) as "__tessera_bytes" from (select "t0"."id" as "id", "t0"."tenant_id" as "tenant_id", "t0"."customer_id" as "customer_id", "t0"."status" as "status", "t0"."total"::text as "total", to_json("t0"."created_at") as "created_at", (select to_json(obj.*) from (select "t1"."id" as "id", "t1"."name" as "name", "t1"."email" as "email" from "public"."customers" as "t1" where ("t1"."id" = "t0"."customer_id" and "t1"."tenant_id" = $1) order by "t1"."id" asc limit 1) as obj) as "customer" from "public"."orders" as "t0" where ((("t0"."tenant_id" = $2 or ("t0"."tenant_id" = any($3))) and ("t0"."tenant_id" is not null) and "t0"."deleted_at" is null) and "t0"."status" = any($4)) order by "t0"."created_at" desc, "t0"."id" desc limit 11) as "b") as "r" where case when "r"."__tessera_bytes" <= 8388608 then true else ('tessera:maxResultBytes:8388608:' || "r"."__tessera_bytes")::int = 0 end"`,
    )
  })

  it('compiles a get under bypass without any scope but with the restrictive rule and soft delete', () => {
    const compiled = printGet(
      db.app,
      planGet(
        bound,
        SUPER,
        parseRequest('get', { model: 'Order', id: '0a000000-0000-4000-8000-000000000001' }),
      ),
    ).compile()
    expect(compiled.sql).not.toContain('0a000000')
    expect(compiled.parameters).not.toContain(SUPER.tenantId)
    expect(compiled.sql).toMatchInlineSnapshot(
      `"select "b"."id" as "id", "b"."tenant_id" as "tenant_id", "b"."customer_id" as "customer_id", "b"."status" as "status", "b"."total" as "total", "b"."created_at" as "created_at" from (select "t0"."id" as "id", "t0"."tenant_id" as "tenant_id", "t0"."customer_id" as "customer_id", "t0"."status" as "status", "t0"."total"::text as "total", to_json("t0"."created_at") as "created_at" from "public"."orders" as "t0" where ((("t0"."tenant_id" is not null) and "t0"."deleted_at" is null) and "t0"."id" = $1) limit 1) as "b" where case when (coalesce(octet_length("b"."status"::text), 0) + coalesce(octet_length("b"."total"::text), 0) + coalesce(octet_length("b"."created_at"::text), 0) + 108) <= 8388608 then true else ('tessera:maxResultBytes:8388608:' || (coalesce(octet_length("b"."status"::text), 0) + coalesce(octet_length("b"."total"::text), 0) + coalesce(octet_length("b"."created_at"::text), 0) + 108))::int = 0 end"`,
    )
  })

  it('compiles a grouped aggregate with the same visibility as a query', () => {
    const compiled = printAggregate(
      db.app,
      planAggregate(
        bound,
        ERIN,
        parseRequest('aggregate', { model: 'Order', op: 'sum', field: 'total', groupBy: ['status'] }),
      ),
    ).compile()
    expect(compiled.sql).not.toContain(TENANT_A1)
    expect(compiled.sql).toMatchInlineSnapshot(
      `"select "r"."__tessera_value" as "__tessera_value", "r"."status" as "status" from (select "b".*, sum(coalesce(octet_length("b"."__tessera_value"::text), 0) + coalesce(octet_length("b"."status"::text), 0) + 0) over (rows between unbounded preceding and current row) as "__tessera_bytes" from (select sum("t0"."total")::text as "__tessera_value", "t0"."status" as "status" from "public"."orders" as "t0" where (("t0"."tenant_id" = $1 or ("t0"."tenant_id" = any($2))) and ("t0"."tenant_id" is not null) and "t0"."deleted_at" is null) group by "t0"."status" order by "t0"."status" asc nulls last limit 101) as "b") as "r" where case when "r"."__tessera_bytes" <= 8388608 then true else ('tessera:maxResultBytes:8388608:' || "r"."__tessera_bytes")::int = 0 end"`,
    )
  })
})
