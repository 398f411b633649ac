/**
 * Writes fail closed: when the audit store refuses, a statement fails half-way, or the connection dies between
 * two statements of the transaction, nothing is written and no audit record claims success.
 */
import { Kysely, sql } from 'kysely'
import { afterAll, beforeAll, expect, it } from 'vitest'
import {
  type AuditRecordDraft,
  type AuditStore,
  MemoryAuditStore,
  type StagedAudit,
} from '../../src/stores/index.ts'
import { createTesseraDialect } from '../../src/executor/tessera-dialect.ts'
import { definePolicy } from '../../src/policy/define-policy.ts'
import type { PolicyInput } from '../../src/policy/policy-schema.ts'
import { createToolset, type Toolset } from '../../src/tools/create-toolset.ts'
import { describeEachDatabase, type TestDatabase } from '../support/databases.ts'
import { ALICE, as, ORDER_A1, ORDER_A2, TENANT_A, TEST_SECRET } from '../support/saas.ts'
import { type ToolsetHarness, toolsetFor } from '../support/toolset.ts'
import { countRows, errorOf, rowJson, rowOf, tenantSnapshot } from '../support/write-helpers.ts'
import { scopedOrder } from '../support/scoped-order.ts'

const policy: PolicyInput = {
  models: {
    Order: scopedOrder(
      { id: 'allow', tenant_id: 'allow', status: 'allow', total: 'allow' },
      {
        write: { create: 'allow', update: 'allow', autoSet: { tenant_id: 'principal.tenantId' } },
      },
    ),
  },
}

async function successRecords(audit: AuditStore, requestId: string): Promise<number> {
  return (await audit.query({ outcome: 'success' })).filter((r) => r.requestId === requestId).length
}

describeEachDatabase('write faults', (db) => {
  let h: ToolsetHarness
  beforeAll(async () => {
    h = await toolsetFor(db(), policy)
    // A trigger that fails on the second row a bulk update touches: the first row is already written in the
    // transaction when the statement fails.
    await sql`create function fail_second_row() returns trigger language plpgsql as $$
      begin
        if new.status = 'explode' and new.id = ${sql.lit(ORDER_A2)}::uuid then
          raise exception 'boom on %', new.id;
        end if;
        return new;
      end $$`.execute(db().admin)
    await sql`create trigger orders_fail_second after update on orders
      for each row execute function fail_second_row()`.execute(db().admin)
  })
  afterAll(async () => {
    await sql`drop trigger if exists orders_fail_second on orders`.execute(db().admin)
  })

  it('answers INTERNAL_ERROR and writes nothing when the audit store refuses the record', async () => {
    const count = await countRows(db(), 'orders')
    h.audit.failNext(1)
    const e = await errorOf(
      h.toolset.create(as(ALICE, 'req-audit-down'), { model: 'Order', data: { status: 'unaudited' } }),
    )
    expect(e).toMatchObject({ code: 'INTERNAL_ERROR', message: 'Internal error' })
    expect(await countRows(db(), 'orders')).toBe(count)
    expect(await successRecords(h.audit, 'req-audit-down')).toBe(0)
    const [failure] = (await h.audit.query({ outcome: 'error' })).filter(
      (r) => r.requestId === 'req-audit-down',
    )
    expect(failure).toMatchObject({ tool: 'db_create', errorCode: 'INTERNAL_ERROR', after: null })
  })

  it('rolls an update back when the audit store refuses, leaving the row unchanged', async () => {
    const before = await rowJson(db(), 'orders', ORDER_A1)
    h.audit.failNext(1)
    const e = await errorOf(
      h.toolset.update(as(ALICE), { model: 'Order', id: ORDER_A1, data: { status: 'unaudited' } }),
    )
    expect(e.code).toBe('INTERNAL_ERROR')
    expect(await rowJson(db(), 'orders', ORDER_A1)).toBe(before)
  })

  it('leaves no partial write and no success record when the statement fails half-way through a bulk update', async () => {
    const a = await tenantSnapshot(db(), TENANT_A)
    const e = await errorOf(
      h.toolset.bulkUpdate(as(ALICE, 'req-explode'), {
        model: 'Order',
        ids: [ORDER_A1, ORDER_A2],
        data: { status: 'explode' },
      }),
    )
    expect(e).toMatchObject({ code: 'INTERNAL_ERROR' })
    expect(JSON.stringify(e)).not.toContain('boom')
    expect(await tenantSnapshot(db(), TENANT_A)).toEqual(a)
    expect(await successRecords(h.audit, 'req-explode')).toBe(0)
  })
})

/**
 * An audit store (a legitimate AuditStore implementation, no hook in src) that, when armed, has the admin
 * connection terminate the write's backend while the transaction sits between its write statement and COMMIT.
 */
class TerminatingAuditStore implements AuditStore {
  readonly inner = new MemoryAuditStore()
  armed = false
  constructor(private readonly admin: Kysely<any>) {}

  async stage(draft: AuditRecordDraft, trx?: unknown): Promise<StagedAudit> {
    if (this.armed && trx instanceof Kysely) {
      this.armed = false
      const { rows } = await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(trx)
      await sql`select pg_terminate_backend(${rows[0]?.pid}::int, 5000)`.execute(this.admin)
    }
    return this.inner.stage(draft)
  }

  append(draft: AuditRecordDraft) {
    return this.inner.append(draft)
  }

  query(filter?: Parameters<AuditStore['query']>[0]) {
    return this.inner.query(filter)
  }

  count(filter?: Parameters<AuditStore['count']>[0]) {
    return this.inner.count(filter)
  }

  deleteBefore(before: Date | string) {
    return this.inner.deleteBefore(before)
  }

  verify() {
    return this.inner.verify()
  }
}

describeEachDatabase(
  'writes whose connection is terminated',
  (db) => {
    let h: { toolset: Toolset }
    let audit: TerminatingAuditStore
    let app: Kysely<any>
    beforeAll(async () => {
      const t: TestDatabase = db()
      // The production dialect: it survives a connection that dies while checked out.
      app = new Kysely<any>({ dialect: createTesseraDialect({ pool: t.appPool }) })
      audit = new TerminatingAuditStore(t.admin)
      // PostgreSQL only: `app` logs in as the application role, so no role switch is needed.
      h = {
        toolset: await createToolset({ db: app, policy: definePolicy(policy), audit, secret: TEST_SECRET }),
      }
      await sql`create function terminate_self() returns trigger language plpgsql security definer as $$
        begin
          if new.status = 'terminate' and new.id = ${sql.lit(ORDER_A2)}::uuid then
            perform pg_terminate_backend(pg_backend_pid());
          end if;
          return new;
        end $$`.execute(t.admin)
      await sql`create trigger orders_terminate after insert or update on orders
        for each row execute function terminate_self()`.execute(t.admin)
    })
    afterAll(async () => {
      await sql`drop trigger if exists orders_terminate on orders`.execute(db().admin)
    })

    it('keeps nothing of a create whose connection is terminated between the insert and the commit', async () => {
      const count = await countRows(db(), 'orders')
      audit.armed = true
      const e = await errorOf(
        h.toolset.create(as(ALICE, 'req-killed-create'), { model: 'Order', data: { status: 'orphan' } }),
      )
      expect(e.code).toBe('INTERNAL_ERROR')
      expect(audit.armed).toBe(false)
      expect(await countRows(db(), 'orders')).toBe(count)
      expect(await successRecords(audit, 'req-killed-create')).toBe(0)
      const [failure] = (await audit.query({ outcome: 'error' })).filter(
        (r) => r.requestId === 'req-killed-create',
      )
      expect(failure).toMatchObject({ tool: 'db_create', errorCode: 'INTERNAL_ERROR' })
    })

    it('keeps nothing of a bulk update whose backend is terminated after writing its first row', async () => {
      const a = await tenantSnapshot(db(), TENANT_A)
      const e = await errorOf(
        h.toolset.bulkUpdate(as(ALICE, 'req-killed-bulk'), {
          model: 'Order',
          ids: [ORDER_A1, ORDER_A2],
          data: { status: 'terminate' },
        }),
      )
      expect(e.code).toBe('INTERNAL_ERROR')
      expect(await tenantSnapshot(db(), TENANT_A)).toEqual(a)
      expect(await successRecords(audit, 'req-killed-bulk')).toBe(0)
    })

    it('serves the next write on a fresh connection after a terminated one', async () => {
      const r = await h.toolset.update(as(ALICE), {
        model: 'Order',
        id: ORDER_A1,
        data: { status: 'after-crash' },
      })
      expect(r.row['status']).toBe('after-crash')
      expect((await rowOf(db(), 'orders', ORDER_A1))?.['status']).toBe('after-crash')
    })
  },
  { only: ['postgres'] },
)
