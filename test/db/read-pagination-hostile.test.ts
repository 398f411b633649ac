import { sql } from 'kysely'
import { beforeAll, describe, expect, it } from 'vitest'
import type { PolicyInput } from '../../src/policy/policy-schema.ts'
import { describeEachDatabase } from '../support/databases.ts'
import { ALICE, ANDY, as, BOB, TENANT_A } from '../support/saas.ts'
import { type ToolsetHarness, toolsetFor } from '../support/toolset.ts'
import { scopedOrder } from '../support/scoped-order.ts'

const policy: PolicyInput = {
  models: {
    Customer: {
      table: 'customers',
      unscopedColumns: ['org_id'],
      fields: {
        id: 'allow',
        tenant_id: 'allow',
        name: 'allow',
        notes: 'allow',
        created_at: 'allow',
        country_code: 'allow',
      },
      scoping: { tenant_id: 'principal.tenantId' },
    },
    Order: scopedOrder({ id: 'allow', status: 'allow', total: 'allow', created_at: 'allow' }),
  },
}

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p
  } catch (e) {
    return (e as { code: string }).code
  }
  return 'NO_ERROR'
}

describeEachDatabase('keyset pagination', (db) => {
  let h: ToolsetHarness
  const N = 4
  const K = 3
  beforeAll(async () => {
    h = await toolsetFor(db(), policy)
    // N + K rows for a fresh tenant-A country, with duplicate sort values to exercise the primary-key tiebreak.
    const rows = Array.from({ length: N + K }, (_, i) => ({
      tenant_id: TENANT_A,
      name: `Paged ${i % 2}`,
      country_code: 'JP',
      created_at: new Date(Date.UTC(2026, 0, 1 + (i % 3))).toISOString(),
    }))
    await db().admin.insertInto('customers').values(rows).execute()
  })

  const where = { field: 'country_code', op: 'eq', value: 'JP' } as const

  it('returns N rows with hasMore, then exactly the K remaining with no duplicates or gaps', async () => {
    const orderBy = [{ field: 'name', direction: 'desc' as const }, { field: 'created_at' }]
    const first = await h.toolset.query(as(ALICE), { model: 'Customer', where, orderBy, limit: N })
    expect(first.rows).toHaveLength(N)
    expect(first.hasMore).toBe(true)
    expect(first.nextCursor).toEqual(expect.any(String))
    const second = await h.toolset.query(as(ALICE), {
      model: 'Customer',
      where,
      orderBy,
      limit: N,
      cursor: first.nextCursor!,
    })
    expect(second.rows).toHaveLength(K)
    expect(second.hasMore).toBe(false)
    expect(second.nextCursor).toBeNull()
    const all = await h.toolset.query(as(ALICE), { model: 'Customer', where, orderBy, limit: N + K })
    expect([...first.rows, ...second.rows]).toEqual(all.rows)
  })

  it('reports hasMore false when exactly N rows exist', async () => {
    const r = await h.toolset.query(as(ALICE), { model: 'Customer', where, limit: N + K })
    expect(r.rows).toHaveLength(N + K)
    expect(r.hasMore).toBe(false)
    expect(r.nextCursor).toBeNull()
  })

  describe('cursor tampering', () => {
    let cursor: string
    beforeAll(async () => {
      const r = await h.toolset.query(as(ALICE), { model: 'Customer', where, limit: 2 })
      cursor = r.nextCursor!
    })

    it.each([
      ['tampered', (c: string) => c.slice(0, 5) + (c[5] === 'A' ? 'B' : 'A') + c.slice(6)],
      ['truncated', (c: string) => c.slice(0, c.length - 3)],
      ['garbage', () => 'not-a-cursor'],
    ])('rejects a %s cursor', async (_name, mutate) => {
      expect(
        await codeOf(
          h.toolset.query(as(ALICE), { model: 'Customer', where, limit: 2, cursor: mutate(cursor) }),
        ),
      ).toBe('INVALID_CURSOR')
    })

    it('rejects a cursor moved to another model, filter or principal', async () => {
      expect(await codeOf(h.toolset.query(as(ALICE), { model: 'Order', limit: 2, cursor }))).toBe(
        'INVALID_CURSOR',
      )
      expect(
        await codeOf(
          h.toolset.query(as(ALICE), {
            model: 'Customer',
            where: { field: 'country_code', op: 'eq', value: 'US' },
            limit: 2,
            cursor,
          }),
        ),
      ).toBe('INVALID_CURSOR')
      expect(await codeOf(h.toolset.query(as(ANDY), { model: 'Customer', where, limit: 2, cursor }))).toBe(
        'INVALID_CURSOR',
      )
      expect(await codeOf(h.toolset.query(as(BOB), { model: 'Customer', where, limit: 2, cursor }))).toBe(
        'INVALID_CURSOR',
      )
    })
  })
})

describeEachDatabase('hostile input', (db) => {
  let h: ToolsetHarness
  beforeAll(async () => {
    h = await toolsetFor(db(), policy)
  })

  const deep = (): unknown => {
    let f: unknown = { field: 'status', op: 'eq', value: 'paid' }
    for (let i = 0; i < 10_000; i++) f = { not: f }
    return f
  }

  const cases: [string, unknown, string[]][] = [
    [
      'a field name with a quote',
      { model: 'Order', where: { field: 'status"--', op: 'eq', value: 'x' } },
      ['VALIDATION_ERROR', 'FIELD_NOT_ALLOWED'],
    ],
    [
      'a field name with a semicolon',
      { model: 'Order', select: ['id; drop table orders'] },
      ['VALIDATION_ERROR', 'FIELD_NOT_ALLOWED'],
    ],
    [
      'a dotted field name',
      { model: 'Order', select: ['orders.tenant_id'] },
      ['VALIDATION_ERROR', 'FIELD_NOT_ALLOWED'],
    ],
    [
      'a zero-width character',
      { model: 'Order', select: ['sta\u200btus'] },
      ['VALIDATION_ERROR', 'FIELD_NOT_ALLOWED'],
    ],
    [
      'a $regex operator',
      { model: 'Order', where: { field: 'status', op: '$regex', value: '.*' } },
      ['VALIDATION_ERROR'],
    ],
    [
      'an object where a scalar belongs',
      { model: 'Order', where: { field: 'status', op: 'eq', value: { $ne: null } } },
      ['VALIDATION_ERROR'],
    ],
    [
      'a 70,000-item in list',
      {
        model: 'Order',
        where: { field: 'status', op: 'in', value: Array.from({ length: 70_000 }, (_, i) => `v${i}`) },
      },
      ['VALIDATION_ERROR', 'QUERY_BUDGET_EXCEEDED'],
    ],
    ['10,000-deep nesting', { model: 'Order', where: deep() }, ['VALIDATION_ERROR']],
    ['NaN', { model: 'Order', where: { field: 'total', op: 'gt', value: Number.NaN } }, ['VALIDATION_ERROR']],
    [
      'Infinity',
      { model: 'Order', where: { field: 'total', op: 'gt', value: Number.POSITIVE_INFINITY } },
      ['VALIDATION_ERROR'],
    ],
    [
      '1e309 from JSON',
      JSON.parse('{"model":"Order","where":{"field":"total","op":"gt","value":1e309}}'),
      ['VALIDATION_ERROR'],
    ],
    [
      'a NUL character',
      { model: 'Order', where: { field: 'status', op: 'eq', value: 'pa\u0000id' } },
      ['VALIDATION_ERROR'],
    ],
    ['a __proto__ key', JSON.parse('{"model":"Order","__proto__":{"polluted":true}}'), ['VALIDATION_ERROR']],
    [
      'a constructor key',
      JSON.parse('{"model":"Order","where":{"constructor":{"prototype":{"x":1}}}}'),
      ['VALIDATION_ERROR'],
    ],
    ['a catalog model name', { model: 'pg_catalog.pg_authid' }, ['VALIDATION_ERROR', 'MODEL_NOT_ALLOWED']],
    ['a raw table name as model', { model: 'orders' }, ['MODEL_NOT_ALLOWED']],
    ['an inherited property as model', { model: 'toString' }, ['MODEL_NOT_ALLOWED']],
    [
      'a value of the wrong type for a uuid column',
      { model: 'Order', where: { field: 'id', op: 'eq', value: "1' or '1'='1" } },
      ['VALIDATION_ERROR'],
    ],
    [
      'a number for a text column',
      { model: 'Order', where: { field: 'status', op: 'eq', value: 7 } },
      ['VALIDATION_ERROR'],
    ],
  ]

  it.each(cases)('rejects %s before any SQL runs', async (_name, args, codes) => {
    h.queries.length = 0
    const r = await h.toolset.call(as(ALICE), 'db_query', args)
    expect(r.ok).toBe(false)
    if (!r.ok) expect(codes).toContain(r.error.code)
    expect(h.queries).toEqual([])
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined()
    expect(Object.prototype).not.toHaveProperty('x')
  })

  it('stays healthy after hostile input', async () => {
    const r = await h.toolset.query(as(ALICE), { model: 'Order', limit: 1 })
    expect(r.rows).toHaveLength(1)
  })

  it('matches a percent sign in contains literally', async () => {
    const r = await h.toolset.query(as(ALICE), {
      model: 'Customer',
      where: { field: 'notes', op: 'contains', value: '%' },
    })
    expect(r.rows.map((x) => x['name'])).toEqual(['Acme Public'])
    const u = await h.toolset.query(as(ALICE), {
      model: 'Customer',
      where: { field: 'notes', op: 'contains', value: '_' },
    })
    expect(u.rows.map((x) => x['name'])).toEqual(['Acme Public'])
  })

  it('never returns database error text to the caller', async () => {
    const r = await h.toolset.call(as(ALICE), 'db_query', {
      model: 'Order',
      where: { field: 'created_at', op: 'gt', value: '2026-13-45T99:99:99Z' },
    })
    expect(r.ok).toBe(false)
    if (!r.ok) {
      expect(r.error.code).toBe('VALIDATION_ERROR')
      expect(JSON.stringify(r.error)).not.toMatch(/syntax|pg_|SELECT|out of range/i)
    }
  })
})

describeEachDatabase(
  'statement timeout (PostgreSQL only: PGlite ignores statement_timeout, the cost guard covers it)',
  (db) => {
    it('answers a slow query with TIMEOUT and leaves the connection clean', async () => {
      const admin = db().admin
      await sql`create table slow_things (id int primary key, tenant_id uuid not null)`.execute(admin)
      await sql`insert into slow_things select g, ${TENANT_A}::uuid from generate_series(1, 50) g`.execute(
        admin,
      )
      await sql`grant select on slow_things to tessera_app`.execute(admin)
      // Every row costs 20 ms under the row security policy, so the scan takes a second.
      await sql`alter table slow_things enable row level security`.execute(admin)
      await sql`create function slow_true(int) returns boolean volatile language plpgsql as $$ begin perform pg_sleep(0.02); return true; end $$`.execute(
        admin,
      )
      await sql`create policy slow on slow_things using (slow_true(id))`.execute(admin)
      const h = await toolsetFor(db(), {
        models: {
          Slow: {
            table: 'slow_things',
            fields: { id: 'allow' },
            scoping: { tenant_id: 'principal.tenantId' },
            budget: { statementTimeoutMs: 100 },
          },
          Order: scopedOrder({ id: 'allow' }),
        },
      })
      const r = await h.toolset.call(as(ALICE), 'db_query', { model: 'Slow', limit: 100 })
      expect(r).toEqual({ ok: false, error: expect.objectContaining({ code: 'TIMEOUT' }) })
      const after = await h.toolset.query(as(ALICE), { model: 'Order', limit: 1 })
      expect(after.rows).toHaveLength(1)
      const settings = await sql<{ t: string }>`select current_setting('statement_timeout') as t`.execute(
        db().app,
      )
      expect(settings.rows[0]?.t).not.toBe('100ms')
    })
  },
  { only: ['postgres'] },
)
