/**
 * Red team, marketplace schema (test/support/market.ts): `tessera check --rls rls` judged a model on an
 * inheritance CHILD safe while the role could read the child's rows through its PARENT. Policies apply to the
 * table a statement names: `select … from "Mkt".offers` reaches every row of `"Mkt".auction_offers` under the
 * parent's policies — none, with RLS off there — so a client of the application role with shop A's claims read
 * shop B's auction offers, under a green posture check (it looked at a model table's children, views and
 * triggers, never its parents). Such a parent is now named (`parent_bypasses_rls`): an error when the database
 * is the only wall, and satisfied by a revoke or by RLS on the parent.
 */
import { sql } from 'kysely'
import { beforeAll, expect, it } from 'vitest'
import { bindPolicy, definePolicy, type BoundPolicy } from '../../src/policy/index.ts'
import { applyRls, generateRls, inspectRlsPosture, type GeneratedRls } from '../../src/rls/index.ts'
import { introspectSchema } from '../../src/schema/index.ts'
import { APP_ROLE, describeEachDatabase } from '../support/databases.ts'
import { B_SECRET, loadMarket, SHOP_A } from '../support/market.ts'

describeEachDatabase('red team on the marketplace schema: a model table’s inheritance parent', (db) => {
  let bound: BoundPolicy
  let generated: GeneratedRls

  beforeAll(async () => {
    await loadMarket(db())
    // The child gets a key of its own, so it can be a model; the parent is left as migrations left it.
    await sql`delete from "Mkt".auction_offers where shop_id = ${SHOP_A}`.execute(db().admin)
    await sql`alter table "Mkt".auction_offers add primary key (shop_id, id)`.execute(db().admin)
    await sql`insert into "Mkt".auction_offers values (${SHOP_A}, 5, 1, 6.00, 'a-auction', 8.00)`.execute(
      db().admin,
    )
    bound = bindPolicy(
      definePolicy({
        models: {
          AuctionOffer: {
            table: 'Mkt.auction_offers',
            scoping: { shop_id: 'principal.tenantId' },
            fields: { shop_id: 'allow', id: 'allow', listing_no: 'allow', amount: 'allow', reserve: 'allow' },
          },
        },
      }),
      await introspectSchema(db().admin, { role: APP_ROLE, schemas: ['Mkt'] }),
    )
    generated = generateRls(bound)
    await applyRls(db().admin, generated)
  })

  /** buyer_note of the auction offers a client of the role reads from `from`, with shop A's claims. */
  const notesSeen = (from: string): Promise<string[]> =>
    db()
      .app.transaction()
      .execute(async (trx) => {
        if (db().appRole !== undefined) await sql`select set_config('role', ${APP_ROLE}, true)`.execute(trx)
        await sql`select set_config('tessera.tenant_id', ${SHOP_A}, true)`.execute(trx)
        const r = await sql<{
          note: string
        }>`select buyer_note as note from ${sql.raw(from)} where tableoid = '"Mkt".auction_offers'::regclass order by 1`.execute(
          trx,
        )
        return r.rows.map((x) => x.note)
      })

  const parentFindings = async () => {
    const role = db().appRole
    const report = await inspectRlsPosture(db().app, bound, generated, {
      enforcement: 'rls',
      ...(role === undefined ? {} : { role }),
    })
    return report.findings
      .filter((f) => f.code === 'parent_bypasses_rls')
      .map((f) => ({ severity: f.severity, table: f.table, message: f.message }))
  }

  it('names a parent the role may read, through which another shop’s child rows come back', async () => {
    expect(await notesSeen('"Mkt".auction_offers')).toEqual(['a-auction'])
    expect(await notesSeen('"Mkt".offers')).toEqual([B_SECRET, 'a-auction'])
    expect(await parentFindings()).toEqual([
      {
        severity: 'error',
        table: 'Mkt.auction_offers',
        message: expect.stringMatching(
          /^"Mkt"\.offers is an inheritance parent of Mkt\.auction_offers that row-level security does not guard for role 'tessera_app'.*; REVOKE ALL ON "Mkt"\.offers FROM tessera_app, /,
        ) as unknown,
      },
    ])
  })

  it('is satisfied by RLS on the parent or by a revoke', async () => {
    await sql`alter table "Mkt".offers enable row level security, force row level security`.execute(
      db().admin,
    )
    expect(await notesSeen('"Mkt".offers')).toEqual([])
    expect(await parentFindings()).toEqual([])
    await sql`alter table "Mkt".offers disable row level security`.execute(db().admin)
    expect(await parentFindings()).toHaveLength(1)
    await sql`revoke all on "Mkt".offers from ${sql.id(APP_ROLE)}`.execute(db().admin)
    expect(await parentFindings()).toEqual([])
  })
})
