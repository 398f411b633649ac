/**
 * Only statements src/sql printed run on the toolset's Kysely instance (src/executor/statement-guard.ts): a
 * query built there is refused before it is sent, a compiled statement sent past the printer has its result
 * refused (rolling its transaction back), and every tool still works with the guard installed.
 */
import { CompiledQuery, sql } from 'kysely'
import { beforeAll, expect, it } from 'vitest'
import type { TesseraError } from '../../src/errors/index.ts'
import { createPlanExecutor, type PlanExecutor } from '../../src/executor/index.ts'
import { MemoryAuditStore, PostgresAuditStore, ensureAuditTables } from '../../src/stores/index.ts'
import type { PolicyInput } from '../../src/policy/policy-schema.ts'
import { APP_ROLE, describeEachDatabase } from '../support/databases.ts'
import { ALICE, ORDER_A1, ORDER_A2, TEST_SECRET, as } from '../support/saas.ts'
import { toolsetFor } from '../support/toolset.ts'
import { scopedOrder } from '../support/scoped-order.ts'

const policy: PolicyInput = {
  models: {
    Order: scopedOrder(
      {
        id: 'allow',
        tenant_id: 'allow',
        org_id: 'allow',
        customer_id: 'allow',
        status: 'allow',
        total: 'allow',
        created_by: 'allow',
        created_at: 'allow',
      },
      {
        write: {
          create: 'allow',
          update: 'allow',
          delete: 'allow',
          autoSet: { tenant_id: 'principal.tenantId', created_by: 'principal.userId', created_at: 'now()' },
          immutableFields: ['tenant_id', 'created_by', 'created_at'],
          maxAffectedRows: 2,
          softDelete: { field: 'deleted_at' },
        },
      },
    ),
  },
}

async function refusal(promise: Promise<unknown>): Promise<TesseraError> {
  try {
    await promise
  } catch (error) {
    return error as TesseraError
  }
  throw new Error('expected the statement to be refused')
}

function expectRefused(error: TesseraError): void {
  expect(error.name).toBe('TesseraError')
  expect(error.code).toBe('INTERNAL_ERROR')
  expect(error.details).toEqual({ reason: 'statement_not_printed' })
}

describeEachDatabase('the statement guard on the toolset’s Kysely instance', (db) => {
  let executor: PlanExecutor
  beforeAll(() => {
    const appRole = db().appRole
    executor = createPlanExecutor({
      db: db().app,
      enforcement: 'app',
      costGuard: true,
      secret: TEST_SECRET,
      ...(appRole === undefined ? {} : { role: appRole }),
    })
  })

  it('refuses a query built with the query builder on it, before anything is sent', async () => {
    expectRefused(await refusal(executor.db.selectFrom('orders').select('id').execute()))
    expectRefused(await refusal(sql`select 1 as one`.execute(executor.db)))
  })

  it('refuses the result of a compiled statement sent past the printer, and rolls its transaction back', async () => {
    expectRefused(await refusal(executor.db.executeQuery(CompiledQuery.raw('select 1 as one'))))
    const marker = `guard-${Date.now()}`
    const inside = executor.db.transaction().execute(async (trx) => {
      await trx.executeQuery(
        CompiledQuery.raw(`update orders set status = $1 where id = $2`, [marker, ORDER_A1]),
      )
    })
    expectRefused(await refusal(inside))
    const rows = await db().admin.selectFrom('orders').select('status').where('id', '=', ORDER_A1).execute()
    expect(rows).toHaveLength(1)
    expect(rows[0]?.status).not.toBe(marker)
  })

  it('leaves the host’s own instance unguarded', async () => {
    const rows = await db().app.selectFrom('orders').select('id').limit(1).execute()
    expect(rows.length).toBeLessThanOrEqual(1)
  })

  it('runs every tool with the guard installed, cost guard and a PostgreSQL audit store included', async () => {
    await ensureAuditTables(db().admin, { writers: [APP_ROLE] })
    for (const audit of [new MemoryAuditStore(), new PostgresAuditStore({ db: db().app })]) {
      const h = await toolsetFor(db(), policy, { audit, costGuard: 'always' })
      const ctx = as(ALICE)
      const ok = async (tool: string, args: unknown): Promise<unknown> => {
        const result = await h.toolset.call(ctx, tool, args)
        expect({ tool, ok: result.ok, error: result.ok ? null : result.error }).toEqual({
          tool,
          ok: true,
          error: null,
        })
        return result.ok ? result.data : null
      }
      await ok('db_describe_schema', {})
      await ok('db_query', { model: 'Order', limit: 5 })
      await ok('db_get', { model: 'Order', id: ORDER_A1 })
      await ok('db_aggregate', { model: 'Order', op: 'count' })
      const created = (await ok('db_create', { model: 'Order', data: { status: 'new', total: '1.00' } })) as {
        row: { id: string }
      }
      await ok('db_update', { model: 'Order', id: ORDER_A1, data: { status: 'guarded' } })
      await ok('db_bulk_update', { model: 'Order', ids: [ORDER_A1, ORDER_A2], data: { status: 'guarded' } })
      await ok('db_delete', { model: 'Order', id: created.row.id })
    }
  })
})
