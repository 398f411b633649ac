/**
 * Red team, marketplace schema (test/support/market.ts): `tessera init` on it. The tenant column is spelled
 * `"shopId"` on the ORM-made listings table and `shop_id` everywhere else, and no table has a column init
 * recognises, so the operator names it with `--tenant-column`. Naming either spelling matched only that one
 * exactly: the other tables came out `shared: true`, every shop's offers, categories and rate cards readable by
 * every other shop. And an inheritance child (no primary key of its own) made the generated policy fail its own
 * check, so init wrote nothing. Both spellings now name the column, and a table without a primary key is
 * skipped with the reason; columns named like Tessera's own result columns are denied.
 */
import { beforeAll, expect, it } from 'vitest'
import { parse } from 'yaml'
import { starterPolicy } from '../../src/cli/starter-policy.ts'
import { bindPolicy, parsePolicy } from '../../src/policy/index.ts'
import { introspectSchema, type DbSchema } from '../../src/schema/index.ts'
import { APP_ROLE, describeEachDatabase } from '../support/databases.ts'
import { loadMarket } from '../support/market.ts'

describeEachDatabase('red team on the marketplace schema: tessera init', (db) => {
  let schema: DbSchema

  beforeAll(async () => {
    await loadMarket(db())
    schema = await introspectSchema(db().admin, { role: APP_ROLE, schemas: ['Mkt'] })
  })

  it('scopes every spelling of the named tenant column and writes no tenant table as shared', async () => {
    for (const tenantColumn of ['shopId', 'shop_id']) {
      const starter = starterPolicy(schema, 'the marketplace', { tenantColumn })
      const policy = parsePolicy(parse(starter.text), 'starter')
      // It loads as written: what init writes passes `tessera check` unchanged.
      bindPolicy(policy, schema)
      const scoping = Object.fromEntries(
        Object.values(policy.models).map((m) => [
          m.table,
          m.shared ? 'shared' : m.scoping.map((s) => s.column).join(','),
        ]),
      )
      expect(scoping, tenantColumn).toEqual({
        'Mkt.Listing': 'shopId',
        'Mkt.categories': 'shop_id',
        'Mkt.offers': 'shop_id',
        'Mkt.shipping_rate_cards_negotiated_with_each_carrier_for_the_season': 'shop_id',
      })
      expect(starter.skipped).toEqual([
        {
          table: 'Mkt.auction_offers',
          reason: 'no primary key, which get and pages need: add one, then re-run init',
        },
      ])
      const listing = Object.values(policy.models).find((m) => m.table === 'Mkt.Listing')
      for (const name of ['__tessera_raw0', '__tessera_k0', '__tessera_value', '__tessera_check']) {
        expect(listing?.fields[name]?.action, name).toBe('deny')
      }
    }
  })
})
