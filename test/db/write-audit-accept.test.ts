/**
 * A write's audit record on the memory store is taken by `accept` (StagedAudit.accept, docs/decisions.md "A
 * write's audit record is sealed with the store's next batch"): accepted when the write has committed, sealed
 * later with the store's pending batch, as a read's `record()` is. Differential: the same calls through a store
 * that has no `accept` (so the toolset commits each record at once, as before) give the same records, field for
 * field, apart from what differs between any two calls (id, time, hash links, the created row's id). The shape
 * is the peer bench's Note (bench/peers/src/stacks/tessera.ts): tenant from the principal, a parent that must be
 * visible; each write is one message, and a missing parent and another tenant's parent are refused alike.
 */
import { CompiledQuery, Kysely } from 'kysely'
import type pg from 'pg'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { createTesseraDialect } from '../../src/executor/tessera-dialect.ts'
import type { PolicyInput } from '../../src/policy/policy-schema.ts'
import { definePolicy } from '../../src/policy/define-policy.ts'
import { MemoryAuditStore, type AuditRecord, type AuditStore } from '../../src/stores/index.ts'
import { createToolset, type Toolset } from '../../src/tools/create-toolset.ts'
import { describeEachDatabase, type TestDatabase } from '../support/databases.ts'
import { sessionPool } from '../support/session-pool.ts'
import { ALICE, ORDER_A1, ORDER_B1, TEST_SECRET, as } from '../support/saas.ts'
import { CREATABLE_ORDER_ITEM, countRows, errorOf } from '../support/write-helpers.ts'
import { countingPool } from '../support/counting-pool.ts'
import { scopedOrder } from '../support/scoped-order.ts'

const TIMEOUT_MS = 5000
const MISSING_ORDER = '0a000000-0000-4000-8000-0000000000ee'

const policy: PolicyInput = {
  models: {
    Order: scopedOrder(
      { id: 'allow', tenant_id: 'allow', status: 'allow' },
      {
        budget: { statementTimeoutMs: TIMEOUT_MS },
      },
    ),
    OrderItem: {
      ...CREATABLE_ORDER_ITEM,
      relations: { order: { model: 'Order' } },
      write: {
        ...CREATABLE_ORDER_ITEM.write,
        update: 'allow',
        immutableFields: ['tenant_id', 'order_id'],
      },
      budget: { statementTimeoutMs: TIMEOUT_MS },
    },
  },
}

/** The memory store without `accept`: the toolset commits every write's record at once, as it did before. */
function withoutAccept(store: MemoryAuditStore): AuditStore {
  return {
    stage: (draft) => store.stage(draft),
    reserve: () => {
      const reservation = store.reserve()
      return {
        stage: (draft) => {
          const staged = reservation.stage(draft)
          return { commit: () => staged.commit(), abort: () => staged.abort() }
        },
      }
    },
    append: (draft) => store.append(draft),
    record: (draft) => store.record(draft),
    query: (filter) => store.query(filter),
    count: (filter) => store.count(filter),
    deleteBefore: (before, options) => store.deleteBefore(before, options),
    verify: () => store.verify(),
  }
}

/**
 * What two records of the same call made twice must share: everything but identity, time and chain links (and
 * the id of the row each created, in the images and in the update's inputs).
 */
function comparable(record: AuditRecord | undefined): unknown {
  if (record === undefined) return undefined
  const { id, timestamp, durationMs, hash, prevHash, requestId, argsDigest, ...rest } = record
  void [id, timestamp, durationMs, hash, prevHash, requestId, argsDigest]
  const strip = (image: unknown): unknown => {
    if (typeof image !== 'object' || image === null) return image
    const { id: rowId, ...row } = image as Record<string, unknown>
    void rowId
    return row
  }
  // The update names the created row's id in its inputs too.
  return { ...rest, inputs: strip(rest.inputs), before: strip(rest.before), after: strip(rest.after) }
}

describeEachDatabase('a write’s audit record taken by accept', (db) => {
  let pool: pg.Pool
  let owned = false
  let tdb: Kysely<any>
  const fastStore = new MemoryAuditStore()
  const slowStore = new MemoryAuditStore()
  let fast: Toolset
  let slow: Toolset
  const sent: string[] = []

  beforeAll(async () => {
    const database: TestDatabase = db()
    ;({ pool, owned } = sessionPool(database, 1))
    tdb = new Kysely<any>({
      dialect: createTesseraDialect({ pool: countingPool(pool, sent), statementTimeoutMs: TIMEOUT_MS }),
    })
    await tdb.executeQuery(CompiledQuery.raw('select 1'))
    const options = {
      db: tdb,
      policy: definePolicy(policy),
      secret: TEST_SECRET,
      ...(database.appRole === undefined ? {} : { role: database.appRole }),
      enforcement: 'app' as const,
    }
    fast = await createToolset({ ...options, audit: fastStore })
    slow = await createToolset({ ...options, audit: withoutAccept(slowStore) })
  })

  afterAll(async () => {
    if (owned) await tdb.destroy()
  })

  const item = (order: string, quantity: number) => ({
    model: 'OrderItem',
    data: { order_id: order, quantity, unit_price: '2.25' },
  })

  it('records a create and an update exactly as committing each record at once does, one message each', async () => {
    for (const [toolset, store] of [
      [fast, fastStore],
      [slow, slowStore],
    ] as const) {
      sent.length = 0
      const created = await toolset.create(as(ALICE, 'req-create'), item(ORDER_A1, 7))
      expect(sent).toHaveLength(1)
      expect(store.pending).toBe(toolset === fast ? 1 : 0)
      sent.length = 0
      await toolset.update(as(ALICE, 'req-update'), {
        model: 'OrderItem',
        id: created.row['id'],
        data: { quantity: 8 },
      })
      expect(sent).toHaveLength(1)
    }
    for (const requestId of ['req-create', 'req-update']) {
      const [a] = (await fastStore.query({})).filter((r) => r.requestId === requestId)
      const [b] = (await slowStore.query({})).filter((r) => r.requestId === requestId)
      expect(a).toMatchObject({ outcome: 'success', affectedRows: 1 })
      expect(comparable(a)).toEqual(comparable(b))
    }
    expect(fastStore.pending).toBe(0)
    expect(await fastStore.verify()).toMatchObject({ ok: true, breaks: [] })
  })

  it('refuses a missing parent and another tenant’s parent with the same error, in one message, writing nothing', async () => {
    const count = await countRows(db(), 'order_items')
    sent.length = 0
    const missing = await errorOf(fast.create(as(ALICE, 'req-missing'), item(MISSING_ORDER, 1)))
    expect(sent).toHaveLength(1)
    sent.length = 0
    const foreign = await errorOf(fast.create(as(ALICE, 'req-foreign'), item(ORDER_B1, 1)))
    expect(sent).toHaveLength(1)
    expect(JSON.stringify(missing)).toBe(JSON.stringify(foreign))
    expect(missing).toMatchObject({ code: 'NOT_FOUND', details: { field: 'order_id' } })
    expect(await countRows(db(), 'order_items')).toBe(count)
    const records = await fastStore.query({})
    const denial = (id: string) => comparable(records.find((r) => r.requestId === id))
    expect(denial('req-missing')).toMatchObject({ outcome: 'denied', errorCode: 'NOT_FOUND', after: null })
    const withoutOrder = (r: unknown) => ({ ...(r as object), inputs: null })
    expect(withoutOrder(denial('req-missing'))).toEqual(withoutOrder(denial('req-foreign')))
  })
})
