/**
 * Red team, marketplace schema (test/support/market.ts): the statement templates are cached per Kysely
 * instance and request shape (src/sql/statement-cache.ts), and a row policy's literals became fixed parameters
 * of a template (docs/decisions.md). A host that builds several toolsets over one Kysely — one per product
 * tier, say — gets policies that differ only in a literal, a literal list, a mask style or a field action on
 * the same model and table. Were any of those missing from the shape key, one toolset would read through
 * another's template: another policy's rows or another policy's unmasked values. Held: each reads its own
 * answer, call after call, in any order — for reads, and for the creates and updates whose templates are keyed
 * by their returning list (src/sql/write-statement-cache.ts) and their write check.
 */
import { Kysely, PostgresDialect } from 'kysely'
import { beforeAll, expect, it } from 'vitest'
import { createTesseraDialect } from '../../src/executor/index.ts'
import { definePolicy } from '../../src/policy/define-policy.ts'
import type { PolicyInput } from '../../src/policy/policy-schema.ts'
import { createToolset, type Toolset } from '../../src/tools/create-toolset.ts'
import { describeEachDatabase } from '../support/databases.ts'
import { loadMarket, marketPolicy, SELLER_A, SHOP_A } from '../support/market.ts'
import { TEST_SECRET } from '../support/saas.ts'

interface ListingPolicy {
  fields: Record<string, unknown>
  rowPolicies: unknown[]
}

/** Each variant of the Listing model, and what shop A's listings 1 and 2 read as through it. */
const VARIANTS: [(listing: ListingPolicy) => void, string[]][] = [
  [(l) => l.rowPolicies.push({ name: 'v', condition: "status != 'draft'" }), ['1:A boots']],
  [(l) => l.rowPolicies.push({ name: 'v', condition: "status != 'live'" }), ['2:A sandals']],
  [(l) => l.rowPolicies.push({ name: 'v', condition: 'order != 1' }), ['2:A sandals']],
  [(l) => l.rowPolicies.push({ name: 'v', condition: 'order != 2' }), ['1:A boots']],
  [(l) => l.rowPolicies.push({ name: 'v', condition: 'order NOT IN (1, 2)' }), []],
  [(l) => l.rowPolicies.push({ name: 'v', condition: 'order NOT IN (2)' }), ['1:A boots']],
  [(l) => (l.fields['title'] = { action: 'mask', writable: true }), ['1:A*****s', '2:A*******s']],
  [(l) => (l.fields['title'] = { action: 'mask', style: 'full', writable: true }), ['1:****', '2:****']],
  [(l) => (l.fields['title'] = 'allow'), ['1:A boots', '2:A sandals']],
]

describeEachDatabase('red team on the marketplace schema: toolsets sharing one Kysely', (db) => {
  const toolsets: Toolset[] = []

  beforeAll(async () => {
    await loadMarket(db())
    // One instance for all, with the dialect toolsetFor gives each engine (test/support/toolset.ts).
    const shared = new Kysely<unknown>({
      dialect:
        db().kind === 'postgres'
          ? createTesseraDialect({ pool: db().appPool })
          : new PostgresDialect({ pool: db().appPool }),
    })
    for (const [change] of VARIANTS) {
      const policy: PolicyInput = structuredClone(marketPolicy())
      change(policy.models['Listing'] as unknown as ListingPolicy)
      const role = db().appRole
      toolsets.push(
        await createToolset({
          db: shared,
          policy: definePolicy(policy),
          secret: TEST_SECRET,
          schemas: ['Mkt'],
          ...(role === undefined ? {} : { role }),
        }),
      )
    }
  })

  it('reads each policy’s own rows and values through templates of the same shape, in any order', async () => {
    const read = async (t: Toolset): Promise<string[]> =>
      (await t.query(SELLER_A, { model: 'Listing', select: ['listingNo', 'title'] })).rows.map(
        (r) => `${String(r['listingNo'])}:${String(r['title'])}`,
      )
    const expected = VARIANTS.map(([, rows]) => rows)
    for (const order of [VARIANTS.map((_, i) => i), VARIANTS.map((_, i) => VARIANTS.length - 1 - i)]) {
      const got: string[][] = new Array<string[]>(VARIANTS.length)
      for (const i of order) got[i] = await read(toolsets[i] as Toolset)
      expect(got).toEqual(expected)
    }
  })

  it('writes through each policy’s own write check and returns each policy’s own masks, in any order', async () => {
    /** Shop A updates listings 1 (live, order 1) and 2 (draft, order 2), then creates one (live, order 7). */
    const write = async (t: Toolset, i: number, round: number): Promise<string[]> => {
      const out: string[] = []
      for (const listingNo of [1, 2]) {
        const r = await t.call(SELLER_A, 'db_update', {
          model: 'Listing',
          id: { shopId: SHOP_A, listingNo },
          data: { title: `T${listingNo}v${i}r${round}` },
        })
        out.push(r.ok ? String((r.data as { row: Record<string, unknown> }).row['title']) : r.error.code)
      }
      const c = await t.call(SELLER_A, 'db_create', {
        model: 'Listing',
        data: { listingNo: 100 + 10 * round + i, title: `Create${i}r${round}`, status: 'live', order: 7 },
      })
      out.push(c.ok ? String((c.data as { row: Record<string, unknown> }).row['title']) : c.error.code)
      return out
    }
    /** Per variant: may listing 1, listing 2 and the new row be written (its write check), and the title's mask. */
    const WRITES: [boolean, boolean, boolean, 'auto' | 'full' | 'none'][] = [
      [true, false, true, 'none'],
      [false, true, false, 'none'],
      [false, true, true, 'none'],
      [true, false, true, 'none'],
      [false, false, true, 'none'],
      [true, false, true, 'none'],
      [true, true, true, 'auto'],
      [true, true, true, 'full'],
      [true, true, true, 'none'],
    ]
    const mask = (text: string, style: 'auto' | 'full' | 'none'): string =>
      style === 'none'
        ? text
        : style === 'full'
          ? '****'
          : `${text[0]}${'*'.repeat(text.length - 2)}${text.at(-1)}`
    const expected = (i: number, round: number): string[] => {
      const [one, two, create, style] = WRITES[i] as (typeof WRITES)[number]
      return [
        one ? mask(`T1v${i}r${round}`, style) : 'NOT_FOUND',
        two ? mask(`T2v${i}r${round}`, style) : 'NOT_FOUND',
        create ? mask(`Create${i}r${round}`, style) : 'VALIDATION_ERROR',
      ]
    }
    for (const [round, order] of [
      VARIANTS.map((_, i) => i),
      VARIANTS.map((_, i) => VARIANTS.length - 1 - i),
    ].entries()) {
      for (const i of order) {
        expect(await write(toolsets[i] as Toolset, i, round), `variant ${i}, round ${round}`).toEqual(
          expected(i, round),
        )
      }
    }
  })
})
