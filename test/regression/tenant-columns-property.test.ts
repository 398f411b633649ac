/**
 * Property (hardening acceptance): for generated permissive/restrictive rule sets over a three-tenant schema,
 * no create or update through the toolset ever leaves a row whose tenant-like column differs from the caller's
 * claim (`principal.tenantId`), and a refused write changes nothing. Rules mix principal branches, literals,
 * hierarchy-style `IN` lists that name every tenant, NOT, and scoping on or off; policies the validator refuses
 * are skipped (and counted, so the property cannot pass vacuously).
 */
import fc from 'fast-check'
import { sql } from 'kysely'
import { beforeAll, expect, it } from 'vitest'
import type { Principal } from '../../src/context/index.ts'
import type { ModelPolicyInput, RowPolicyInput } from '../../src/policy/policy-schema.ts'
import { isTesseraError } from '../../src/errors/index.ts'
import { describeEachDatabase } from '../support/databases.ts'
import { toolsetFor } from '../support/toolset.ts'

const TENANTS = [
  '10000000-0000-4000-8000-000000000001',
  '20000000-0000-4000-8000-000000000002',
  '30000000-0000-4000-8000-000000000003',
] as const
const USERS = [
  '10000000-0000-4000-8000-0000000000a1',
  '20000000-0000-4000-8000-0000000000b1',
  '30000000-0000-4000-8000-0000000000c1',
] as const

const principal = (i: number): Principal => ({
  tenantId: TENANTS[i] as string,
  userId: USERS[i] as string,
  roles: ['member'],
  metadata: { tenants: [...TENANTS] },
})

const ATOMS = [
  'tenant_id = principal.tenantId',
  'org_id = principal.tenantId',
  'owner_id = principal.userId',
  'is_public = true',
  "label = 'x'",
  'tenant_id IN principal.metadata.tenants',
  'org_id IN principal.metadata.tenants',
  `tenant_id = '${TENANTS[1]}'`,
  'org_id IS NULL',
]

const condition: fc.Arbitrary<string> = fc.letrec<{ c: string }>((tie) => ({
  c: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constantFrom(...ATOMS),
    fc.tuple(tie('c'), tie('c')).map(([a, b]) => `(${a} OR ${b})`),
    fc.tuple(tie('c'), tie('c')).map(([a, b]) => `(${a} AND ${b})`),
    tie('c').map((a) => `NOT (${a})`),
  ),
})).c

// Permissive rules that reach other tenants load only with `crossTenant: true`; generating it half the time keeps
// the property about writes through widening rules (the point of the test) instead of about load errors.
const rule: fc.Arbitrary<Omit<RowPolicyInput, 'name'>> = fc.oneof(
  fc
    .record({ condition, crossTenant: fc.boolean() })
    .map(({ condition: c, crossTenant }) =>
      crossTenant
        ? { mode: 'permissive' as const, condition: c, crossTenant: true }
        : { mode: 'permissive' as const, condition: c },
    ),
  fc.record({ mode: fc.constant('restrictive' as const), condition }),
)

const policyArb = fc.record({
  scoped: fc.constantFrom(true, true, false),
  waiveOrg: fc.constantFrom(true, true, false),
  autoSetOwner: fc.boolean(),
  rules: fc.array(rule, { minLength: 1, maxLength: 3 }),
})

/**
 * A fixed seed (another can be tried with TESSERA_PROPERTY_SEED / _RUNS): rows are addressed in insertion order,
 * so a run is reproducible and the non-vacuity counts asserted below are facts about it, not luck. Seed 6 and 30
 * runs load 16 policies (16 permissive and 17 restrictive rules) and pass 27 writes (23 creates, 4 updates).
 */
const SEED = Number(process.env['TESSERA_PROPERTY_SEED'] ?? 6)
const RUNS = Number(process.env['TESSERA_PROPERTY_RUNS'] ?? 30)
const FIXED =
  process.env['TESSERA_PROPERTY_SEED'] === undefined && process.env['TESSERA_PROPERTY_RUNS'] === undefined

/** 'own' is the caller's own tenant (or user): written often, so that many writes pass and are checked. */
const OWN = 'own'
const ownOr = <T>(others: fc.Arbitrary<T>) =>
  fc.option(fc.oneof({ weight: 3, arbitrary: fc.constant(OWN) }, { weight: 2, arbitrary: others }), {
    nil: undefined,
  })
const writeArb = fc.record({
  as: fc.integer({ min: 0, max: 2 }),
  kind: fc.constantFrom('create' as const, 'update' as const),
  target: fc.nat(),
  tenant_id: ownOr(fc.constantFrom(...TENANTS)),
  org_id: ownOr(fc.constantFrom<string | null>(...TENANTS, null)),
  owner_id: ownOr(fc.constantFrom(...USERS)),
  is_public: fc.option(fc.boolean(), { nil: undefined }),
  label: fc.constantFrom('x', 'y'),
})

/**
 * Every run starts with an honest create (every column the caller's own), so each loaded policy is tried with a
 * create it should usually allow: random data alone lets few writes through.
 */
const honestCreate = fc.record({
  as: fc.integer({ min: 0, max: 2 }),
  kind: fc.constant('create' as const),
  target: fc.constant(0),
  tenant_id: fc.constant(OWN),
  org_id: fc.constant(OWN),
  owner_id: fc.constant(OWN),
  is_public: fc.option(fc.boolean(), { nil: undefined }),
  label: fc.constant('x'),
})
const writesArb = fc
  .tuple(honestCreate, fc.array(writeArb, { minLength: 1, maxLength: 6 }))
  .map(([first, rest]) => [first, ...rest])

describeEachDatabase('tenant columns of written rows (property)', (db) => {
  beforeAll(async () => {
    const admin = db().admin
    // `n` numbers rows in insertion order, so an update's target (an index into the rows) is the same row in
    // every run: with the fixed seed below the whole run is reproducible.
    await sql`create table ledgers (id uuid primary key default gen_random_uuid(), tenant_id uuid not null, org_id uuid,
      owner_id uuid, is_public boolean not null default false, label text, n serial not null)`.execute(admin)
    await sql`grant select, insert, update, delete on ledgers to tessera_app`.execute(admin)
    // Without it every create failed (permission denied for the sequence of \`n\`, INTERNAL_ERROR) and the
    // property was checked on updates only.
    await sql`grant usage on sequence ledgers_n_seq to tessera_app`.execute(admin)
    for (const [i, tenant] of TENANTS.entries()) {
      for (const isPublic of [true, false]) {
        await admin
          .insertInto('ledgers')
          .values({
            tenant_id: tenant,
            org_id: tenant,
            owner_id: USERS[(i + 1) % 3],
            is_public: isPublic,
            label: 'x',
          })
          .execute()
      }
      // Rows whose columns disagree: owned by one tenant's user, filed under another.
      await admin
        .insertInto('ledgers')
        .values({ tenant_id: tenant, org_id: TENANTS[(i + 1) % 3], owner_id: USERS[i], label: 'x' })
        .execute()
    }
  })

  it('never leaves a written row outside the caller tenant, whatever the rules', async () => {
    let loaded = 0
    let written = 0
    const passed = { create: 0, update: 0 }
    const modes = { permissive: 0, restrictive: 0 }
    await fc.assert(
      fc.asyncProperty(policyArb, writesArb, async (p, writes) => {
        const model: ModelPolicyInput = {
          table: 'ledgers',
          fields: {
            id: 'allow',
            tenant_id: 'allow',
            org_id: 'allow',
            owner_id: 'allow',
            is_public: 'allow',
            label: 'allow',
          },
          ...(p.scoped ? { scoping: { tenant_id: 'principal.tenantId' } } : {}),
          ...(p.waiveOrg ? { unscopedColumns: ['org_id'] } : {}),
          rowPolicies: p.rules.map((r, i) => ({ ...r, name: `r${i}` })),
          write: {
            create: 'allow',
            update: 'allow',
            ...(p.autoSetOwner ? { autoSet: { owner_id: 'principal.userId' } } : {}),
          },
        }
        let h
        try {
          h = await toolsetFor(db(), { models: { Ledger: model } })
        } catch (error) {
          if (isTesseraError(error) && error.code === 'POLICY_INVALID') return // not a loadable policy
          throw error
        }
        loaded++
        for (const r of p.rules) modes[r.mode ?? 'restrictive'] += 1
        const checked = p.waiveOrg ? ['tenant_id'] : ['tenant_id', 'org_id']
        const ids = (await db().admin.selectFrom('ledgers').select('id').orderBy('n').execute()).map(
          (r) => r.id,
        )
        for (const w of writes) {
          const data: Record<string, unknown> = { label: w.label }
          for (const key of ['tenant_id', 'org_id', 'owner_id', 'is_public'] as const) {
            const v = w[key]
            if (v === undefined || (key === 'owner_id' && p.autoSetOwner)) continue
            data[key] = v !== OWN ? v : key === 'owner_id' ? USERS[w.as] : TENANTS[w.as]
          }
          const before = await snapshot()
          const ctx = { principal: principal(w.as) }
          const r =
            w.kind === 'create'
              ? await h.toolset.call(ctx, 'db_create', { model: 'Ledger', data })
              : await h.toolset.call(ctx, 'db_update', {
                  model: 'Ledger',
                  id: ids[w.target % ids.length],
                  data,
                })
          if (!r.ok) {
            expect(await snapshot()).toEqual(before)
            continue
          }
          written++
          passed[w.kind] += 1
          const id = (r.data as { row: { id: string } }).row.id
          const row = await db()
            .admin.selectFrom('ledgers')
            .selectAll()
            .where('id', '=', id)
            .executeTakeFirstOrThrow()
          for (const column of checked)
            expect({ column, value: row[column] }).toEqual({ column, value: TENANTS[w.as] })
        }
      }),
      { numRuns: RUNS, seed: SEED },
    )
    // Random rule sets let few writes through; with the fixed seed the run is known to check these many.
    expect(loaded).toBeGreaterThanOrEqual(FIXED ? 16 : 3)
    expect(written).toBeGreaterThanOrEqual(FIXED ? 27 : 1)
    // Both kinds of write passed and were checked; the loaded policies held both kinds of rule.
    expect(passed.create).toBeGreaterThanOrEqual(FIXED ? 23 : 0)
    expect(passed.update).toBeGreaterThanOrEqual(FIXED ? 4 : 0)
    expect(modes.permissive).toBeGreaterThan(FIXED ? 10 : 0)
    expect(modes.restrictive).toBeGreaterThan(FIXED ? 10 : 0)
  }, 600_000)

  async function snapshot(): Promise<string> {
    const rows = await db().admin.selectFrom('ledgers').selectAll().orderBy('id').execute()
    return JSON.stringify(rows)
  }
})
