/**
 * Red team (lead's brief, hardening): a tenant column of an integer or uuid type compares after PostgreSQL has
 * parsed the principal's text, so the principal `'01'` (or `'+1'`, `' 1'`) read tenant 1's rows, and an
 * upper-case, unhyphenated or braced uuid read its lower-case tenant — while the audit, rate limits, approval caps
 * and cursors keyed it as another tenant. Now a principal value meeting a tenant column must be the canonical
 * text of the column's type, else the call is TENANT_SCOPE_REQUIRED with the same bytes as any principal value
 * that fits no row, in app, rls and both; numeric, floating-point and date/time tenant columns do not load
 * (docs/decisions.md, "A principal names its tenant in the column's canonical text").
 */
import { sql } from 'kysely'
import { beforeAll, describe, expect, it } from 'vitest'
import { starterPolicy } from '../../src/cli/starter-policy.ts'
import type { RunContext } from '../../src/context/index.ts'
import { isTesseraError, type SerializedError } from '../../src/errors/index.ts'
import type { EnforcementMode } from '../../src/executor/index.ts'
import { bindPolicy, definePolicy } from '../../src/policy/index.ts'
import type { PolicyInput } from '../../src/policy/policy-schema.ts'
import { introspectSchema } from '../../src/schema/index.ts'
import { APP_ROLE, describeEachDatabase } from '../support/databases.ts'
import { callError, toolsetFor, type ToolsetHarness } from '../support/toolset.ts'

const UUID_A = 'a0000000-0000-4000-8000-00000000000a'
const UUID_B = 'b0000000-0000-4000-8000-00000000000b'

const as = (tenantId: string): RunContext => ({ principal: { tenantId, userId: 'u1' } })

const notes = (table: string, extra: Partial<PolicyInput['models'][string]> = {}): PolicyInput => ({
  models: {
    Note: {
      table,
      fields: { id: { action: 'allow', acceptGlobalUnique: true }, tenant_id: 'allow', body: 'allow' },
      scoping: { tenant_id: 'principal.tenantId' },
      write: { create: 'allow', update: 'allow', autoSet: { tenant_id: 'principal.tenantId' } },
      ...extra,
    },
  },
})

/** A permissive rule instead of a scope: tenant_id is then a pinned tenant column. */
const pinned = (table: string): PolicyInput =>
  notes(table, {
    scoping: {},
    rowPolicies: [{ name: 'own', condition: 'tenant_id = principal.tenantId', mode: 'permissive' }],
  })

const INT_SPELLINGS = ['01', '+1', ' 1', '1 ', '1.0', '001', '1e0', '-0', '٣']
const UUID_SPELLINGS = [
  UUID_A.toUpperCase(),
  UUID_A.replaceAll('-', ''),
  `{${UUID_A}}`,
  ` ${UUID_A}`,
  UUID_A.replace('a0', 'A0'),
]

const MODES: readonly EnforcementMode[] = ['app', 'rls', 'both']

describeEachDatabase('a principal tenant id spelt other than canonically', (db) => {
  beforeAll(async () => {
    const admin = db().admin
    const tables: Record<string, [string, string, string]> = {
      int_notes: ['int4', '1', '2'],
      // Its own table: the rls and both harnesses leave their RLS installed on it.
      mode_notes: ['int4', '1', '2'],
      small_notes: ['int2', '1', '2'],
      big_notes: ['int8', '1', '2'],
      uuid_notes: ['uuid', UUID_A, UUID_B],
      text_notes: ['text', '1', '01'],
      num_notes: ['numeric', '1', '2'],
      float_notes: ['float8', '1', '2'],
      day_notes: ['date', '2024-05-01', '2024-05-02'],
    }
    for (const [table, [type, a, b]] of Object.entries(tables)) {
      await sql`create table ${sql.table(table)} (id int primary key, tenant_id ${sql.raw(type)} not null,
        body text not null)`.execute(admin)
      await sql`insert into ${sql.table(table)} values (1, ${a}, ${`secret of ${a}`}), (2, ${b}, ${`secret of ${b}`})`.execute(
        admin,
      )
      await sql`grant select, insert, update on ${sql.table(table)} to ${sql.id(APP_ROLE)}`.execute(admin)
    }
  })

  it('the database itself reads 01 as tenant 1 and an upper-case uuid as its lower-case tenant', async () => {
    const int = await sql<{
      n: number
    }>`select count(*)::int as n from int_notes where tenant_id = '01'`.execute(db().admin)
    expect(int.rows[0]?.n).toBe(1)
    const uuid = await sql<{
      n: number
    }>`select count(*)::int as n from uuid_notes where tenant_id = ${UUID_A.toUpperCase()}::uuid`.execute(
      db().admin,
    )
    expect(uuid.rows[0]?.n).toBe(1)
  })

  for (const mode of MODES) {
    describe(`under ${mode} enforcement`, () => {
      let h: ToolsetHarness
      let canonicalDenial: SerializedError
      beforeAll(async () => {
        h = await toolsetFor(db(), notes('mode_notes'), { enforcement: mode })
        // A tenant id that is no integer at all was refused before: the reference denial.
        canonicalDenial = await callError(h, as('acme'), 'db_query', { model: 'Note' })
      })

      it('principal 01 cannot read tenant 1’s rows: it is refused with the bytes of any unfit tenant id', async () => {
        for (const tenantId of INT_SPELLINGS) {
          const error = await callError(h, as(tenantId), 'db_query', { model: 'Note' })
          expect({ tenantId, ...error, requestId: null }).toEqual({
            tenantId,
            ...canonicalDenial,
            requestId: null,
          })
          expect(error.code).toBe('TENANT_SCOPE_REQUIRED')
        }
      })

      it('refuses get, count and create for 01 too, and writes nothing', async () => {
        expect((await callError(h, as('01'), 'db_get', { model: 'Note', id: 1 })).code).toBe(
          'TENANT_SCOPE_REQUIRED',
        )
        expect((await callError(h, as('01'), 'db_aggregate', { model: 'Note', op: 'count' })).code).toBe(
          'TENANT_SCOPE_REQUIRED',
        )
        expect(
          (await callError(h, as('01'), 'db_create', { model: 'Note', data: { id: 3, body: 'planted' } }))
            .code,
        ).toBe('TENANT_SCOPE_REQUIRED')
        const rows = await sql<{ n: number }>`select count(*)::int as n from mode_notes`.execute(db().admin)
        expect(rows.rows[0]?.n).toBe(2)
      })

      it('records the refused call with the tenant id as the principal gave it', async () => {
        await callError(h, as('+1'), 'db_query', { model: 'Note' })
        const record = h.audit.all().at(-1)
        expect(record).toMatchObject({
          tenantId: '+1',
          outcome: 'denied',
          errorCode: 'TENANT_SCOPE_REQUIRED',
        })
      })

      it('still serves the canonical tenant 1 its own rows', async () => {
        const r = await h.toolset.query(as('1'), { model: 'Note' })
        expect(r.rows.map((row) => row['body'])).toEqual(['secret of 1'])
      })
    })
  }

  it('holds int2, int8, uuid and a pinned (permissive-rule) tenant column to the canonical text', async () => {
    const cases: [PolicyInput, string[], string, string][] = [
      [notes('small_notes'), INT_SPELLINGS, '1', 'secret of 1'],
      [notes('big_notes'), INT_SPELLINGS, '1', 'secret of 1'],
      [notes('uuid_notes'), UUID_SPELLINGS, UUID_A, `secret of ${UUID_A}`],
      [pinned('int_notes'), INT_SPELLINGS, '1', 'secret of 1'],
      [pinned('uuid_notes'), UUID_SPELLINGS, UUID_A, `secret of ${UUID_A}`],
    ]
    for (const [policy, spellings, canonical, body] of cases) {
      const h = await toolsetFor(db(), policy)
      for (const tenantId of spellings) {
        const error = await callError(h, as(tenantId), 'db_query', { model: 'Note' })
        expect({ tenantId, code: error.code }).toEqual({ tenantId, code: 'TENANT_SCOPE_REQUIRED' })
      }
      const r = await h.toolset.query(as(canonical), { model: 'Note' })
      expect(r.rows.map((row) => row['body'])).toEqual([body])
    }
  })

  it('leaves a text tenant column alone: 01 and 1 are two tenants there, each reading its own row', async () => {
    const h = await toolsetFor(db(), notes('text_notes'))
    expect((await h.toolset.query(as('01'), { model: 'Note' })).rows.map((r) => r['body'])).toEqual([
      'secret of 01',
    ])
    expect((await h.toolset.query(as('1'), { model: 'Note' })).rows.map((r) => r['body'])).toEqual([
      'secret of 1',
    ])
  })

  it('refuses numeric, floating-point and date tenant columns at load, naming the ALTER that fixes them', async () => {
    const schema = await introspectSchema(db().admin, { role: APP_ROLE })
    const expected: [string, string, string][] = [
      [
        'num_notes',
        "it is numeric: '=' ignores scale",
        'alter table num_notes alter column tenant_id type bigint',
      ],
      ['float_notes', 'it is floating point', 'alter table float_notes alter column tenant_id type bigint'],
      ['day_notes', 'it is a date or time type', 'alter table day_notes alter column tenant_id type text'],
    ]
    for (const [table, reason, alter] of expected) {
      let thrown: unknown
      try {
        bindPolicy(definePolicy(notes(table)), schema)
      } catch (error) {
        thrown = error
      }
      if (!isTesseraError(thrown)) throw new Error(`${table}: the policy loaded`)
      expect(thrown.code).toBe('POLICY_INVALID')
      expect(thrown.message).toContain('models.Note.scoping.tenant_id')
      expect(thrown.message).toContain(reason)
      expect(thrown.message).toContain(alter)
    }
    const starter = starterPolicy(schema, 'the test database')
    expect(starter.skipped).toEqual(
      expect.arrayContaining([
        { table: 'num_notes', reason: expect.stringContaining('type bigint') },
        { table: 'float_notes', reason: expect.stringContaining('type bigint') },
        { table: 'day_notes', reason: expect.stringContaining('type text') },
      ]),
    )
    expect(starter.models.map((m) => m.table)).toEqual(
      expect.arrayContaining(['int_notes', 'big_notes', 'uuid_notes', 'text_notes']),
    )
  })
})
