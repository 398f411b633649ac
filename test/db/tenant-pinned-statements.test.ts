/**
 * Every statement the demo policy compiles for a tenant's call pins each scoped table it reads or changes to
 * that tenant with a top-level equality on the tenant column — what a sharded PostgreSQL (Citus) needs to
 * route the statement to one shard, and what keeps a missed OR-branch from widening a scan. Checked on the
 * database's own view of the statement: EXPLAIN every captured statement and read each scan of a scoped table
 * (docs/scaling.md). The corpus covers every statement kind the executor sends for a scoped model: get, list
 * (first and cursor page), nested includes, aggregates with and without a filter, the referenced-row check
 * of a create, the insert (whose tenant column must carry the caller's tenant: Citus routes an INSERT by
 * that value), update, and an approved (soft) delete. Includes over a foreign key that contains the tenant
 * column — the only kind Citus allows between distributed tables — must also join on the tenant column.
 */
import { join } from 'node:path'
import { Kysely, PostgresDialect } from 'kysely'
import type { Pool } from 'pg'
import { beforeAll, expect, it } from 'vitest'
import { loadPolicyFile } from '../../src/policy/load-policy-file.ts'
import { MemoryAuditStore } from '../../src/stores/index.ts'
import { createToolset, type Toolset } from '../../src/tools/create-toolset.ts'
import { describeEachDatabase } from '../support/databases.ts'
import { ALICE, as, CUSTOMER_A1, ORDER_A1, TENANT_A, TEST_SECRET } from '../support/saas.ts'
import { errorOf } from '../support/write-helpers.ts'

/** Scoped tables of policies/demo.yaml and their tenant column. */
const TENANT_COLUMN: Readonly<Record<string, string>> = {
  tenants: 'id',
  users: 'tenant_id',
  customers: 'tenant_id',
  orders: 'tenant_id',
  order_items: 'tenant_id',
  invoices: 'tenant_id',
}

interface PlanNode {
  readonly 'Node Type': string
  readonly 'Relation Name'?: string
  readonly 'Index Cond'?: string
  readonly 'Recheck Cond'?: string
  readonly Filter?: string
  readonly Plans?: readonly PlanNode[]
}

function nodes(plan: PlanNode): PlanNode[] {
  return [plan, ...(plan.Plans ?? []).flatMap(nodes)]
}

/** Splits `((a) AND (b OR c))` into its top-level conjuncts `a`, `b OR c`, each without outer parentheses. */
export function conjuncts(expr: string): string[] {
  const unwrap = (s: string): string => {
    let t = s.trim()
    while (t.startsWith('(') && closingOf(t, 0) === t.length - 1) t = t.slice(1, -1).trim()
    return t
  }
  const body = unwrap(expr)
  const parts: string[] = []
  let depth = 0
  let start = 0
  for (let i = 0; i < body.length; i++) {
    const ch = body[i]
    if (ch === '(') depth++
    else if (ch === ')') depth--
    else if (depth === 0 && body.startsWith(' AND ', i)) {
      parts.push(unwrap(body.slice(start, i)))
      start = i + 5
    }
  }
  parts.push(unwrap(body.slice(start)))
  return parts
}

function closingOf(s: string, open: number): number {
  let depth = 0
  for (let i = open; i < s.length; i++) {
    if (s[i] === '(') depth++
    else if (s[i] === ')' && --depth === 0) return i
  }
  return -1
}

/**
 * The value an insert writes into the table's tenant column: `insert into t (cols) values ($1, …)`, or a create
 * with references, whose INSERT sits in a CTE after the reference checks (`insert into t (cols) select $1, … from
 * "__tessera_refs"`, src/sql/print-write.ts).
 */
function insertedValue(
  s: { sql: string; parameters: readonly unknown[] },
  tenantColumn: Readonly<Record<string, string>>,
): unknown {
  const m =
    /insert into "public"\."(\w+)" as "\w+" \(([^)]*)\) (?:values \(([^)]*)\)|select (.*?) from "__tessera_refs")/i.exec(
      s.sql,
    )
  if (m === null) throw new Error(`not a single-row insert: ${s.sql}`)
  const columns = (m[2] ?? '').split(',').map((c) => c.trim().replaceAll('"', ''))
  const values = (m[3] ?? m[4] ?? '').split(',').map((v) => v.trim())
  const at = columns.indexOf(tenantColumn[m[1] ?? ''] ?? '')
  const placeholder = /^\$(\d+)$/.exec(values[at] ?? '')
  return placeholder === null ? undefined : s.parameters[Number(placeholder[1]) - 1]
}

/** Aliases a statement gives `table` (`from "public"."orders" as "t1"`). */
function aliasesOf(sql: string, table: string): string[] {
  return [...sql.matchAll(new RegExp(`"public"\\."${table}" as "(\\w+)"`, 'g'))].map((m) => m[1] ?? '')
}

/** Foreign keys between scoped tables whose columns include the tenant column on both sides. */
async function tenantForeignKeys(pool: Pool): Promise<{ child: string; parent: string }[]> {
  const { rows } = await pool.query<{ child: string; parent: string; cols: string[]; refs: string[] }>(
    `select c.conrelid::regclass::text as child, c.confrelid::regclass::text as parent,
            array(select attname from pg_attribute where attrelid = c.conrelid and attnum = any(c.conkey))::text[] as cols,
            array(select attname from pg_attribute where attrelid = c.confrelid and attnum = any(c.confkey))::text[] as refs
       from pg_constraint c where c.contype = 'f'`,
  )
  return rows
    .filter(
      (r) =>
        Object.hasOwn(TENANT_COLUMN, r.child) &&
        Object.hasOwn(TENANT_COLUMN, r.parent) &&
        r.cols.includes(TENANT_COLUMN[r.child] as string) &&
        r.refs.includes(TENANT_COLUMN[r.parent] as string),
    )
    .map((r) => ({ child: r.child, parent: r.parent }))
}

describeEachDatabase('statements pin every scoped table to the caller’s tenant', (db) => {
  let toolset: Toolset
  let statements: { sql: string; parameters: readonly unknown[] }[]

  beforeAll(async () => {
    const role = db().appRole
    statements = []
    const logged = new Kysely<any>({
      dialect: new PostgresDialect({ pool: db().appPool }),
      log: (event) => {
        if (
          /^(select|insert|update|delete|with) /i.test(event.query.sql) &&
          !/set_config/.test(event.query.sql)
        )
          statements.push({ sql: event.query.sql, parameters: event.query.parameters })
      },
    })
    toolset = await createToolset({
      db: logged,
      policy: await loadPolicyFile(join(import.meta.dirname, '../../policies/demo.yaml')),
      audit: new MemoryAuditStore(),
      secret: TEST_SECRET,
      ...(role === undefined ? {} : { role }),
    })
  })

  it('pins every statement kind of a scoped model to the tenant, and joins includes on the tenant column where the key has it', async () => {
    const ctx = as(ALICE)
    statements.length = 0
    await toolset.get(ctx, { model: 'Order', id: ORDER_A1, include: { customer: true, items: true } })
    await toolset.get(ctx, { model: 'Tenant', id: TENANT_A })
    await toolset.query(ctx, {
      model: 'Customer',
      where: {
        or: [
          { field: 'name', op: 'contains', value: 'a' },
          { field: 'is_public', op: 'eq', value: true },
        ],
      },
      include: {
        orders: { limit: 3, include: { items: { limit: 3 }, invoices: { limit: 3 } } },
        owner: true,
        country: true,
      },
      orderBy: [{ field: 'created_at', direction: 'desc' }],
      limit: 5,
    })
    await toolset.query(ctx, { model: 'OrderItem', include: { order: true, product: true }, limit: 5 })
    await toolset.query(ctx, {
      model: 'User',
      where: { field: 'role', op: 'in', value: ['admin', 'member'] },
    })
    await toolset.query(ctx, { model: 'Invoice', orderBy: [{ field: 'amount', direction: 'desc' }] })
    const first = await toolset.query(ctx, {
      model: 'Order',
      orderBy: [{ field: 'created_at', direction: 'desc' }],
      limit: 1,
    })
    expect(first.nextCursor).toBeDefined()
    await toolset.query(ctx, {
      model: 'Order',
      orderBy: [{ field: 'created_at', direction: 'desc' }],
      limit: 1,
      cursor: first.nextCursor ?? '',
    })
    await toolset.aggregate(ctx, { model: 'Order', op: 'count', groupBy: ['status'] })
    await toolset.aggregate(ctx, {
      model: 'Order',
      op: 'sum',
      field: 'total',
      where: { field: 'status', op: 'eq', value: 'paid' },
    })
    await toolset.aggregate(ctx, { model: 'Invoice', op: 'sum', field: 'amount' })
    const created = await toolset.create(ctx, {
      model: 'Order',
      data: { customer_id: CUSTOMER_A1, status: 'pending', total: '12.50' },
      reason: 'pinning test order',
    })
    await toolset.update(ctx, {
      model: 'Order',
      id: String(created.row['id']),
      data: { status: 'paid' },
      reason: 'pinning test update',
    })
    const deleteArgs = { model: 'Order', id: String(created.row['id']), reason: 'pinning test delete' }
    const pending = await errorOf(toolset.delete(ctx, deleteArgs))
    expect(pending).toMatchObject({ code: 'WRITE_APPROVAL_REQUIRED' })
    const approvalId = String(pending.details['approvalId'])
    await toolset.approvals.approve(approvalId, 'manager-1')
    await toolset.delete(ctx, { ...deleteArgs, approvalId })

    // A create with references and an update are one `with …` statement each (checked INSERT, locked UPDATE);
    // the soft delete is a plain update.
    const kinds = new Set(statements.map((s) => /^\w+/.exec(s.sql)?.[0]?.toLowerCase()))
    expect([...kinds].sort()).toEqual(['select', 'update', 'with'])
    const inserts = statements.filter((x) => /^insert |^with .* as \(insert into /i.test(x.sql))
    expect(inserts.length).toBeGreaterThan(0)
    for (const s of inserts) expect(insertedValue(s, TENANT_COLUMN), s.sql).toBe(TENANT_A)
    expect(statements.some((x) => /^with .*\) update "public"\."orders" /i.test(x.sql))).toBe(true)
    const tenantKeys = await tenantForeignKeys(db().adminPool)
    expect(tenantKeys).toContainEqual({ child: 'order_items', parent: 'orders' })
    let joinedIncludes = 0
    for (const s of statements) {
      for (const { child, parent } of tenantKeys) {
        const childAliases = aliasesOf(s.sql, child)
        const parentAliases = aliasesOf(s.sql, parent)
        if (childAliases.length === 0 || parentAliases.length === 0) continue
        const joined = childAliases.some((c) =>
          parentAliases.some(
            (p) =>
              s.sql.includes(`"${c}"."${TENANT_COLUMN[child]}" = "${p}"."${TENANT_COLUMN[parent]}"`) ||
              s.sql.includes(`"${p}"."${TENANT_COLUMN[parent]}" = "${c}"."${TENANT_COLUMN[child]}"`),
          ),
        )
        expect(joined, `${child} → ${parent} not joined on the tenant column in: ${s.sql}`).toBe(true)
        joinedIncludes++
      }
    }
    expect(joinedIncludes).toBeGreaterThan(0)

    const scanned = new Set<string>()
    for (const s of statements) {
      const r = await db().adminPool.query<{ 'QUERY PLAN': { Plan: PlanNode }[] }>(
        `explain (format json) ${s.sql}`,
        [...s.parameters],
      )
      const plan = r.rows[0]?.['QUERY PLAN'][0]?.Plan
      if (plan === undefined) throw new Error('explain returned no plan')
      const all = nodes(plan)
      for (const [i, node] of all.entries()) {
        const table = node['Relation Name']
        if (
          table === undefined ||
          !Object.hasOwn(TENANT_COLUMN, table) ||
          node['Node Type'] === 'ModifyTable'
        )
          continue
        scanned.add(table)
        // A bitmap heap scan carries its index condition on the bitmap index scan below it.
        const below = node['Node Type'] === 'Bitmap Heap Scan' ? (all[i + 1]?.['Index Cond'] ?? '') : ''
        const conds = [node['Index Cond'], node['Recheck Cond'], node.Filter, below]
          .filter((c): c is string => c !== undefined && c !== '')
          .flatMap(conjuncts)
        const column = TENANT_COLUMN[table] as string
        const pinned = conds.some((c) => new RegExp(`^(\\w+\\.)?${column} = '${TENANT_A}'(::uuid)?$`).test(c))
        expect(pinned, `${table} in: ${s.sql}\nconditions: ${JSON.stringify(conds)}`).toBe(true)
      }
    }
    expect([...scanned].sort()).toEqual(Object.keys(TENANT_COLUMN).sort())
  })
})
