/**
 * A single update whose WITH CHECK reads a column the update does not set (the row's own tenant) commits with
 * its one statement when SQL compares that column exactly as Node would (src/planner/sql-decides-write-check.ts,
 * docs/decisions.md "A write that decides itself commits with its statement"): text under a deterministic
 * collation here, uuid in the fixture's orders. Under a nondeterministic collation ('U-ACME' = 'u-acme', on the
 * owner column a restrictive rule compares: a tenant column under one does not load, see
 * test/redteam/loose-tenant-column-refused.test.ts) the transaction stays, and the in-memory check still refuses
 * the case-variant owner's row that SQL matched. PGlite accepts the ICU collation into its catalog but compares exactly; the PostgreSQL server
 * honours it, so there the refusal is the in-memory check's. Over a counting pool, on both engines.
 */
import { CompiledQuery, Kysely, sql } from 'kysely'
import type pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTesseraDialect } from '../../src/executor/tessera-dialect.ts'
import type { PolicyInput } from '../../src/policy/policy-schema.ts'
import { definePolicy } from '../../src/policy/define-policy.ts'
import { introspectSchema, findColumn, type DbSchema } from '../../src/schema/index.ts'
import { MemoryAuditStore } from '../../src/stores/index.ts'
import { createToolset, type Toolset } from '../../src/tools/create-toolset.ts'
import type { Principal } from '../../src/context/index.ts'
import { describeEachDatabase, type TestDatabase } from '../support/databases.ts'
import { sessionPool } from '../support/session-pool.ts'
import { ALICE, ORDER_A1, ORDER_B1, TEST_SECRET, as } from '../support/saas.ts'
import { errorOf, rowOf } from '../support/write-helpers.ts'
import { countingPool } from '../support/counting-pool.ts'
import { scopedOrder } from '../support/scoped-order.ts'

const TIMEOUT_MS = 5000

const note = (table: string): PolicyInput['models'][string] => ({
  table,
  fields: { id: 'allow', tenant_id: 'allow', body: 'allow' },
  scoping: { tenant_id: 'principal.tenantId' },
  write: { update: 'allow', immutableFields: ['tenant_id'] },
  budget: { statementTimeoutMs: TIMEOUT_MS },
})

const policy: PolicyInput = {
  models: {
    ExactNote: note('exact_notes'),
    CaseNote: {
      ...note('case_notes'),
      fields: { id: 'allow', tenant_id: 'allow', owner: 'allow', body: 'allow' },
      rowPolicies: [{ name: 'own', condition: 'owner = principal.userId', mode: 'restrictive' }],
      write: { update: 'allow', immutableFields: ['tenant_id', 'owner'] },
    },
    Order: scopedOrder(
      { id: 'allow', tenant_id: 'allow', status: 'allow' },
      {
        write: { update: 'allow', immutableFields: ['tenant_id'] },
        budget: { statementTimeoutMs: TIMEOUT_MS },
      },
    ),
  },
}

const ACME: Principal = { tenantId: 'acme', userId: 'u-acme', roles: [] }

const isTransactionControl = (s: string) => /^(begin|commit|rollback|start transaction)/i.test(s)

describeEachDatabase('an update whose check reads its unchanged tenant column', (db) => {
  let pool: pg.Pool
  let owned = false
  let tdb: Kysely<any>
  let toolset: Toolset
  let schema: DbSchema
  /** Whether this engine honours the case-insensitive collation (the PostgreSQL server does, PGlite does not). */
  let caseInsensitive = false
  const sent: string[] = []
  const ids: Record<string, number> = {}

  beforeAll(async () => {
    const database: TestDatabase = db()
    const admin = database.admin
    await sql`create collation tessera_case_insensitive
      (provider = icu, locale = 'und-u-ks-level2', deterministic = false)`.execute(admin)
    await sql`create table exact_notes (id serial primary key, tenant_id text not null, body text not null)`.execute(
      admin,
    )
    await sql`create table case_notes (id serial primary key, tenant_id text not null,
      owner text collate tessera_case_insensitive not null, body text not null)`.execute(admin)
    for (const tenant of ['acme', 'ACME']) {
      const r = await sql<{ id: number }>`insert into exact_notes (tenant_id, body)
        values (${tenant}, 'first') returning id`.execute(admin)
      ids[`exact_notes:${tenant}`] = r.rows[0]?.id ?? -1
    }
    for (const owner of ['u-acme', 'U-ACME']) {
      const r = await sql<{ id: number }>`insert into case_notes (tenant_id, owner, body)
        values ('acme', ${owner}, 'first') returning id`.execute(admin)
      ids[`case_notes:${owner}`] = r.rows[0]?.id ?? -1
    }
    for (const table of ['exact_notes', 'case_notes']) {
      await sql`grant select, update on ${sql.table(table)} to tessera_app`.execute(admin)
    }
    const probe = await sql<{
      eq: boolean
    }>`select 'acme' = 'ACME' collate tessera_case_insensitive as eq`.execute(admin)
    caseInsensitive = probe.rows[0]?.eq === true
    // The server this suite runs against is built with ICU; only PGlite ignores the collation's strength.
    if (database.kind === 'postgres') expect(caseInsensitive).toBe(true)

    ;({ pool, owned } = sessionPool(database, 1))
    tdb = new Kysely<any>({
      dialect: createTesseraDialect({ pool: countingPool(pool, sent), statementTimeoutMs: TIMEOUT_MS }),
    })
    await tdb.executeQuery(CompiledQuery.raw('select 1'))
    const role = database.appRole === undefined ? {} : { role: database.appRole }
    schema = await introspectSchema(tdb, role)
    toolset = await createToolset({
      db: tdb,
      policy: definePolicy(policy),
      audit: new MemoryAuditStore(),
      secret: TEST_SECRET,
      ...role,
      enforcement: 'app',
    })
  })

  afterAll(async () => {
    if (owned) await tdb.destroy()
  })

  it('introspects which columns compare exactly: text under a deterministic collation, uuid; not a case-insensitive one', () => {
    const column = (table: string, name: string) => {
      const info = schema.tables[table]
      return info === undefined ? undefined : findColumn(info, name)
    }
    expect(column('exact_notes', 'tenant_id')?.exactEquality).toBe(true)
    expect(column('exact_notes', 'id')?.exactEquality).toBe(true)
    expect(column('orders', 'tenant_id')?.exactEquality).toBe(true)
    expect(column('case_notes', 'owner')?.exactEquality).toBeUndefined()
    expect(column('case_notes', 'owner')?.looseEquality).toBe('nondeterministic-collation')
    expect(column('case_notes', 'tenant_id')?.looseEquality).toBeUndefined()
    expect(column('orders', 'total')?.exactEquality).toBeUndefined()
    expect(column('orders', 'created_at')?.exactEquality).toBeUndefined()
  })

  describe('deterministic collation', () => {
    it('sends the update as one message, with no BEGIN and no COMMIT, and commits it', async () => {
      const id = ids['exact_notes:acme'] as number
      sent.length = 0
      const r = await toolset.update(as(ACME), { model: 'ExactNote', id, data: { body: 'second' } })
      expect(r.row).toMatchObject({ id, tenant_id: 'acme', body: 'second' })
      expect(sent).toHaveLength(1)
      expect(sent.some(isTransactionControl)).toBe(false)
      expect(await rowOf(db(), 'exact_notes', id)).toMatchObject({ body: 'second' })
    })

    it('answers NOT_FOUND for the case-variant tenant’s row in the same one message, changing nothing', async () => {
      const id = ids['exact_notes:ACME'] as number
      sent.length = 0
      const e = await errorOf(toolset.update(as(ACME), { model: 'ExactNote', id, data: { body: 'taken' } }))
      expect(e.code).toBe('NOT_FOUND')
      expect(sent).toHaveLength(1)
      expect(await rowOf(db(), 'exact_notes', id)).toMatchObject({ tenant_id: 'ACME', body: 'first' })
    })

    it('sends an update of a uuid-scoped row as one message; another tenant’s row is NOT_FOUND', async () => {
      sent.length = 0
      const r = await toolset.update(as(ALICE), { model: 'Order', id: ORDER_A1, data: { status: 'paid' } })
      expect(r.row).toMatchObject({ id: ORDER_A1, status: 'paid' })
      expect(sent).toHaveLength(1)
      expect(sent.some(isTransactionControl)).toBe(false)
      const before = await rowOf(db(), 'orders', ORDER_B1)
      const e = await errorOf(
        toolset.update(as(ALICE), { model: 'Order', id: ORDER_B1, data: { status: 'paid' } }),
      )
      expect(e.code).toBe('NOT_FOUND')
      expect(await rowOf(db(), 'orders', ORDER_B1)).toEqual(before)
    })
  })

  describe('nondeterministic (case-insensitive) collation', () => {
    it('keeps BEGIN … COMMIT for an update of the caller’s own row', async () => {
      const id = ids['case_notes:u-acme'] as number
      sent.length = 0
      const r = await toolset.update(as(ACME), { model: 'CaseNote', id, data: { body: 'second' } })
      expect(r.row).toMatchObject({ id, owner: 'u-acme', body: 'second' })
      expect(sent).toHaveLength(2)
      expect(sent[1]).toMatch(/^commit$/i)
    })

    it('refuses the case-variant owner’s row and leaves it unchanged, though SQL matches it', async () => {
      const id = ids['case_notes:U-ACME'] as number
      sent.length = 0
      const e = await errorOf(toolset.update(as(ACME), { model: 'CaseNote', id, data: { body: 'taken' } }))
      // The server matched 'U-ACME' to 'u-acme' and wrote it inside the transaction: the in-memory check refused it
      // and the transaction rolled back. PGlite's catalog collation compares exactly, so the row is not found.
      if (caseInsensitive) {
        expect(e).toMatchObject({
          code: 'VALIDATION_ERROR',
          message: 'The record would be outside what you may access after this write',
        })
      } else {
        expect(e.code).toBe('NOT_FOUND')
      }
      expect(sent.some((s) => /^commit$/i.test(s))).toBe(false)
      expect(await rowOf(db(), 'case_notes', id)).toMatchObject({ owner: 'U-ACME', body: 'first' })
    })
  })
})
