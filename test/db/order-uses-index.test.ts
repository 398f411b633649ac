/**
 * The orders Tessera compiles must be ones a tenant-leading b-tree index can serve: EXPLAIN every statement a
 * list call sends (first page and cursor pages, both directions, with and without an equality filter) and
 * fail on a Sort node or a sequential scan of the scoped table. Runs on a schema of its own with enough rows
 * per tenant that a sort would be the planner's choice if the order did not match the index
 * (docs/decisions.md, "Order keys").
 */
import { Kysely, PostgresDialect } from 'kysely'
import { sql } from 'kysely'
import { beforeAll, expect, it } from 'vitest'
import { definePolicy } from '../../src/policy/define-policy.ts'
import { MemoryAuditStore } from '../../src/stores/index.ts'
import { createToolset, type Toolset } from '../../src/tools/create-toolset.ts'
import { describeEachDatabase } from '../support/databases.ts'
import { TEST_SECRET } from '../support/saas.ts'

const TENANT = '00000000-0000-4000-8000-000000000007'

interface PlanNode {
  readonly 'Node Type': string
  readonly 'Relation Name'?: string
  readonly Plans?: readonly PlanNode[]
}

function nodes(plan: PlanNode): PlanNode[] {
  return [plan, ...(plan.Plans ?? []).flatMap(nodes)]
}

describeEachDatabase('compiled orders are served by a tenant-leading index', (db) => {
  let toolset: Toolset
  let statements: { sql: string; parameters: readonly unknown[] }[]

  beforeAll(async () => {
    const role = db().appRole
    await sql`
      create table ledger_entries (
        id bigint generated always as identity primary key,
        account uuid not null,
        kind text not null,
        booked_at timestamptz not null,
        memo text
      )`.execute(db().admin)
    await sql`
      insert into ledger_entries (account, kind, booked_at, memo)
      select ('00000000-0000-4000-8000-' || lpad((g % 40)::text, 12, '0'))::uuid,
             (array['debit','credit','fee'])[1 + g % 3],
             timestamptz '2026-01-01' + (g % 5000) * interval '1 minute',
             case when (g / 40) % 2 = 0 then null else 'm' || g end
      from generate_series(1, 40000) g`.execute(db().admin)
    await sql`create index ledger_by_account_time on ledger_entries (account, booked_at, id)`.execute(
      db().admin,
    )
    await sql`create index ledger_by_account_kind_time on ledger_entries (account, kind, booked_at, id)`.execute(
      db().admin,
    )
    await sql`grant select on ledger_entries to tessera_app`.execute(db().admin)
    await sql`analyze ledger_entries`.execute(db().admin)

    statements = []
    const logged = new Kysely<any>({
      dialect: new PostgresDialect({ pool: db().appPool }),
      log: (event) => {
        if (/^select .*ledger_entries/.test(event.query.sql))
          statements.push({ sql: event.query.sql, parameters: event.query.parameters })
      },
    })
    toolset = await createToolset({
      db: logged,
      policy: definePolicy({
        models: {
          Entry: {
            table: 'ledger_entries',
            fields: { id: 'allow', account: 'allow', kind: 'allow', booked_at: 'allow', memo: 'allow' },
            scoping: { account: 'principal.tenantId' },
          },
        },
      }),
      audit: new MemoryAuditStore(),
      secret: TEST_SECRET,
      ...(role === undefined ? {} : { role }),
    })
  })

  async function explainAll(): Promise<PlanNode[]> {
    const plans: PlanNode[] = []
    for (const s of statements) {
      const r = await db().adminPool.query<{ 'QUERY PLAN': { Plan: PlanNode }[] }>(
        `explain (format json) ${s.sql}`,
        [...s.parameters],
      )
      const first = r.rows[0]?.['QUERY PLAN'][0]
      if (first === undefined) throw new Error('explain returned no plan')
      plans.push(first.Plan)
    }
    return plans
  }

  it.each([
    ['newest first', [{ field: 'booked_at', direction: 'desc' }], undefined],
    ['oldest first', [{ field: 'booked_at', direction: 'asc' }], undefined],
    [
      'newest first of one kind',
      [{ field: 'booked_at', direction: 'desc' }],
      { field: 'kind', op: 'eq', value: 'fee' },
    ],
  ] as const)('pages %s without a sort or a sequential scan', async (_name, orderBy, where) => {
    statements.length = 0
    const ctx = { principal: { tenantId: TENANT } }
    const first = await toolset.query(ctx, {
      model: 'Entry',
      orderBy: [...orderBy],
      ...(where === undefined ? {} : { where }),
      limit: 20,
    })
    expect(first.rows).toHaveLength(20)
    expect(first.nextCursor).not.toBeNull()
    const second = await toolset.query(ctx, {
      model: 'Entry',
      orderBy: [...orderBy],
      ...(where === undefined ? {} : { where }),
      limit: 20,
      cursor: first.nextCursor ?? '',
    })
    expect(second.rows).toHaveLength(20)
    expect(statements).toHaveLength(2)
    for (const plan of await explainAll()) {
      const kinds = nodes(plan).map((n) => `${n['Node Type']} ${n['Relation Name'] ?? ''}`.trim())
      expect(kinds.filter((k) => /Sort/.test(k))).toEqual([])
      expect(kinds).not.toContain('Seq Scan ledger_entries')
    }
  })

  it('sorts a nullable key in the natural null order: NULLs last ascending, first descending', async () => {
    const ctx = { principal: { tenantId: TENANT } }
    const asc = await toolset.query(ctx, { model: 'Entry', orderBy: [{ field: 'memo' }], limit: 50 })
    const desc = await toolset.query(ctx, {
      model: 'Entry',
      orderBy: [{ field: 'memo', direction: 'desc' }],
      limit: 50,
    })
    expect(asc.rows.every((r) => r['memo'] !== null)).toBe(true)
    expect(desc.rows.every((r) => r['memo'] === null)).toBe(true)
  })
})
