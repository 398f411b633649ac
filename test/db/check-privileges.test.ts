/**
 * Issue 9, item 15: binding compares the policy with what the (non-superuser) application role may do. A write
 * the policy allows on a table the role cannot INSERT/UPDATE/DELETE is a problem naming the GRANT; a table the
 * role cannot SELECT is reported as such, not as unknown; unknown columns and tables get a "did you mean".
 */
import { sql } from 'kysely'
import { beforeAll, expect, it } from 'vitest'
import { createToolset } from '../../src/index.ts'
import { isTesseraError, type TesseraError } from '../../src/errors/index.ts'
import { bindPolicy, definePolicy, type PolicyInput } from '../../src/policy/index.ts'
import { introspectSchema, type DbSchema } from '../../src/schema/index.ts'
import { APP_ROLE, describeEachDatabase } from '../support/databases.ts'
import { TEST_SECRET } from '../support/saas.ts'

function problemsOf(schema: DbSchema, input: PolicyInput): { path: string; message: string }[] {
  let error: TesseraError | undefined
  try {
    bindPolicy(definePolicy(input), schema)
  } catch (e) {
    if (!isTesseraError(e)) throw e
    error = e
  }
  expect(error?.code).toBe('POLICY_INVALID')
  return (error?.details['problems'] ?? []) as { path: string; message: string }[]
}

const noteModel = (write: Record<string, unknown>): PolicyInput => ({
  models: {
    Note: {
      table: 'guarded_notes',
      scoping: { tenant_id: 'principal.tenantId' },
      fields: { id: 'allow', body: 'allow', deleted_at: 'allow' },
      write: { autoSet: { tenant_id: 'principal.tenantId' }, ...write },
    },
  },
})

describeEachDatabase('policy against the role’s privileges', (db) => {
  let schema: DbSchema

  beforeAll(async () => {
    const { admin, app, appRole } = db()
    await sql`
      create table guarded_notes (
        id serial primary key, tenant_id uuid not null, body text, deleted_at timestamptz
      )`.execute(admin)
    await sql`grant select on guarded_notes to tessera_app`.execute(admin)
    await sql`create table secret_ledger (id serial primary key, tenant_id uuid not null)`.execute(admin)
    // INSERT granted, USAGE on the serial column's sequence not: every create would fail at run time.
    await sql`create table counted_notes (id serial primary key, tenant_id uuid not null, body text)`.execute(
      admin,
    )
    await sql`grant select, insert on counted_notes to tessera_app`.execute(admin)
    schema = await introspectSchema(app, appRole === undefined ? {} : { role: appRole })
  })

  it('introspection records the role and its write privileges per table', () => {
    expect(schema.role).toBe(APP_ROLE)
    expect(schema.tables['guarded_notes']?.privileges).toEqual({
      insert: false,
      update: false,
      delete: false,
      unusableSequences: [{ column: 'id', sequence: 'public.guarded_notes_id_seq' }],
    })
    expect(schema.tables['orders']?.privileges).toEqual({ insert: true, update: true, delete: true })
  })

  it('a policy allowing create, update and delete on a table the role may only read lists each missing GRANT', () => {
    const problems = problemsOf(schema, noteModel({ create: 'allow', update: 'allow', delete: 'allow' }))
    expect(problems).toEqual([
      {
        path: 'models.Note.write.create',
        message:
          "the policy allows create on table 'guarded_notes', but role 'tessera_app' cannot INSERT into it: " +
          'GRANT INSERT ON public.guarded_notes TO tessera_app, or set write.create: deny',
      },
      {
        path: 'models.Note.write.update',
        message:
          "the policy allows update on table 'guarded_notes', but role 'tessera_app' cannot UPDATE it: " +
          'GRANT UPDATE ON public.guarded_notes TO tessera_app, or set write.update: deny',
      },
      {
        path: 'models.Note.write.delete',
        message:
          "the policy allows delete on table 'guarded_notes', but role 'tessera_app' cannot DELETE from it: " +
          'GRANT DELETE ON public.guarded_notes TO tessera_app, or set write.delete: deny',
      },
    ])
  })

  it('a soft delete needs UPDATE, not DELETE', () => {
    const problems = problemsOf(schema, noteModel({ delete: 'allow', softDelete: { field: 'deleted_at' } }))
    expect(problems.map((p) => p.message)).toEqual([
      expect.stringContaining('allows delete (a soft delete)') as unknown as string,
    ])
    expect(problems[0]?.message).toContain('cannot UPDATE it: GRANT UPDATE ON public.guarded_notes')
  })

  it('a create on a table whose serial sequence the role may not use names the GRANT USAGE, and binds once granted', async () => {
    const counted: PolicyInput = {
      models: {
        Note: {
          table: 'counted_notes',
          scoping: { tenant_id: 'principal.tenantId' },
          fields: { id: 'allow', body: 'allow' },
          write: { create: 'allow', autoSet: { tenant_id: 'principal.tenantId' } },
        },
      },
    }
    expect(problemsOf(schema, counted)).toEqual([
      {
        path: 'models.Note.write.create',
        message:
          "the policy allows create on table 'counted_notes', but role 'tessera_app' cannot use sequence " +
          "'public.counted_notes_id_seq' (the default of column 'id'): " +
          'GRANT USAGE ON SEQUENCE public.counted_notes_id_seq TO tessera_app, or set write.create: deny',
      },
    ])
    const { admin, app, appRole } = db()
    await sql`grant usage on sequence counted_notes_id_seq to tessera_app`.execute(admin)
    const toolset = await createToolset({
      db: app,
      policy: definePolicy(counted),
      secret: TEST_SECRET,
      ...(appRole === undefined ? {} : { role: appRole }),
    })
    const created = await toolset.call(
      { principal: { tenantId: 'a0000000-0000-4000-8000-000000000000' } },
      'db_create',
      { model: 'Note', data: { body: 'counted' } },
    )
    expect(created).toMatchObject({ ok: true, data: { row: { body: 'counted' } } })
  })

  it('a read-only policy on the same table binds', () => {
    expect(() => bindPolicy(definePolicy(noteModel({})), schema)).not.toThrow()
  })

  it('createToolset refuses to start with the missing GRANT named, instead of failing the first write', async () => {
    const { app, appRole } = db()
    const error = await createToolset({
      db: app,
      policy: definePolicy(noteModel({ create: 'allow' })),
      secret: TEST_SECRET,
      ...(appRole === undefined ? {} : { role: appRole }),
    }).then(
      () => undefined,
      (e: unknown) => e,
    )
    expect(isTesseraError(error) && error.code).toBe('POLICY_INVALID')
    expect((error as TesseraError).message).toContain('GRANT INSERT ON public.guarded_notes TO tessera_app')
  })

  it('a table the role cannot SELECT is named as such; a table that does not exist is unknown, with a suggestion', () => {
    const problems = problemsOf(schema, {
      models: {
        Ledger: { table: 'secret_ledger', scoping: { tenant_id: 'principal.tenantId' } },
        Order: { table: 'order', scoping: { tenant_id: 'principal.tenantId' } },
      },
    })
    expect(problems).toEqual([
      {
        path: 'models.Ledger.table',
        message:
          "role 'tessera_app' cannot SELECT table 'secret_ledger' (it exists): " +
          'GRANT SELECT ON public.secret_ledger TO tessera_app (and USAGE on its schema)',
      },
      { path: 'models.Order.table', message: "unknown table 'order' (did you mean 'orders'?)" },
    ])
  })

  it('an unknown column in a row-policy condition gets a "did you mean"', () => {
    const problems = problemsOf(schema, {
      models: {
        Order: {
          table: 'orders',
          scoping: { tenant_id: 'principal.tenantId' },
          rowPolicies: [{ name: 'mine', condition: 'customerid IS NOT NULL' }],
        },
      },
    })
    expect(problems.map((p) => p.message)).toContain(
      "row policy 'mine' references unknown column 'customerid' on table 'orders' (did you mean 'customer_id'?)",
    )
  })
})
