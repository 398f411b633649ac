/**
 * A sixth schema for the red team, unlike the SaaS fixture, the clinic, the payroll, the freight and the help
 * desk schemas: a marketplace in a schema whose name needs quoting's case (`Mkt`), tenants ("shops") keyed by
 * uuid.
 *
 * - `Mkt.categories`: a table shared in part — `shop_id` is **nullable**, NULL meaning a global category every
 *   shop sees; categories nest (`parent_id`, a self-reference the FK lets cross shops).
 * - `Mkt."Listing"`: a mixed-case table with a composite key (`"shopId"`, `"listingNo"`), columns named by
 *   reserved words (`select`, `order`, `user`, `from`), an enum and a domain column, jsonb and array columns,
 *   a generated column, defaults that call functions, soft delete spelled as a restrictive row policy
 *   (`deleted_at IS NULL`), a denied cost, and columns whose names collide with keys Tessera itself uses
 *   (`rows`, `nextCursor`, and the aliases of its own statements: `__tessera_raw0`, `__tessera_k0`,
 *   `__tessera_value`, `__tessera_check`).
 * - `Mkt.offers` and `Mkt.auction_offers`: table inheritance (the child inherits the parent's columns but not
 *   its primary key).
 * - A view over listings, and a 63-byte table name.
 *
 * Loaded into a copy of the fixture database by `loadMarket`.
 */
import { sql } from 'kysely'
import type { RunContext } from '../../src/context/index.ts'
import type { PolicyInput } from '../../src/policy/policy-schema.ts'
import { APP_ROLE, type TestDatabase } from './databases.ts'

export const SHOP_A = '5a000000-0000-4000-8000-00000000000a'
export const SHOP_B = '5b000000-0000-4000-8000-00000000000b'
/** Text only shop B's rows hold: an answer or error carrying it is a leak. */
export const B_SECRET = 'B-SECRET-supplier-cost-sheet'
/** A 63-byte table name. */
export const LONG_TABLE = 'shipping_rate_cards_negotiated_with_each_carrier_for_the_season'

export const SELLER_A: RunContext = { principal: { tenantId: SHOP_A, userId: 'seller-a', roles: ['seller'] } }
export const SELLER_B: RunContext = { principal: { tenantId: SHOP_B, userId: 'seller-b', roles: ['seller'] } }

export async function loadMarket(db: TestDatabase): Promise<void> {
  const admin = db.admin
  await sql`create schema "Mkt"`.execute(admin)
  await sql`grant usage on schema "Mkt" to ${sql.id(APP_ROLE)}`.execute(admin)
  await sql`create type "Mkt".listing_status as enum ('draft', 'live', 'Sold Out', 'it''s')`.execute(admin)
  await sql`create domain "Mkt".sku as text check (value ~ '^[A-Z0-9-]{1,32}$')`.execute(admin)
  await sql`create table "Mkt".categories (
    id int generated always as identity primary key, shop_id uuid, parent_id int references "Mkt".categories (id), name text not null,
    internal_note text
  )`.execute(admin)
  await sql`create table "Mkt"."Listing" (
    "shopId" uuid not null, "listingNo" int not null, title text not null, "select" text, "order" int,
    "user" text, "from" date, price numeric(10,2), cost numeric(10,2), tags text[] not null default '{}',
    attrs jsonb, status "Mkt".listing_status not null default 'draft', sku "Mkt".sku,
    price_cents bigint generated always as ((price * 100)::bigint) stored,
    slug text not null default md5(random()::text), created_at timestamptz not null default now(),
    category_id int references "Mkt".categories (id), deleted_at timestamptz,
    "rows" int, "nextCursor" text, __tessera_raw0 text, __tessera_k0 text, __tessera_value int, __tessera_check boolean,
    primary key ("shopId", "listingNo")
  )`.execute(admin)
  await sql`create table "Mkt".offers (
    shop_id uuid not null, id int not null, listing_no int not null, amount numeric(10,2) not null,
    buyer_note text, primary key (shop_id, id)
  )`.execute(admin)
  await sql`create table "Mkt".auction_offers (reserve numeric(10,2)) inherits ("Mkt".offers)`.execute(admin)
  await sql`create table "Mkt".${sql.id(LONG_TABLE)} (
    shop_id uuid not null, id int not null, carrier text not null, rate numeric(10,2), primary key (shop_id, id)
  )`.execute(admin)
  await sql`create view "Mkt".live_listings as select * from "Mkt"."Listing" where status = 'live'`.execute(
    admin,
  )
  await sql`grant select, insert, update, delete on all tables in schema "Mkt" to ${sql.id(APP_ROLE)}`.execute(
    admin,
  )
  await sql`insert into "Mkt".categories overriding system value values
    (1, null, null, 'Global root', 'global-note'),
    (2, ${SHOP_A}, 1, 'A shoes', 'a-note'),
    (3, ${SHOP_B}, 1, 'B secret line', ${B_SECRET}),
    (4, ${SHOP_A}, 3, 'A under B', 'a-under-b')`.execute(admin)
  await sql`alter table "Mkt".categories alter column id restart with 100`.execute(admin)
  await sql`insert into "Mkt"."Listing" ("shopId", "listingNo", title, "select", "order", "user", "from", price, cost, tags, attrs, status, sku, category_id, deleted_at, "rows", "nextCursor", __tessera_raw0, __tessera_k0, __tessera_value, __tessera_check) values
    (${SHOP_A}, 1, 'A boots', 'sel-a1', 1, 'u-a', '2026-01-01', 10.00, 4.00, '{winter}', '{"size": 42}', 'live', 'A-1', 2, null, 7, 'nc-a1', 'raw-a1', 'k-a1', 100, false),
    (${SHOP_A}, 2, 'A sandals', null, 2, null, null, 20.00, 5.00, '{}', null, 'draft', null, 1, null, null, null, null, null, null, null),
    (${SHOP_A}, 3, 'A deleted', 'sel-a3', 3, 'u-a', null, 30.00, 6.00, '{}', null, 'live', 'A-3', 2, now(), 1, null, 'raw-a3', null, 300, true),
    (${SHOP_B}, 1, 'B boots', 'sel-b1', 1, 'u-b', '2026-01-02', 99.00, ${77.77}, '{b-only}', ${JSON.stringify({ secret: B_SECRET })}, 'live', 'B-1', 3, null, 9, 'nc-b1', ${B_SECRET}, 'k-b1', 900, true)`.execute(
    admin,
  )
  await sql`insert into "Mkt".offers values (${SHOP_A}, 1, 1, 5.00, 'a-offer'), (${SHOP_B}, 1, 1, 50.00, ${B_SECRET})`.execute(
    admin,
  )
  // The child table does not inherit the parent's primary key: id 1 exists twice in shop A's offers.
  await sql`insert into "Mkt".auction_offers values (${SHOP_A}, 1, 1, 6.00, 'a-auction', 8.00), (${SHOP_B}, 2, 1, 60.00, ${B_SECRET}, 70.00)`.execute(
    admin,
  )
  await sql`insert into "Mkt".${sql.id(LONG_TABLE)} values (${SHOP_A}, 1, 'DHL', 4.50), (${SHOP_B}, 1, 'UPS', 9.99)`.execute(
    admin,
  )
}

/** The marketplace policy: what a careful host writes for it. */
export function marketPolicy(): PolicyInput {
  return {
    models: {
      Category: {
        table: 'Mkt.categories',
        rowPolicies: [
          { name: 'own', mode: 'permissive', condition: 'shop_id = principal.tenantId' },
          { name: 'global', mode: 'permissive', condition: 'shop_id IS NULL', crossTenant: true },
        ],
        fields: { id: 'allow', shop_id: 'allow', parent_id: 'allow', name: 'allow', internal_note: 'deny' },
        relations: {
          parent: { model: 'Category', foreignKey: 'parent_id' },
          listings: { model: 'Listing', foreignKey: 'category_id' },
        },
        write: { create: 'allow', update: 'allow', autoSet: { shop_id: 'principal.tenantId' } },
      },
      Listing: {
        table: 'Mkt.Listing',
        scoping: { shopId: 'principal.tenantId' },
        rowPolicies: [{ name: 'not_deleted', condition: 'deleted_at IS NULL' }],
        defaultFieldAction: 'allow',
        fields: {
          cost: 'deny',
          sku: 'mask',
          attrs: { action: 'allow', untrusted: true },
          // Names Tessera's own statements use for result columns: a visible one does not load.
          __tessera_raw0: 'deny',
          __tessera_k0: 'deny',
          __tessera_value: 'deny',
          __tessera_check: 'deny',
        },
        relations: { category: { model: 'Category', foreignKey: 'category_id' } },
        aggregations: { fields: ['price', 'order'], groupBy: ['status', 'order'] },
        write: {
          create: 'allow',
          update: 'allow',
          delete: 'allow',
          autoSet: { shopId: 'principal.tenantId' },
          immutableFields: ['listingNo'],
        },
      },
      Offer: {
        table: 'Mkt.offers',
        scoping: { shop_id: 'principal.tenantId' },
        fields: { shop_id: 'allow', id: 'allow', listing_no: 'allow', amount: 'allow', buyer_note: 'allow' },
        // Update and delete name rows by a primary key the inheritance child does not have: they do not load.
        write: { create: 'allow', autoSet: { shop_id: 'principal.tenantId' } },
      },
      RateCard: {
        table: `Mkt.${LONG_TABLE}`,
        scoping: { shop_id: 'principal.tenantId' },
        fields: { shop_id: 'allow', id: 'allow', carrier: 'allow', rate: 'mask' },
      },
    },
  }
}
