/**
 * Found by the red team on the payroll schema: a lone surrogate (`"\ud800"`, valid in JSON and in a JS string,
 * not in UTF-8) passed the input guard. PostgreSQL then got U+FFFD in its place: a write stored another value
 * than the one sent (and than the one the audit recorded), a filter compared another value than the one asked,
 * and the same value bound for a jsonb column or the approval store's jsonb arguments failed in the database.
 * Every request string and key must be well-formed Unicode, as it must be free of NUL.
 */
import { sql } from 'kysely'
import { beforeAll, expect, it } from 'vitest'
import { describeEachDatabase } from '../support/databases.ts'
import { HR_A, loadPayroll, payrollPolicy, WS_A } from '../support/payroll.ts'
import { type ToolsetHarness, toolsetFor } from '../support/toolset.ts'

describeEachDatabase('lone surrogates in request values', (db) => {
  let h: ToolsetHarness
  beforeAll(async () => {
    await loadPayroll(db())
    h = await toolsetFor(db(), payrollPolicy())
  })

  it('refuses them in filters, ids, write data and keys before any SQL', async () => {
    const id = { WorkspaceId: WS_A, emp_no: 2 }
    const calls: [string, unknown][] = [
      ['db_query', { model: 'Employee', where: { field: 'bio', op: 'eq', value: 'a\ud800' } }],
      ['db_query', { model: 'Employee', where: { field: 'bio', op: 'contains', value: '\udc00' } }],
      ['db_query', { model: 'Employee', where: [{ field: 'bio', op: 'in', value: ['x', 'y\ud800'] }] }],
      ['db_get', { model: 'Employee', id: { WorkspaceId: `${WS_A}\ud800`, emp_no: 2 } }],
      ['db_update', { model: 'Employee', id, data: { bio: 'plain\ud800' } }],
      ['db_update', { model: 'Employee', id, data: { profile: { note: '\udfff' } } }],
      ['db_update', { model: 'Employee', id, data: { profile: { ['k\ud800']: 1 } } }],
      ['db_create', { model: 'Check', data: { emp_no: 1, currency: 'EUR', gross_cents: 1, memo: '\ud83d' } }],
    ]
    for (const [tool, args] of calls) {
      const r = await h.toolset.call(HR_A, tool, args)
      expect(r, JSON.stringify(args)).toMatchObject({ ok: false, error: { code: 'VALIDATION_ERROR' } })
    }
    const stored = await sql<{ bio: string | null; profile: unknown }>`
      select bio, profile from employees where "WorkspaceId" = ${WS_A} and emp_no = 2`.execute(db().admin)
    expect(stored.rows[0]).toEqual({ bio: 'plain', profile: null })
  })

  it('still accepts surrogate pairs (emoji) everywhere', async () => {
    const { row } = await h.toolset.update(HR_A, {
      model: 'Employee',
      id: { WorkspaceId: WS_A, emp_no: 2 },
      data: { bio: 'ok \u{1F600}', profile: { ['\u{1F600}']: '\u{1F600}' } },
    })
    expect(row['bio']).toBe('ok \u{1F600}')
    const { rows } = await h.toolset.query(HR_A, {
      model: 'Employee',
      select: ['emp_no'],
      where: { field: 'bio', op: 'endswith', value: '\u{1F600}' },
    })
    expect(rows).toEqual([{ emp_no: 2 }])
  })
})
