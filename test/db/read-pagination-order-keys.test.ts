/**
 * Keyset pagination reads each cursor key either from the selected field itself (untransformed string, uuid,
 * integer, bigint, numeric or timestamp output: exact text PostgreSQL parses back) or from a hidden
 * `__tessera_k{i}` text column. Both paths must page exactly: no gaps, no duplicates, microseconds kept.
 */
import { sql } from 'kysely'
import { beforeAll, expect, it } from 'vitest'
import type { PolicyInput } from '../../src/policy/policy-schema.ts'
import { describeEachDatabase } from '../support/databases.ts'
import { ALICE, as, TENANT_A } from '../support/saas.ts'
import { type ToolsetHarness, toolsetFor } from '../support/toolset.ts'

const policy: PolicyInput = {
  models: {
    Paged: {
      table: 'paged_keys',
      fields: {
        id: 'allow',
        tenant_id: 'allow',
        label: 'allow',
        big: 'allow',
        amount: 'allow',
        at: 'allow',
        local_at: 'allow',
        day: 'allow',
        score: 'allow',
        flag: 'allow',
        ref: 'allow',
      },
      scoping: { tenant_id: 'principal.tenantId' },
    },
  },
}

const ROWS = 41
const PAGE = 4
const where = { field: 'id', op: 'gte', value: 0 } as const

interface Ordering {
  readonly name: string
  readonly select: readonly string[]
  readonly orderBy: readonly { field: string; direction?: 'asc' | 'desc' }[]
  readonly hidden: boolean
}

const orderings: readonly Ordering[] = [
  {
    name: 'timestamptz with microseconds and text, all selected',
    select: ['id', 'at', 'label'],
    orderBy: [{ field: 'at', direction: 'desc' }, { field: 'label' }],
    hidden: false,
  },
  {
    name: 'numeric, bigint, timestamp, date and uuid, all selected',
    select: ['id', 'amount', 'big', 'local_at', 'day', 'ref'],
    orderBy: [
      { field: 'amount' },
      { field: 'big', direction: 'desc' },
      { field: 'local_at' },
      { field: 'day', direction: 'desc' },
      { field: 'ref' },
    ],
    hidden: false,
  },
  {
    name: 'a timestamp that is not selected',
    select: ['id', 'label'],
    orderBy: [{ field: 'at' }],
    hidden: true,
  },
  {
    name: 'float and boolean keys',
    select: ['id', 'score', 'flag'],
    orderBy: [{ field: 'score', direction: 'desc' }, { field: 'flag' }],
    hidden: true,
  },
  {
    name: 'a selected key with an unselected primary-key tiebreak',
    select: ['label', 'local_at'],
    orderBy: [{ field: 'local_at', direction: 'desc' }],
    hidden: true,
  },
]

describeEachDatabase('keyset pagination by selected or hidden order keys', (db) => {
  let h: ToolsetHarness
  beforeAll(async () => {
    const admin = db().admin
    await sql`create table paged_keys (
      id int primary key,
      tenant_id uuid not null,
      label text,
      big bigint,
      amount numeric(30, 10),
      at timestamptz,
      local_at timestamp,
      day date,
      score float8,
      flag boolean,
      ref uuid
    )`.execute(admin)
    // Few distinct values per column (many ties), neighbours one microsecond apart, some NULLs, and values a
    // float or a JS Date could not carry exactly (2^62 + 1, 28 significant digits, microseconds).
    await sql`insert into paged_keys
      select g, ${TENANT_A}::uuid,
        case when g % 7 = 0 then null else 'L' || (g % 3) end,
        case when g % 5 = 0 then null else 4611686018427387904 + (g % 4) end,
        case when g % 6 = 0 then null else 123456789012345678.0000000001 * (g % 3) end,
        case when g % 8 = 0 then null else timestamptz '2026-03-01 12:00:00.000001+00' + (g % 4) * interval '1 microsecond' end,
        case when g % 9 = 0 then null else timestamp '1999-12-31 23:59:59.999998' + (g % 3) * interval '1 microsecond' end,
        case when g % 10 = 0 then null else date '2026-01-01' + (g % 2) end,
        case when g % 4 = 0 then null else (g % 3) * 0.1 end,
        case when g % 11 = 0 then null else g % 2 = 0 end,
        case when g % 12 = 0 then null else ('00000000-0000-4000-8000-00000000000' || (g % 3))::uuid end
      from generate_series(1, ${ROWS}) g`.execute(admin)
    await sql`grant select on paged_keys to tessera_app`.execute(admin)
    h = await toolsetFor(db(), policy)
  })

  it.each(orderings)('pages exactly, without gaps or duplicates, by $name', async (ordering) => {
    const request = { model: 'Paged', where, select: [...ordering.select], orderBy: [...ordering.orderBy] }
    const all = await h.toolset.query(as(ALICE), { ...request, limit: 100 })
    expect(all.rows).toHaveLength(ROWS)
    h.queries.length = 0
    const paged: unknown[] = []
    let cursor: string | undefined
    for (let pages = 0; pages < ROWS; pages++) {
      const page = await h.toolset.query(as(ALICE), {
        ...request,
        limit: PAGE,
        ...(cursor === undefined ? {} : { cursor }),
      })
      paged.push(...page.rows)
      if (!page.hasMore) break
      expect(page.rows).toHaveLength(PAGE)
      cursor = page.nextCursor!
    }
    expect(paged).toEqual(all.rows)
    const selects = h.queries.filter((q) => q.includes('"paged_keys"') && !/^\s*(explain|prepare)/i.test(q))
    expect(selects).toHaveLength(Math.ceil(ROWS / PAGE))
    expect(selects.every((q) => q.includes('__tessera_k') === ordering.hidden)).toBe(true)
  })

  it('keeps microseconds of a timestamp key taken from the selected output', async () => {
    const first = await h.toolset.query(as(ALICE), {
      model: 'Paged',
      where: { field: 'at', op: 'is_null', value: false },
      select: ['id', 'at'],
      orderBy: [{ field: 'at' }],
      limit: 1,
    })
    expect(JSON.stringify(first.rows[0])).toMatch(/\.\d{6}/)
    const rest = await h.toolset.query(as(ALICE), {
      model: 'Paged',
      where: { field: 'at', op: 'is_null', value: false },
      select: ['id', 'at'],
      orderBy: [{ field: 'at' }],
      limit: 100,
      cursor: first.nextCursor!,
    })
    const expected = await sql<{ n: number }>`
      select count(*)::int as n from paged_keys where at is not null`.execute(db().admin)
    expect(1 + rest.rows.length).toBe(expected.rows[0]!.n)
    expect(rest.rows.some((r) => r.id === first.rows[0]!.id)).toBe(false)
  })
})
