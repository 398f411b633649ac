/**
 * Red team, freight schema: a value the field policy hides must not come back through a column the database
 * derives from it. Found: a stored generated column computed from a masked or denied column
 * (`value_per_kg = declared_value / weight_kg`, `volume_m3 = weight_kg / 100`) was readable in clear, so
 * `value_per_kg × weight_kg` gave back the masked declared value; and a CHECK constraint comparing a column the
 * caller updates with a hidden one (`insured_value <= declared_value`) answered a guessed value with success or
 * "breaks a rule of the table" — a binary search recovers the hidden value of every row. Both are refused when
 * the policy binds (POLICY_INVALID naming the field and the column it would reveal), like the unique-key and
 * foreign-key oracles (docs/decisions.md, "Values the database derives from hidden columns").
 */
import { sql } from 'kysely'
import { beforeAll, expect, it } from 'vitest'
import type { PolicyInput } from '../../src/policy/policy-schema.ts'
import { TesseraError } from '../../src/errors/index.ts'
import { describeEachDatabase } from '../support/databases.ts'
import { DISPATCH_A, freightPolicy, loadFreight, LONG_TABLE, SHIP_A1 } from '../support/freight.ts'
import { toolsetFor } from '../support/toolset.ts'

type Fields = Record<string, unknown>
type Write = Record<string, unknown>

/** The freight policy with Shipment's field rules and write rules changed. */
function variant(fields: Fields, write: Write = {}): PolicyInput {
  const policy = freightPolicy()
  const shipment = policy.models['Shipment']!
  return {
    ...policy,
    models: {
      ...policy.models,
      Shipment: {
        ...shipment,
        fields: { ...(shipment.fields as Fields), ...fields } as NonNullable<typeof shipment.fields>,
        write: { ...shipment.write, ...write },
      },
    },
  }
}

describeEachDatabase('red team on the freight schema: values derived from hidden columns', (db) => {
  beforeAll(async () => {
    await loadFreight(db())
    await sql`alter table ops.shipments
      add column value_per_kg numeric generated always as (declared_value / nullif(weight_kg, 0)) stored,
      add column insured_value numeric(14,2),
      add constraint insured_within_declared check (insured_value is null or insured_value <= declared_value)`.execute(
      db().admin,
    )
  })

  const problemsOf = async (policy: PolicyInput): Promise<string[]> => {
    try {
      await toolsetFor(db(), policy, { schemas: ['ops'] })
      return []
    } catch (e) {
      if (!(e instanceof TesseraError) || e.code !== 'POLICY_INVALID') throw e
      const problems = e.details['problems'] as { path: string; message: string }[]
      return problems.map((p) => `${p.path}: ${p.message}`)
    }
  }

  it('refuses a readable generated column computed from a masked, hashed or denied column', async () => {
    const refused: [string, Fields, string, string][] = [
      ['allow over masked', { value_per_kg: 'allow' }, 'value_per_kg', 'declared_value'],
      [
        'masked over denied',
        { value_per_kg: 'mask', declared_value: 'deny' },
        'value_per_kg',
        'declared_value',
      ],
      [
        'hashed over denied',
        { value_per_kg: { action: 'hash' }, weight_kg: 'deny' },
        'value_per_kg',
        'weight_kg',
      ],
      ['allow over denied', { weight_kg: 'deny' }, 'volume_m3', 'weight_kg'],
      ['allow over hashed', { volume_m3: 'allow', weight_kg: { action: 'hash' } }, 'volume_m3', 'weight_kg'],
    ]
    for (const [name, fields, field, source] of refused) {
      const problems = await problemsOf(variant(fields))
      expect(problems, name).toContainEqual(
        expect.stringMatching(
          new RegExp(
            `^models\\.Shipment\\.fields\\.${field}: generated column '${field}' is computed from '${source}'`,
          ),
        ),
      )
    }
    const accepted: [string, Fields][] = [
      ['denied over masked', { value_per_kg: 'deny' }],
      ['masked over masked', { value_per_kg: 'mask' }],
      ['allow over allow', { value_per_kg: 'allow', declared_value: 'allow', insured_value: 'allow' }],
      ['denied by default', {}],
    ]
    for (const [name, fields] of accepted) expect(await problemsOf(variant(fields)), name).toEqual([])
  })

  it('refuses an updatable column that a CHECK constraint compares with a hidden one', async () => {
    const problems = await problemsOf(variant({ insured_value: 'allow' }))
    expect(problems).toEqual([
      expect.stringMatching(
        /^models\.Shipment\.fields\.insured_value: field 'insured_value' can be updated and CHECK constraint 'insured_within_declared' compares it with 'declared_value'/,
      ),
    ])
    // Through a generated column: value_per_kg reads weight_kg (updatable) and declared_value (masked).
    await sql`alter table ops.shipments add constraint sane_value check (value_per_kg < 1000000)`.execute(
      db().admin,
    )
    expect(await problemsOf(variant({ value_per_kg: 'mask' }))).toEqual([
      expect.stringMatching(
        /^models\.Shipment\.fields\.weight_kg: field 'weight_kg' can be updated and CHECK constraint 'sane_value' compares it with 'value_per_kg', 'declared_value'/,
      ),
    ])
    await sql`alter table ops.shipments drop constraint sane_value`.execute(db().admin)
    const accepted: [string, Fields, Write][] = [
      ['hidden column allowed', { insured_value: 'allow', declared_value: 'allow' }, {}],
      ['immutable', { insured_value: 'allow' }, { immutableFields: ['cargo', 'insured_value'] }],
      ['no updates', { insured_value: 'allow' }, { update: 'deny' }],
      ['not writable', { insured_value: 'mask' }, {}],
    ]
    for (const [name, fields, write] of accepted) {
      expect(await problemsOf(variant(fields, write)), name).toEqual([])
    }
  })

  it('keeps the corrected policy working: the derived column stays hidden and the check still applies', async () => {
    const h = await toolsetFor(
      db(),
      variant(
        { value_per_kg: 'mask', insured_value: 'allow' },
        { immutableFields: ['cargo', 'insured_value'] },
      ),
      { schemas: ['ops'] },
    )
    const row = (await h.toolset.get(DISPATCH_A, { model: 'Shipment', id: SHIP_A1 })).row
    expect(row['value_per_kg']).toBe('****')
    const over = await h.toolset.call(DISPATCH_A, 'db_create', {
      model: 'Shipment',
      data: { weight_kg: 1, insured_value: 5 },
    })
    // On create the hidden side is the column's default (NULL here): nothing stored is compared.
    expect(over).toMatchObject({ ok: true })
  })
})

/**
 * The unique-key oracle through a generated column: `carrier_key = lower(carrier)` with a unique index that does
 * not include the tenant column made a create of account A answer "conflicts with an existing record" exactly
 * when account B had that carrier, though the load-time check refuses the same key on `carrier` itself: it only
 * looked at the columns a caller writes, and nobody writes a generated column.
 */
describeEachDatabase('red team on the freight schema: unique keys through generated columns', (db) => {
  beforeAll(async () => {
    await loadFreight(db())
    await sql`alter table ops.${sql.id(LONG_TABLE)}
      add column carrier_key text generated always as (lower(carrier)) stored`.execute(db().admin)
    await sql`create unique index contracts_carrier_key on ops.${sql.id(LONG_TABLE)} (carrier_key)`.execute(
      db().admin,
    )
  })

  it('refuses the writable column a global unique generated column is computed from', async () => {
    let error: unknown
    try {
      await toolsetFor(db(), freightPolicy(), { schemas: ['ops'] })
    } catch (e) {
      error = e
    }
    expect(error).toBeInstanceOf(TesseraError)
    const problems = (error as TesseraError).details['problems'] as { path: string; message: string }[]
    expect(problems).toContainEqual({
      path: 'models.Contract.fields.carrier',
      message: expect.stringMatching(
        /^field 'carrier' is writable and covered by unique key 'contracts_carrier_key' \(carrier_key, computed from carrier\)/,
      ),
    })
    // Accepting global uniqueness on the field, as for a plain unique key, is the documented way out.
    const accepted = freightPolicy()
    const contract = accepted.models['Contract']!
    accepted.models['Contract'] = {
      ...contract,
      fields: { ...(contract.fields as Fields), carrier: { action: 'allow', acceptGlobalUnique: true } },
    }
    const h = await toolsetFor(db(), accepted, { schemas: ['ops'] })
    const taken = await h.toolset.call(DISPATCH_A, 'db_create', {
      model: 'Contract',
      data: { id: 9, carrier: 'msc' },
    })
    expect(taken).toMatchObject({ ok: false, error: { code: 'VALIDATION_ERROR' } })
  })
})

/**
 * A foreign key over a generated column is checked by the database alone, which ignores row visibility: with
 * `last_ship = last_ship_in::uuid` referencing shipments, a depot update succeeded with account B's shipment id
 * and failed with a fresh one — a cross-tenant existence oracle and a planted reference. Refused at load.
 */
describeEachDatabase('red team on the freight schema: foreign keys through generated columns', (db) => {
  beforeAll(async () => {
    await loadFreight(db())
    await sql`alter table ops.depots add column last_ship_in text,
      add column last_ship uuid generated always as (last_ship_in::uuid) stored references ops.shipments (id),
      add column hub_in int, add column hub int generated always as (hub_in) stored,
      add foreign key (tenant_id, hub) references ops.depots (tenant_id, id)`.execute(db().admin)
  })

  it('refuses a writable column that a generated foreign key across tenants is computed from', async () => {
    const policy = freightPolicy()
    let error: unknown
    try {
      await toolsetFor(db(), policy, { schemas: ['ops'] })
    } catch (e) {
      error = e
    }
    expect(error).toBeInstanceOf(TesseraError)
    const problems = (error as TesseraError).details['problems'] as { path: string; message: string }[]
    // hub pairs tenant_id with Depot's own scoped tenant_id: only the caller's depots can be referenced.
    expect(problems.map((p) => p.path)).toEqual(['models.Depot.fields.last_ship_in'])
    expect(problems[0]?.message).toMatch(/generated column 'last_ship' computed from it is a foreign key/)
    const depot = policy.models['Depot']!
    policy.models['Depot'] = {
      ...depot,
      fields: { ...(depot.fields as Fields), last_ship_in: 'deny', last_ship: 'deny' },
      // The new key from depots to shipments would be this relation's join: name the one meant.
      relations: { ...depot.relations, shipments: { model: 'Shipment', foreignKey: ['acct', 'depot_id'] } },
    }
    expect(await toolsetFor(db(), policy, { schemas: ['ops'] })).toBeDefined()
  })
})
