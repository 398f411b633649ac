/**
 * Red team, marketplace schema (test/support/market.ts): the statement templates are cached per Kysely
 * instance and request shape (src/sql/statement-cache.ts), and a row policy's literals became fixed parameters
 * of a template (docs/decisions.md). A host that builds several toolsets over one Kysely — one per product
 * tier, say — gets policies that differ only in a literal, a literal list, a mask style or a field action on
 * the same model and table. Were any of those missing from the shape key, one toolset would read through
 * another's template: another policy's rows or another policy's unmasked values. Held: each reads its own
 * answer, call after call, in any order.
 */
import { Kysely, PostgresDialect } from 'kysely'
import { beforeAll, expect, it } from 'vitest'
import { createTesseraDialect } from '../../src/executor/index.ts'
import { definePolicy } from '../../src/policy/define-policy.ts'
import type { PolicyInput } from '../../src/policy/policy-schema.ts'
import { createToolset, type Toolset } from '../../src/tools/create-toolset.ts'
import { describeEachDatabase } from '../support/databases.ts'
import { loadMarket, marketPolicy, SELLER_A } from '../support/market.ts'
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
  [(l) => (l.fields['title'] = 'mask'), ['1:A*****s', '2:A*******s']],
  [(l) => (l.fields['title'] = { action: 'mask', style: 'full' }), ['1:****', '2:****']],
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
})
