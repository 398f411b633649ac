/**
 * Enforcement modes over the SaaS fixture with the RLS generated from the demo policy installed: `app` (the
 * planner's predicates), `rls` (the database's policies, no planner predicate in the statement) and `both`.
 * The toolsets connect as the non-superuser, non-owner application role; the package root's createToolset
 * runs the posture check before starting in `rls` / `both`.
 */
import { Kysely, PostgresDialect, sql } from 'kysely'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { createToolset } from '../../src/index.ts'
import { createToolset as createBareToolset } from '../../src/tools/create-toolset.ts'
import type { EnforcementMode } from '../../src/executor/index.ts'
import { bindPolicy, loadPolicyFile, type Policy } from '../../src/policy/index.ts'
import { applyRls, generateRls, type GeneratedRls } from '../../src/rls/index.ts'
import { introspectSchema } from '../../src/schema/index.ts'
import type { Toolset } from '../../src/tools/index.ts'
import { isTesseraError } from '../../src/errors/index.ts'
import { APP_ROLE, describeEachDatabase } from '../support/databases.ts'
import {
  ALICE,
  as,
  BOB,
  CUSTOMER_A1,
  CUSTOMER_B1,
  ORDER_B1,
  TENANT_A,
  TENANT_B,
  TEST_SECRET,
} from '../support/saas.ts'

const previousSeams = process.env['TESSERA_TEST_SEAMS']
beforeAll(() => {
  process.env['TESSERA_TEST_SEAMS'] = '1'
})
afterAll(() => {
  if (previousSeams === undefined) delete process.env['TESSERA_TEST_SEAMS']
  else process.env['TESSERA_TEST_SEAMS'] = previousSeams
})

const tenantsOf = (rows: readonly Record<string, unknown>[]): string[] =>
  [...new Set(rows.map((r) => r['tenant_id'] as string))].sort()

describeEachDatabase('enforcement modes with the generated RLS installed', (db) => {
  let policy: Policy
  let generated: GeneratedRls

  beforeAll(async () => {
    policy = await loadPolicyFile('policies/demo.yaml')
    generated = generateRls(bindPolicy(policy, await introspectSchema(db().admin, { role: APP_ROLE })))
    await applyRls(db().admin, generated)
  }, 60_000)

  function toolset(
    enforcement: EnforcementMode,
    extra: { testOnlyOmitPlannerPredicates?: boolean } = {},
  ): Promise<Toolset> {
    const { appPool, appRole } = db()
    return createToolset({
      db: new Kysely<any>({ dialect: new PostgresDialect({ pool: appPool }) }),
      policy,
      secret: TEST_SECRET,
      enforcement,
      ...(appRole === undefined ? {} : { role: appRole }),
      ...extra,
    })
  }

  it('starts in rls and both mode when the posture check passes, and reads only the caller’s rows', async () => {
    for (const mode of ['rls', 'both'] as const) {
      const t = await toolset(mode)
      const r = await t.query(as(ALICE), { model: 'Customer', select: ['id', 'tenant_id'], limit: 100 })
      expect(tenantsOf(r.rows), mode).toEqual([TENANT_A])
    }
  })

  it('keeps the caller’s rows when the planner’s predicates are removed in rls and both mode; app alone leaks', async () => {
    const seam = { testOnlyOmitPlannerPredicates: true }
    const leaky = await createBareToolset({
      db: new Kysely<any>({ dialect: new PostgresDialect({ pool: db().adminPool }) }),
      policy,
      secret: TEST_SECRET,
      ...seam,
    })
    // app mode over a connection RLS does not apply to: without the planner's predicate every tenant shows.
    const leaked = await leaky.query(as(ALICE), { model: 'Order', select: ['id', 'tenant_id'], limit: 100 })
    expect(tenantsOf(leaked.rows)).toContain(TENANT_B)
    for (const mode of ['rls', 'both'] as const) {
      const t = await toolset(mode, seam)
      const orders = await t.query(as(ALICE), { model: 'Order', select: ['id', 'tenant_id'], limit: 100 })
      expect(tenantsOf(orders.rows), mode).toEqual([TENANT_A])
      const count = await t.aggregate(as(BOB), { model: 'Customer', op: 'count' })
      const own = await db()
        .admin.selectFrom('customers')
        .select(sql<string>`count(*)::text`.as('n'))
        .where('tenant_id', '=', TENANT_B)
        .executeTakeFirst()
      expect(String((count as { value: unknown }).value), mode).toBe(own?.n)
      await expect(t.get(as(ALICE), { model: 'Order', id: ORDER_B1 }), mode).rejects.toMatchObject({
        code: 'NOT_FOUND',
      })
    }
  })

  it('an app-mode toolset on a database with RLS installed sees no rows: no claims, no rows (fail closed)', async () => {
    const t = await toolset('app')
    const r = await t.query(as(ALICE), { model: 'Customer', select: ['id'], limit: 10 })
    expect(r.rows).toEqual([])
  })

  it('writes in both and rls mode stay in the caller’s tenant', async () => {
    for (const mode of ['both', 'rls'] as const) {
      const t = await toolset(mode)
      const created = await t.create(as(ALICE), {
        model: 'Order',
        data: { customer_id: CUSTOMER_A1, status: `made in ${mode}` },
        reason: 'test',
      })
      const id = created.row['id'] as string
      const stored = await db()
        .admin.selectFrom('orders')
        .select('tenant_id')
        .where('id', '=', id)
        .executeTakeFirst()
      expect(stored?.tenant_id, mode).toBe(TENANT_A)
      // A reference to another tenant's customer is refused like a missing one.
      await expect(
        t.create(as(ALICE), { model: 'Order', data: { customer_id: CUSTOMER_B1 }, reason: 'test' }),
        mode,
      ).rejects.toMatchObject({ code: 'NOT_FOUND', message: 'A referenced record does not exist' })
      await expect(
        t.update(as(ALICE), { model: 'Order', id: ORDER_B1, data: { status: 'hijacked' }, reason: 'test' }),
        mode,
      ).rejects.toMatchObject({ code: 'NOT_FOUND' })
    }
    const b1 = await db()
      .admin.selectFrom('orders')
      .select('status')
      .where('id', '=', ORDER_B1)
      .executeTakeFirst()
    expect(b1?.status).not.toBe('hijacked')
  })

  it('refuses to start in rls or both mode when RLS does not stand, naming the cause', async () => {
    await sql`alter table invoices no force row level security`.execute(db().admin)
    try {
      for (const mode of ['rls', 'both'] as const) {
        const error = await toolset(mode).then(
          () => null,
          (e: unknown) => e,
        )
        expect(isTesseraError(error) && error.code, mode).toBe('VALIDATION_ERROR')
        expect(String((error as Error).message), mode).toContain('rls_not_forced')
      }
    } finally {
      await applyRls(db().admin, generated)
    }
  })

  it('refuses rls mode from the bare tools factory, which has no posture check', async () => {
    const { appPool, appRole } = db()
    await expect(
      createBareToolset({
        db: new Kysely<any>({ dialect: new PostgresDialect({ pool: appPool }) }),
        policy,
        secret: TEST_SECRET,
        enforcement: 'rls',
        ...(appRole === undefined ? {} : { role: appRole }),
      }),
    ).rejects.toMatchObject({ code: 'VALIDATION_ERROR' })
  })
})
