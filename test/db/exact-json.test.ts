/**
 * json and jsonb values keep every number exactly (src/executor/exact-json.ts): a number a double cannot hold
 * arrives as its decimal text, never rounded — in rows, includes' parent rows, json arrays and the before/after
 * images of a write — while ordinary numbers stay numbers.
 */
import { sql } from 'kysely'
import { beforeAll, expect, it } from 'vitest'
import type { PolicyInput } from '../../src/policy/policy-schema.ts'
import { describeEachDatabase } from '../support/databases.ts'
import { ALICE, as } from '../support/saas.ts'
import { type ToolsetHarness, toolsetFor } from '../support/toolset.ts'

const A = 'a0000000-0000-4000-8000-000000000000'

const DOCS_SQL = `
create table ledger_docs (
  id integer primary key,
  tenant_id uuid not null,
  body jsonb,
  raw json,
  history jsonb[]
);
grant select, insert, update on ledger_docs to tessera_app;
insert into ledger_docs values
 (1, '${A}',
  '{"tweet": 1234567890123456789, "safe": 9007199254740991, "small": 42, "pi": 3.14159265358979323846,
    "price": 19.99, "big": 1e21, "nested": [{"id": 18446744073709551615}], "text": "12345678901234567890 \\" 1e400",
    "neg": -98765432109876543210}',
  '{"huge": 1E400, "tiny": 1e-400, "keep": 1.5e10, "id": 12345678901234567890}',
  array['{"n": 123456789012345678}'::jsonb, '7'::jsonb, null]),
 (2, '${A}', '[1, 2.5, -0, 0.1]', '"plain"', null)`

const policy: PolicyInput = {
  models: {
    LedgerDoc: {
      table: 'ledger_docs',
      fields: {
        id: { action: 'allow', acceptGlobalUnique: true },
        body: 'allow',
        raw: 'allow',
        history: 'allow',
      },
      scoping: { tenant_id: 'principal.tenantId' },
      write: { create: 'allow', update: 'allow', autoSet: { tenant_id: 'principal.tenantId' } },
    },
  },
}

describeEachDatabase('json and jsonb numbers a double cannot hold', (db) => {
  let h: ToolsetHarness
  beforeAll(async () => {
    for (const statement of DOCS_SQL.split(';')) await sql.raw(statement).execute(db().admin)
    // Tessera's dialect hands node-postgres the exact parsers; a plain PostgresDialect keeps JSON.parse.
    h = await toolsetFor(db(), policy, {}, 'tessera')
  })

  async function doc(id: number): Promise<Record<string, unknown>> {
    const r = await h.toolset.query(as(ALICE), {
      model: 'LedgerDoc',
      where: { field: 'id', op: 'eq', value: id },
    })
    const row = r.rows[0]
    if (row === undefined) throw new Error(`no row ${id}`)
    return row
  }

  it('returns jsonb integers beyond 2^53 as their exact decimal text and keeps safe numbers as numbers', async () => {
    const body = (await doc(1))['body'] as Record<string, unknown>
    expect(body['tweet']).toBe('1234567890123456789')
    expect(body['neg']).toBe('-98765432109876543210')
    expect(body['nested']).toEqual([{ id: '18446744073709551615' }])
    expect(body['safe']).toBe(9007199254740991)
    expect(body['small']).toBe(42)
    expect(body['price']).toBe(19.99)
    // 1e21 is exactly a double: it stays a number (jsonb prints it as 22 digits).
    expect(body['big']).toBe(1e21)
  })

  it('returns a decimal with more digits than a double holds as text, digit for digit', async () => {
    const body = (await doc(1))['body'] as Record<string, unknown>
    expect(body['pi']).toBe('3.14159265358979323846')
  })

  it('leaves digits inside JSON strings alone', async () => {
    const body = (await doc(1))['body'] as Record<string, unknown>
    expect(body['text']).toBe('12345678901234567890 " 1e400')
  })

  it('returns json (text-preserving) numbers that would overflow or underflow a double as their text', async () => {
    const raw = (await doc(1))['raw'] as Record<string, unknown>
    expect(raw).toEqual({ huge: '1E400', tiny: '1e-400', keep: 1.5e10, id: '12345678901234567890' })
  })

  it('applies the same rule to every element of a jsonb array column', async () => {
    expect((await doc(1))['history']).toEqual([{ n: '123456789012345678' }, 7, null])
  })

  it('keeps ordinary documents exactly as JSON.parse reads them', async () => {
    const row = await doc(2)
    expect(row['body']).toEqual([1, 2.5, 0, 0.1])
    expect(row['raw']).toBe('plain')
    expect(row['history']).toBeNull()
  })

  it('shows the exact text in the after image of a write, and stores what the caller sent', async () => {
    const created = await h.toolset.create(as(ALICE), {
      model: 'LedgerDoc',
      data: { id: 3, body: { account: '12345678901234567890', n: 5 } },
    })
    expect(created.row?.['body']).toEqual({ account: '12345678901234567890', n: 5 })
    const updated = await h.toolset.update(as(ALICE), {
      model: 'LedgerDoc',
      id: 1,
      data: { raw: { id: 7 } },
    })
    expect((updated.row?.['body'] as Record<string, unknown>)['tweet']).toBe('1234567890123456789')
    const stored = await sql<{
      body: string
    }>`select body::text as body from ledger_docs where id = 1`.execute(db().admin)
    // The untouched jsonb column was not rewritten through a rounded copy.
    expect(stored.rows[0]?.body).toContain('"tweet": 1234567890123456789')
  })
})
