/**
 * Second red-team pass, values: timestamps (offsets, microseconds, infinity, BC, 24:00), numerics (NaN, -0,
 * exponents, 300-digit fractions), floats (NaN, ±Infinity, float4 limits) and padded char(n), in filters,
 * keyset cursors, aggregates and writes — through tool arguments only. Every answer must be one of: the
 * right rows of the caller's tenant, or a VALIDATION_ERROR decided before any SQL (never database text).
 */
import { sql } from 'kysely'
import { beforeAll, expect, it } from 'vitest'
import type { PolicyInput } from '../../src/policy/policy-schema.ts'
import { describeEachDatabase } from '../support/databases.ts'
import { ALICE, as, BOB } from '../support/saas.ts'
import { type ToolsetHarness, toolsetFor } from '../support/toolset.ts'

type Row = Record<string, unknown>

const A = 'a0000000-0000-4000-8000-000000000000'
const B = 'b0000000-0000-4000-8000-000000000000'

/** One row per awkward value; row 6 is tenant B's and must never appear for A. */
const GADGETS_SQL = `
create table gadgets (
  id integer primary key,
  tenant_id uuid not null,
  label text,
  rank integer,
  score float8,
  ratio float4,
  amount numeric,
  at timestamptz,
  d date,
  t time,
  tz timetz,
  flag boolean,
  code char(3)
);
grant select, insert, update, delete on gadgets to tessera_app;
insert into gadgets values
 (1, '${A}', 'one', 1, 0.1, 0.1, '1.5', '2026-01-01 00:00:00.123456+00', '2026-01-01', '10:00', '10:00+02', true, 'ab '),
 (2, '${A}', 'two', null, 'NaN', 'Infinity', 'NaN', 'infinity', 'infinity', '24:00', '10:00-02', null, 'ab'),
 (3, '${A}', null, 3, '-Infinity', -0, '-0', '-infinity', '-infinity', '00:00', null, false, null),
 (4, '${A}', 'four', null, null, null, null, null, null, null, null, null, null),
 (5, '${A}', 'five', 1, -0, 1e-40, '1e-300', '0044-03-15 12:00:00 BC', '0044-03-15 BC', '23:59:59.999999',
     '23:59:59.999999+15:59', true, 'zz'),
 (6, '${B}', 'bee', 2, 2, 2, '2', '2026-01-02', '2026-01-02', '11:00', '11:00+00', true, 'bb')`

const FIELDS = ['rank', 'score', 'ratio', 'amount', 'at', 'd', 't', 'tz', 'flag', 'code', 'label'] as const

const policy: PolicyInput = {
  models: {
    Gadget: {
      table: 'gadgets',
      // A caller-supplied integer key spanning tenants: accepted explicitly (the collision is an oracle).
      fields: {
        id: { action: 'allow', acceptGlobalUnique: true },
        ...Object.fromEntries(FIELDS.map((f) => [f, 'allow'])),
      },
      scoping: { tenant_id: 'principal.tenantId' },
      aggregations: { fields: ['score', 'amount', 'rank', 'at', 'code'], groupBy: ['flag', 'rank', 'code'] },
      write: { create: 'allow', update: 'allow', autoSet: { tenant_id: 'principal.tenantId' } },
    },
    TinyGadget: {
      table: 'gadgets',
      fields: { id: 'allow', label: 'allow' },
      scoping: { tenant_id: 'principal.tenantId' },
      aggregations: { groupBy: ['label'] },
      budget: { maxRows: 2 },
    },
  },
}

describeEachDatabase(
  'red team (2nd pass): awkward values in filters, cursors, aggregates and writes',
  (db) => {
    let h: ToolsetHarness
    beforeAll(async () => {
      for (const statement of GADGETS_SQL.split(';')) await sql.raw(statement).execute(db().admin)
      h = await toolsetFor(db(), policy)
    })

    /** Ids of A's gadgets, walking pages of one row through the cursor. */
    async function walk(orderBy: unknown[]): Promise<number[]> {
      const seen: number[] = []
      let cursor: string | undefined
      for (let page = 0; page < 10; page++) {
        const r = await h.toolset.query(as(ALICE), {
          model: 'Gadget',
          select: ['id'],
          orderBy,
          limit: 1,
          ...(cursor === undefined ? {} : { cursor }),
        })
        seen.push(...r.rows.map((row) => row['id'] as number))
        if (r.nextCursor === null) return seen
        cursor = r.nextCursor
      }
      throw new Error('more pages than rows')
    }

    async function oneShot(orderBy: unknown[]): Promise<number[]> {
      const r = await h.toolset.query(as(ALICE), { model: 'Gadget', select: ['id'], orderBy, limit: 50 })
      return r.rows.map((row) => row['id'] as number)
    }

    it.each(FIELDS.flatMap((field) => (['asc', 'desc'] as const).map((direction) => [field, direction])))(
      'pages by %s %s one row at a time through NULL, NaN, infinities and BC values with no gap or duplicate',
      async (field, direction) => {
        const orderBy = [{ field, direction }]
        const paged = await walk(orderBy)
        expect(paged).toEqual(await oneShot(orderBy))
        expect([...paged].sort()).toEqual([1, 2, 3, 4, 5])
      },
    )

    it('pages by two nullable keys in opposite directions exactly like one page', async () => {
      const orderBy = [{ field: 'flag', direction: 'desc' }, 'rank', { field: 'flag', direction: 'asc' }]
      expect(await walk(orderBy)).toEqual(await oneShot(orderBy))
    })

    it('sorts NULLs last ascending, first descending, and NaN and infinity as PostgreSQL orders them', async () => {
      expect(await oneShot([{ field: 'score', direction: 'asc' }])).toEqual([3, 5, 1, 2, 4])
      expect(await oneShot([{ field: 'score', direction: 'desc' }])).toEqual([4, 2, 1, 5, 3])
      expect(await oneShot([{ field: 'at', direction: 'asc' }])).toEqual([3, 5, 1, 2, 4])
    })

    it('returns special values as JSON-safe text in rows, never as JS NaN or Infinity', async () => {
      const r = await h.toolset.query(as(ALICE), { model: 'Gadget', orderBy: ['id'] })
      const byId = new Map(r.rows.map((row) => [row['id'], row]))
      expect(byId.get(2)).toMatchObject({ score: 'NaN', ratio: 'Infinity', amount: 'NaN', at: 'infinity' })
      expect(byId.get(3)).toMatchObject({ score: '-Infinity', ratio: 0, amount: '0', at: '-infinity' })
      expect(byId.get(5)).toMatchObject({ at: '0044-03-15T12:00:00+00:00 BC', tz: '23:59:59.999999+15:59' })
      expect((byId.get(5) as Row)['amount']).toBe(`0.${'0'.repeat(299)}1`)
      expect(JSON.parse(JSON.stringify(r.rows))).toEqual(r.rows)
      expect(r.rows.map((row) => row['id'])).not.toContain(6)
    })

    it.each<[string, unknown, number[]]>([
      ['an offset of +02:00 for the same instant', '2026-01-01T02:00:00.123456+02:00', [1]],
      ['Z with all six fractional digits', '2026-01-01T00:00:00.123456Z', [1]],
      ['a space instead of T', '2026-01-01 00:00:00.123456+00:00', [1]],
      ['an offset of +15:59, the largest PostgreSQL accepts', '2026-01-01T15:59:00.123456+15:59', [1]],
    ])('matches a timestamp written with %s exactly', async (_name, value, expected) => {
      const r = await h.toolset.query(as(ALICE), {
        model: 'Gadget',
        select: ['id'],
        where: { field: 'at', op: 'eq', value },
      })
      expect(r.rows.map((row) => row['id'])).toEqual(expected)
    })

    it('includes the BC and infinite rows in an open range only where PostgreSQL orders them', async () => {
      const r = await h.toolset.query(as(ALICE), {
        model: 'Gadget',
        select: ['id'],
        where: { field: 'at', op: 'lt', value: '0001-01-01T00:00:00Z' },
        orderBy: ['id'],
      })
      expect(r.rows.map((row) => row['id'])).toEqual([3, 5])
    })

    it.each<[string, string, unknown]>([
      ['infinity', 'at', 'infinity'],
      ['-infinity', 'at', '-infinity'],
      ['year 0', 'at', '0000-01-01T00:00:00Z'],
      ['a seventh fractional digit', 'at', '2026-01-01T00:00:00.1234567Z'],
      ['February 30', 'd', '2026-02-30'],
      ['an offset of +16:00', 'at', '2026-01-01T00:00:00+16:00'],
      ['a leap second', 'at', '2026-12-31T23:59:60Z'],
      ['epoch milliseconds', 'at', 1767225600000],
      ['now', 'at', 'now'],
      ['24:00 for a time', 't', '24:00:00'],
      ['a date for a time', 't', '2026-01-01'],
      ['a NaN numeric', 'amount', 'NaN'],
      ['an exponent string', 'amount', '1e3'],
      ['a bare fraction', 'amount', '.5'],
      ['a 201-digit numeric', 'amount', '1'.repeat(201)],
      ['a float4 underflow', 'ratio', 1e-46],
      ['a float4 overflow', 'ratio', 3.5e38],
      ['an int above 2^31', 'rank', 2 ** 31],
      ['a fractional int', 'rank', 1.5],
      ['padded text as a number', 'code', 42],
    ])('refuses %s as a filter value with VALIDATION_ERROR before any SQL', async (_name, field, value) => {
      h.queries.length = 0
      const r = await h.toolset.call(as(ALICE), 'db_query', {
        model: 'Gadget',
        where: { field, op: 'gte', value },
      })
      expect(r).toMatchObject({ ok: false, error: { code: 'VALIDATION_ERROR' } })
      expect(JSON.stringify(r)).not.toMatch(/out of range for type|syntax|invalid input|gadgets/i)
      expect(h.queries).toEqual([])
    })

    it.each<[string, string, unknown, number[]]>([
      ['-0 against a stored -0 numeric', 'amount', '-0', [3]],
      ['-0 as a number against a stored -0 float', 'score', -0, [5]],
      ['a number that prints with an exponent', 'amount', 1e21, []],
      ['the smallest double', 'amount', 5e-324, []],
      ['the smallest float4 subnormal', 'ratio', 1.401298464324817e-45, []],
      ['-0 as text for an int', 'rank', '-0', []],
      ['a date with a time and an offset for a date column', 'd', '2026-01-01T23:00:00-05:00', [1]],
      ['a time with an offset for a timetz column', 'tz', '10:00:00+02:00', [1]],
      ['a char(3) value without its padding', 'code', 'ab', [1, 2]],
    ])('accepts %s and compares it in PostgreSQL without an error', async (_name, field, value, expected) => {
      const r = await h.toolset.query(as(ALICE), {
        model: 'Gadget',
        select: ['id'],
        where: { field, op: 'eq', value },
        orderBy: ['id'],
      })
      expect(r.rows.map((row) => row['id'])).toEqual(expected)
    })

    it("sums and averages over NaN as PostgreSQL does, over the caller's rows only", async () => {
      const sum = await h.toolset.aggregate(as(ALICE), {
        model: 'Gadget',
        op: 'sum',
        field: 'amount',
        where: { field: 'id', op: 'in', value: [1, 3, 5, 6] },
      })
      expect(sum).toEqual({ value: `1.5${'0'.repeat(298)}1` })
      const nan = await h.toolset.aggregate(as(ALICE), { model: 'Gadget', op: 'avg', field: 'amount' })
      expect(nan).toEqual({ value: 'NaN' })
      const count = await h.toolset.aggregate(as(BOB), { model: 'Gadget', op: 'sum', field: 'rank' })
      expect(count).toEqual({ value: '2' })
    })

    it('keeps min and max of timestamps, text and padded text in the form query returns them', async () => {
      const max = await h.toolset.aggregate(as(ALICE), { model: 'Gadget', op: 'max', field: 'at' })
      const min = await h.toolset.aggregate(as(ALICE), { model: 'Gadget', op: 'min', field: 'at' })
      const code = await h.toolset.aggregate(as(ALICE), { model: 'Gadget', op: 'max', field: 'code' })
      expect([max, min, code]).toEqual([{ value: 'infinity' }, { value: '-infinity' }, { value: 'zz ' }])
    })

    it('groups a nullable boolean with the NULL group last and counts only the caller rows', async () => {
      const r = await h.toolset.aggregate(as(ALICE), { model: 'Gadget', op: 'count', groupBy: ['flag'] })
      expect(r).toEqual({
        groups: [
          { key: { flag: false }, value: 1 },
          { key: { flag: true }, value: 2 },
          { key: { flag: null }, value: 2 },
        ],
      })
    })

    it('refuses more groups than maxRows instead of cutting the answer silently', async () => {
      const r = await h.toolset.call(as(ALICE), 'db_aggregate', {
        model: 'TinyGadget',
        op: 'count',
        groupBy: ['label'],
      })
      expect(r).toMatchObject({
        ok: false,
        error: { code: 'QUERY_BUDGET_EXCEEDED', details: { budgetType: 'max_rows', limit: 2 } },
      })
      // Filtered down to two groups it answers: the limit is about groups, not about rows.
      const ok = await h.toolset.aggregate(as(ALICE), {
        model: 'TinyGadget',
        op: 'count',
        groupBy: ['label'],
        where: { field: 'id', op: 'in', value: [1, 2, 6] },
      })
      expect(ok).toEqual({
        groups: [
          { key: { label: 'one' }, value: 1 },
          { key: { label: 'two' }, value: 1 },
        ],
      })
    })

    it('stores timestamps with offsets and microseconds, exact decimals and -0 exactly', async () => {
      const r = await h.toolset.create(as(ALICE), {
        model: 'Gadget',
        data: {
          id: 100,
          at: '2026-03-01T10:00:00.000001+05:30',
          d: '2026-03-01',
          t: '23:59:59.999999',
          amount: '-123456789012345678901234567890.123456789012345678901234567890',
          score: -0,
          ratio: 1.401298464324817e-45,
          code: 'x',
        },
      })
      expect(r.row).toMatchObject({
        id: 100,
        at: '2026-03-01T04:30:00.000001+00:00',
        amount: '-123456789012345678901234567890.123456789012345678901234567890',
        score: 0,
        code: 'x  ',
      })
      const stored = await sql<{ tenant_id: string }>`select tenant_id from gadgets where id = 100`.execute(
        db().admin,
      )
      expect(stored.rows).toEqual([{ tenant_id: A }])
    })

    it.each<[string, Row]>([
      ['infinity', { at: 'infinity' }],
      ['a float4 underflow', { ratio: 1e-46 }],
      ['an exponent string numeric', { amount: '1e5' }],
      ['a four-character char(3)', { code: 'abcd' }],
    ])('refuses %s in update data without changing the row or showing database text', async (_name, data) => {
      const before = await sql`select row_to_json(g)::text as j from gadgets g where id = 1`.execute(
        db().admin,
      )
      const r = await h.toolset.call(as(ALICE), 'db_update', { model: 'Gadget', id: 1, data })
      expect(r).toMatchObject({ ok: false, error: { code: 'VALIDATION_ERROR' } })
      expect(JSON.stringify(r)).not.toMatch(
        /out of range for type|too long|character\(3\)|invalid input|gadgets/i,
      )
      const after = await sql`select row_to_json(g)::text as j from gadgets g where id = 1`.execute(
        db().admin,
      )
      expect(after.rows).toEqual(before.rows)
    })
  },
)
