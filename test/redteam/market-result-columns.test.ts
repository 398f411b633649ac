/**
 * Red team, marketplace schema (test/support/market.ts): two ways the host's schema broke what Tessera's
 * statements assume about their own results.
 *
 * - A host column named like a result column of Tessera's statements (`__tessera_raw1`, `__tessera_value`, …)
 *   and visible to the caller came back holding Tessera's value: node-postgres keeps the last of two columns
 *   with one name. An update returned, under `__tessera_raw1`, the raw value of the hashed column its write check
 *   reads; `sum(price)` grouped by `__tessera_value` answered the group keys as the sums. Such a field (or
 *   relation) no longer loads unless it is denied.
 * - A table with inheritance children: they do not inherit its primary key, so `update … where key = k`
 *   changed the parent's row and a child's, and the call said one row was written (the audit too). Update and
 *   delete on such a table no longer load; a write that reaches more rows than the keys it names is refused and
 *   rolled back.
 */
import { sql } from 'kysely'
import { beforeAll, expect, it } from 'vitest'
import type { PolicyInput } from '../../src/policy/policy-schema.ts'
import { describeEachDatabase } from '../support/databases.ts'
import { loadMarket, marketPolicy, SELLER_A, SHOP_A } from '../support/market.ts'
import { type ToolsetHarness, toolsetFor } from '../support/toolset.ts'

type Models = Record<string, Record<string, unknown>>

/** The marketplace policy (denying the column this file adds) with `change` applied to a copy of its models. */
function policyWith(change: (models: Models) => void = () => {}): PolicyInput {
  const policy = structuredClone(marketPolicy())
  const models = policy.models as unknown as Models
  ;(models['Listing'] as { fields: Record<string, unknown> }).fields['__tessera_raw1'] = 'deny'
  change(models)
  return policy
}

describeEachDatabase('red team on the marketplace schema: result columns the host schema shadows', (db) => {
  let h: ToolsetHarness
  let plain: ToolsetHarness
  /** The problems a policy fails to load with, as `path: message` lines. */
  const loadProblems = async (policy: PolicyInput): Promise<string[]> => {
    try {
      // In `app` mode: under `rls` the harness would take the file's installed policies off before binding fails.
      await toolsetFor(db(), policy, { schemas: ['Mkt'], enforcement: 'app' })
    } catch (e) {
      const problems = (e as { details?: { problems?: { path: string; message: string }[] } }).details
        ?.problems
      if (problems !== undefined) return problems.map((p) => `${p.path}: ${p.message}`)
      throw e
    }
    return []
  }

  beforeAll(async () => {
    await loadMarket(db())
    // The raw value the update leaked: a hashed column its write check reads (a restrictive rule on it).
    await sql`alter table "Mkt"."Listing" add column __tessera_raw1 text`.execute(db().admin)
    h = await toolsetFor(db(), policyWith(), { schemas: ['Mkt'] })
    // Without the soft-delete rule a plain update's check is decided from `data`: it commits with its statement.
    // In `app` mode whatever the suite's: the harness would re-bind an rls policy after the schema changed.
    plain = await toolsetFor(
      db(),
      policyWith((m) => {
        ;(m['Listing'] as { rowPolicies: unknown[] }).rowPolicies = []
      }),
      { schemas: ['Mkt'], enforcement: 'app' },
    )
  })

  it('refuses to load a visible field or a relation named like a column of Tessera’s own statements', async () => {
    const exposed = policyWith((m) => {
      const listing = m['Listing'] as { fields: Record<string, unknown>; rowPolicies: unknown[] }
      for (const name of [
        '__tessera_raw0',
        '__tessera_raw1',
        '__tessera_k0',
        '__tessera_value',
        '__tessera_check',
      ]) {
        delete listing.fields[name]
      }
      listing.fields['sku'] = 'hash'
      listing.rowPolicies.unshift({ name: 'sku_ok', condition: "sku IS NULL OR sku != 'BANNED'" })
      ;(m['Category'] as { relations: Record<string, unknown> })['relations'] = {
        __tessera_k0: { model: 'Category', foreignKey: 'parent_id' },
      }
    })
    const problems = await loadProblems(exposed)
    for (const [path, name] of [
      ['models.Listing.fields.__tessera_raw0', '__tessera_raw0'],
      ['models.Listing.fields.__tessera_raw1', '__tessera_raw1'],
      ['models.Listing.fields.__tessera_k0', '__tessera_k0'],
      ['models.Listing.fields.__tessera_value', '__tessera_value'],
      ['models.Listing.fields.__tessera_check', '__tessera_check'],
    ]) {
      expect(problems).toContain(
        `${path}: column '${name}' of table 'Mkt.Listing' has a name Tessera uses for columns of its own statements ('__tessera…'), so its values could not be told from Tessera's; deny it or rename it`,
      )
    }
    expect(problems).toContain(
      "models.Category.relations.__tessera_k0: relation '__tessera_k0' has a name Tessera uses for columns of its own statements ('__tessera…'); rename it",
    )
    expect(problems).toHaveLength(6)
  })

  it('keeps reads, writes and aggregates exact when the host denies the columns named like Tessera’s own', async () => {
    // Denied, the columns are never selected under their own names: reads, writes and aggregates are exact.
    const row = (await h.toolset.update(SELLER_A, {
      model: 'Listing',
      id: { shopId: SHOP_A, listingNo: 1 },
      data: { title: 'A boots v2' },
    })) as { row: Record<string, unknown> }
    expect(Object.keys(row.row).filter((k) => k.startsWith('__tessera'))).toEqual([])
    expect(row.row['sku']).toBe('****')
    const sums = await h.toolset.aggregate(SELLER_A, {
      model: 'Listing',
      op: 'sum',
      field: 'price',
      groupBy: ['order'],
    })
    expect(sums).toEqual({
      groups: [
        { key: { order: 1 }, value: '10.00' },
        { key: { order: 2 }, value: '20.00' },
      ],
    })
  })

  it('refuses update and delete on a table with inheritance children, whose key can name several rows', async () => {
    const writable = policyWith((m) => {
      ;(m['Offer'] as { write: Record<string, unknown> }).write = {
        update: 'allow',
        delete: 'allow',
        autoSet: { shop_id: 'principal.tenantId' },
      }
    })
    expect(await loadProblems(writable)).toEqual([
      "models.Offer.write.update: table 'Mkt.offers' has inheritance children, which do not inherit its primary key, so one key can name several rows; update is allowed only on a table without them (model the child tables, or set update: deny)",
      "models.Offer.write.delete: table 'Mkt.offers' has inheritance children, which do not inherit its primary key, so one key can name several rows; delete is allowed only on a table without them (model the child tables, or set delete: deny)",
    ])
    // Reads list the child's rows as the parent's, as PostgreSQL does: both of shop A's offers with id 1.
    const offers = await h.toolset.query(SELLER_A, { model: 'Offer', select: ['id', 'buyer_note'] })
    expect(offers.rows.map((r) => r['buyer_note']).sort()).toEqual(['a-auction', 'a-offer'])
  })

  it('rolls back an update that reached more rows than it named, when a child table appeared after start-up', async () => {
    // The schema changes under a running toolset: shop A's listing 2 gets a twin in a new child table.
    await sql`create table "Mkt".listing_archive () inherits ("Mkt"."Listing")`.execute(db().admin)
    await sql`grant select, insert, update, delete on "Mkt".listing_archive to tessera_app`.execute(
      db().admin,
    )
    await sql`insert into "Mkt".listing_archive ("shopId", "listingNo", title) values (${SHOP_A}, 2, 'A sandals 2025')`.execute(
      db().admin,
    )
    const titles = async () =>
      (
        await sql<{
          title: string
        }>`select title from "Mkt"."Listing" where "shopId" = ${SHOP_A} and "listingNo" = 2 order by title`.execute(
          db().admin,
        )
      ).rows.map((r) => r.title)
    // An update that sets a reference keeps its transaction: refused after its statement, rolled back. One that
    // sets none may commit with its one statement, which therefore writes nothing when it locked more rows than
    // keys (NOT_FOUND): before, it committed both rows and answered MAX_AFFECTED_ROWS_EXCEEDED, audited as denied.
    for (const [harness, data, code] of [
      [h, { title: 'overwritten', category_id: 2 }, 'MAX_AFFECTED_ROWS_EXCEEDED'],
      [h, { title: 'overwritten' }, 'NOT_FOUND'],
      [plain, { title: 'overwritten' }, 'NOT_FOUND'],
    ] as const) {
      const r = await harness.toolset.call(SELLER_A, 'db_update', {
        model: 'Listing',
        id: { shopId: SHOP_A, listingNo: 2 },
        data,
      })
      expect(r.ok ? r.data : r.error.code, JSON.stringify(data)).toBe(code)
      expect(await titles()).toEqual(['A sandals', 'A sandals 2025'])
    }
    const d = await h.toolset.call(SELLER_A, 'db_delete', {
      model: 'Listing',
      id: { shopId: SHOP_A, listingNo: 2 },
    })
    expect(d.ok ? d.data : d.error.code).toBe('MAX_AFFECTED_ROWS_EXCEEDED')
    expect(await titles()).toEqual(['A sandals', 'A sandals 2025'])
    await sql`drop table "Mkt".listing_archive`.execute(db().admin)
  })
})
