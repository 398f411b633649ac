/**
 * Regression: a value outside a PostgreSQL enum type's labels, in a filter or in a create's data, reached the
 * database, whose parse error (22P02) became "A value has the wrong format" with an EMPTY issues list: the
 * caller could not tell which field was wrong or what it accepts. Enum labels are now introspected and
 * checked before any SQL exists; the issue names the field's path and the allowed labels, and never echoes
 * the rejected value (it may be a secret pasted into the wrong field).
 */
import { sql } from 'kysely'
import { beforeAll, expect, it } from 'vitest'
import { isTesseraError, type TesseraError } from '../../src/errors/index.ts'
import { describeEachDatabase } from '../support/databases.ts'
import { ALICE, as, TENANT_A } from '../support/saas.ts'
import { toolsetFor, type ToolsetHarness } from '../support/toolset.ts'

const SECRET = 'sk-live-pasted-here'

async function rejection(run: () => Promise<unknown>): Promise<TesseraError> {
  try {
    await run()
  } catch (error) {
    if (isTesseraError(error)) return error
    throw error
  }
  throw new Error('expected the call to be rejected')
}

describeEachDatabase('a value outside an enum column’s labels', (db) => {
  let h: ToolsetHarness
  beforeAll(async () => {
    const admin = db().admin
    await sql`create type ticket_state as enum ('open', 'pending', 'closed')`.execute(admin)
    await sql`create domain ticket_state_d as ticket_state`.execute(admin)
    await sql`create table enum_tickets (
      tenant_id uuid not null, id serial primary key, state ticket_state not null,
      stage ticket_state_d, title text not null)`.execute(admin)
    await sql`grant select, insert, update, delete on enum_tickets to tessera_app`.execute(admin)
    await sql`grant usage on sequence enum_tickets_id_seq to tessera_app`.execute(admin)
    await sql`insert into enum_tickets (tenant_id, state, title) values (${TENANT_A}, 'open', 'First')`.execute(
      admin,
    )
    h = await toolsetFor(db(), {
      models: {
        Ticket: {
          table: 'enum_tickets',
          fields: { tenant_id: 'allow', id: 'allow', state: 'allow', stage: 'allow', title: 'allow' },
          scoping: { tenant_id: 'principal.tenantId' },
          write: { create: 'allow', autoSet: { tenant_id: 'principal.tenantId' } },
        },
      },
    })
  })

  it('is refused in a filter with an issue naming the value’s path and the allowed labels', async () => {
    const error = await rejection(() =>
      h.toolset.query(as(ALICE), {
        model: 'Ticket',
        where: {
          and: [
            { field: 'title', op: 'eq', value: 'First' },
            { field: 'state', op: 'eq', value: SECRET },
          ],
        },
      }),
    )
    expect(error.code).toBe('VALIDATION_ERROR')
    expect(error.details['issues']).toEqual([
      { path: 'where.and[1].value', message: expect.stringContaining("'open', 'pending', 'closed'") },
    ])
    expect(JSON.stringify(error)).not.toContain(SECRET)
    expect(error.message).not.toContain(SECRET)
  })

  it('is refused inside an in-list, naming the item', async () => {
    const error = await rejection(() =>
      h.toolset.query(as(ALICE), {
        model: 'Ticket',
        where: { field: 'state', op: 'in', value: ['open', SECRET] },
      }),
    )
    expect(error.details['issues']).toEqual([
      { path: 'where.value[1]', message: expect.stringContaining("'open', 'pending', 'closed'") },
    ])
  })

  it('is refused in a create’s data, also through a domain over the enum, with the field’s path', async () => {
    for (const [field, other] of [
      ['state', {}],
      ['stage', { state: 'open' }],
    ] as const) {
      const error = await rejection(() =>
        h.toolset.create(as(ALICE), {
          model: 'Ticket',
          data: { title: 'Second', ...other, [field]: SECRET },
        }),
      )
      expect(error.code).toBe('VALIDATION_ERROR')
      expect(error.details['issues']).toEqual([
        { path: `data.${field}`, message: expect.stringContaining("'open', 'pending', 'closed'") },
      ])
      expect(JSON.stringify(error)).not.toContain(SECRET)
    }
  })

  it('still accepts the labels themselves, in filters and writes', async () => {
    const { row } = await h.toolset.create(as(ALICE), {
      model: 'Ticket',
      data: { title: 'Third', state: 'pending', stage: 'closed' },
    })
    expect(row).toMatchObject({ state: 'pending', stage: 'closed' })
    const { rows } = await h.toolset.query(as(ALICE), {
      model: 'Ticket',
      where: { field: 'state', op: 'in', value: ['pending', 'closed'] },
    })
    expect(rows.map((r) => r['title'])).toEqual(['Third'])
  })

  it('refuses a text pattern on an enum column before SQL, instead of failing in the database', async () => {
    const error = await rejection(() =>
      h.toolset.query(as(ALICE), {
        model: 'Ticket',
        where: { field: 'state', op: 'contains', value: 'pe' },
      }),
    )
    expect(error.code).toBe('VALIDATION_ERROR')
    expect(error.details['issues']).toEqual([{ path: 'where.op', message: expect.any(String) }])
  })
})
