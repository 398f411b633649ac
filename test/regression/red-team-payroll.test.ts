/**
 * The red team's attacks that Tessera withstood on a third schema (test/support/payroll.ts), kept so the
 * guarantees are not an accident of the SaaS fixture or the clinic: a mixed-case text tenant column, composite
 * text + int keys with a composite self-reference, a table named by a reserved word, a nullable tenant column
 * whose NULL rows are global templates, a generated column, an interval, char(3) keys on a shared table,
 * jsonb holding secret-looking keys and an enum with awkward labels. Findings that were fixed have their own
 * regression files (audit-columns-hostile-text, approval-preview-invisible-characters).
 */
import { sql } from 'kysely'
import { beforeAll, expect, it } from 'vitest'
import type { RunContext } from '../../src/context/index.ts'
import { renderResult } from '../../src/tools/index.ts'
import { describeEachDatabase } from '../support/databases.ts'
import {
  CLERK_A,
  HR_A,
  HR_B,
  INJECTION_TEXT,
  loadPayroll,
  payrollPolicy,
  WS_A,
  WS_B,
} from '../support/payroll.ts'
import { callError, type ToolsetHarness, toolsetFor } from '../support/toolset.ts'

const EMP_B1 = { WorkspaceId: WS_B, emp_no: 1 }
const EMP_MISSING = { WorkspaceId: WS_A, emp_no: 999 }

describeEachDatabase('red team on the payroll schema', (db) => {
  let h: ToolsetHarness
  const fail = (ctx: RunContext, tool: string, args: unknown) => callError(h, ctx, tool, args)

  beforeAll(async () => {
    await loadPayroll(db())
    h = await toolsetFor(db(), payrollPolicy())
  })

  it('answers another workspace’s row, and a global template on writes, exactly like a missing one', async () => {
    const cases: [RunContext, string, unknown, unknown, Record<string, unknown>][] = [
      [HR_A, 'Employee', EMP_B1, EMP_MISSING, { bio: 'x' }],
      [HR_B, 'Employee', { WorkspaceId: WS_A, emp_no: 1 }, EMP_MISSING, { bio: 'x' }],
      [HR_A, 'Check', 3, 999, { memo: 'x' }],
      [HR_A, 'Check', '3', '999', { memo: 'x' }],
      [HR_A, 'BenefitPlan', 3, 999, { title: 'x' }],
    ]
    for (const [ctx, model, hidden, missing, data] of cases) {
      for (const [tool, extra] of [
        ['db_get', {}],
        ['db_update', { data }],
      ] as const) {
        const a = await fail(ctx, tool, { model, id: hidden, ...extra })
        expect(a, `${tool} ${model}`).toEqual(await fail(ctx, tool, { model, id: missing, ...extra }))
        expect(a.code).toBe('NOT_FOUND')
      }
    }
    // A global template is readable but belongs to no workspace: no update or delete through it.
    expect((await h.toolset.get(HR_A, { model: 'BenefitPlan', id: 1 })).row['workspace_id']).toBeNull()
    expect(await fail(HR_A, 'db_update', { model: 'BenefitPlan', id: 1, data: { title: 'pwn' } })).toEqual(
      await fail(HR_A, 'db_update', { model: 'BenefitPlan', id: 999, data: { title: 'pwn' } }),
    )
    expect(await fail(HR_A, 'db_delete', { model: 'BenefitPlan', id: 1 })).toEqual(
      await fail(HR_A, 'db_delete', { model: 'BenefitPlan', id: 999 }),
    )
    expect(await fail(HR_A, 'db_delete', { model: 'Check', id: 3 })).toEqual(
      await fail(HR_A, 'db_delete', { model: 'Check', id: 999 }),
    )
  })

  it('reads, includes and aggregates only the caller’s rows and the global templates', async () => {
    const { rows } = await h.toolset.query(HR_A, {
      model: 'Employee',
      select: ['WorkspaceId', 'emp_no'],
      include: { manager: { select: ['WorkspaceId', 'emp_no'] }, checks: { select: ['WorkspaceId', 'id'] } },
    })
    expect(JSON.stringify(rows)).not.toContain(WS_B)
    expect(rows.map((r) => r['emp_no'])).toEqual([1, 2])
    const currencies = await h.toolset.query(HR_A, { model: 'Currency', select: ['code'] })
    expect(currencies.rows).toHaveLength(3)
    const plans = await h.toolset.query(HR_A, { model: 'BenefitPlan', select: ['id', 'workspace_id'] })
    expect(plans.rows).toEqual([
      { id: 1, workspace_id: null },
      { id: 2, workspace_id: WS_A },
    ])
    expect(
      await h.toolset.aggregate(HR_A, { model: 'BenefitPlan', op: 'count', groupBy: ['workspace_id'] }),
    ).toEqual({
      groups: expect.arrayContaining([
        { key: { workspace_id: WS_A }, value: 1 },
        { key: { workspace_id: null }, value: 1 },
      ]),
    })
    expect(await h.toolset.aggregate(HR_A, { model: 'Check', op: 'sum', field: 'gross_cents' })).toEqual({
      value: '2750000',
    })
    // B's bigint maximum is summed by B alone, exactly.
    expect(await h.toolset.aggregate(HR_B, { model: 'Check', op: 'max', field: 'gross_cents' })).toEqual({
      value: '9223372036854775807',
    })
  })

  it('refuses denied, masked and hashed fields in every position with the text of an unknown field', async () => {
    const unknown = (usage: string) =>
      `Field 'nosuch' is not available on model 'Employee'${usage === '' ? '' : ` for ${usage}`}`
    const probes: [string, (f: string) => Record<string, unknown>, string][] = [
      ['db_query', (f) => ({ model: 'Employee', select: [f] }), ''],
      ['db_query', (f) => ({ model: 'Employee', where: { field: f, op: 'is_null' } }), 'filtering'],
      ['db_query', (f) => ({ model: 'Employee', orderBy: [f] }), 'sorting'],
      ['db_aggregate', (f) => ({ model: 'Employee', op: 'count', field: f }), 'aggregation'],
      ['db_aggregate', (f) => ({ model: 'Employee', op: 'count', groupBy: [f] }), 'grouping'],
    ]
    for (const [tool, args, usage] of probes) {
      const baseline = await fail(HR_A, tool, args('nosuch'))
      expect(baseline.message).toBe(unknown(usage))
      // Masked and hashed fields are readable: only the other positions refuse them.
      for (const field of usage === '' ? ['ssn'] : ['ssn', 'salary', 'bank_account']) {
        const e = await fail(HR_A, tool, args(field))
        expect(e.code, `${tool} ${field}`).toBe('FIELD_NOT_ALLOWED')
        if (field === 'ssn') expect(e.message).toBe(baseline.message.replace('nosuch', 'ssn'))
      }
    }
    const nested = await fail(HR_A, 'db_query', {
      model: 'Check',
      include: { employee: { select: ['ssn'] } },
    })
    expect(nested.code).toBe('FIELD_NOT_ALLOWED')
    // Filtering an include on the tenant column for another workspace finds nothing: the scope still applies.
    const many = await h.toolset.query(HR_A, {
      model: 'Employee',
      select: ['emp_no'],
      include: { checks: { where: { field: 'WorkspaceId', op: 'eq', value: WS_B } } },
    })
    expect(many.rows.map((r) => r['checks'])).toEqual([[], []])
  })

  it('never lets a write name the workspace, a computed or immutable column, or move a row away', async () => {
    const id = { WorkspaceId: WS_A, emp_no: 2 }
    const refusals: [string, Record<string, unknown>][] = [
      [
        'db_create',
        { model: 'Employee', data: { WorkspaceId: WS_B, emp_no: 50, first_name: 'x', last_name: 'y' } },
      ],
      [
        'db_create',
        { model: 'Employee', data: { emp_no: 50, first_name: 'x', last_name: 'y', full_name: 'z' } },
      ],
      ['db_create', { model: 'BenefitPlan', data: { title: 'x', cost: 1, workspace_id: null } }],
      ['db_update', { model: 'Employee', id, data: { WorkspaceId: WS_B } }],
      ['db_update', { model: 'Employee', id, data: { emp_no: 9 } }],
      ['db_update', { model: 'Employee', id, data: { hired_at: '2000-01-01T00:00:00Z' } }],
      ['db_update', { model: 'Employee', id, data: { full_name: 'forged' } }],
      ['db_update', { model: 'Employee', id, data: { ssn: '000-00-0000' } }],
      ['db_update', { model: 'Employee', id, data: { bank_account: 'DE-EVIL' } }],
      ['db_update', { model: 'Employee', id, data: { manager_no: 99 } }], // B has no 99 either: not found
      ['db_update', { model: 'BenefitPlan', id: 2, data: { workspace_id: null } }],
      ['db_create', { model: 'Check', data: { emp_no: 9, currency: 'EUR', gross_cents: 1 } }],
      ['db_create', { model: 'Check', data: { emp_no: 1, currency: 'XXX', gross_cents: 1 } }],
      ['db_create', { model: 'Check', data: { emp_no: 1, currency: 'EUR', gross_cents: 2 ** 53 + 2 } }],
      ['db_create', { model: 'Check', data: { emp_no: 1, currency: 'EUR', gross_cents: 1, id: 3 } }],
    ]
    for (const [tool, args] of refusals) {
      const e = await fail(HR_A, tool, args)
      expect(['VALIDATION_ERROR', 'FIELD_NOT_ALLOWED', 'NOT_FOUND'], JSON.stringify(args)).toContain(e.code)
    }
    // A bulk update naming another workspace's key changes only the caller's row.
    const bulk = await h.toolset.call(HR_A, 'db_bulk_update', {
      model: 'Employee',
      ids: [{ WorkspaceId: WS_A, emp_no: 1 }, EMP_B1],
      data: { group: 'bulk' },
    })
    expect(bulk).toEqual({ ok: true, data: { updated: 1 } })
    const tooMany = await fail(HR_A, 'db_bulk_update', {
      model: 'Employee',
      ids: [1, 1, 1].map(() => ({ WorkspaceId: WS_A, emp_no: 1 })),
      data: { group: 'x' },
    })
    expect(tooMany.code).toBe('MAX_AFFECTED_ROWS_EXCEEDED')
    const b = await sql<{ WorkspaceId: string; group: string; bio: string | null }>`
      select "WorkspaceId", "group", bio from employees where "WorkspaceId" = ${WS_B} order by emp_no`.execute(
      db().admin,
    )
    expect(b.rows.map((r) => r.group)).toEqual(['exec', 'eng'])
    const plans = await sql<{
      n: string
    }>`select count(*)::text as n from benefit_plans where workspace_id is null`.execute(db().admin)
    expect(plans.rows[0]?.n).toBe('1')
  })

  it('refuses confused values before SQL, and a value the database parses answers without its text', async () => {
    const confused: unknown[] = [
      { model: 'Employee', where: { field: 'first_name', op: 'eq', value: 'a\u0000' } },
      { model: 'Employee', where: { field: 'emp_no', op: 'eq', value: 1.5 } },
      { model: 'Employee', where: { field: 'emp_no', op: 'in', value: ['1', 'x'] } },
      { model: 'Employee', where: { field: 'grade', op: 'eq', value: 'L3' } },
      { model: 'Employee', where: { field: 'hired_at', op: 'gt', value: '2026-02-30' } },
      { model: 'Employee', where: { field: 'notice', op: 'eq', value: '3 months' } },
      { model: 'Employee', where: { field: 'skills', op: 'contains', value: 'ts' } },
      { model: 'Employee', orderBy: ['profile'] },
      { model: 'Check', where: { field: 'gross_cents', op: 'eq', value: 2 ** 60 } },
      { model: 'Check', where: { field: 'limit', op: 'gt', value: '1e3' } },
      { model: 'Employee', __proto__: { select: ['ssn'] } },
      { model: 'Employee', constructor: { prototype: { isAdmin: true } } },
    ]
    for (const args of confused) {
      const e = await fail(HR_A, 'db_query', args)
      expect(e.code, JSON.stringify(args)).toBe('VALIDATION_ERROR')
    }
    const parsed = await fail(HR_A, 'db_update', {
      model: 'Employee',
      id: { WorkspaceId: WS_A, emp_no: 2 },
      data: { notice: 'until the heat death of the universe' },
    })
    expect(parsed).toMatchObject({ code: 'VALIDATION_ERROR', message: 'A value has the wrong format' })
    expect(JSON.stringify(parsed)).not.toMatch(/interval|syntax|heat death/i)
    const overflow = await fail(HR_A, 'db_create', {
      model: 'Check',
      data: { emp_no: 1, currency: 'EUR', gross_cents: 1, limit: '123456.78' },
    })
    expect(JSON.stringify(overflow)).not.toMatch(/numeric|precision|overflow/i)
  })

  it('keeps secrets out of the audit and wraps end-user text, includes too, for the model', async () => {
    await h.toolset.call({ ...HR_A, requestId: 'payroll-secret' }, 'db_create', {
      model: 'Employee',
      data: {
        emp_no: 77,
        first_name: 'S',
        last_name: 'T',
        profile: { apiKey: 'SEKRET-1', nested: [{ password: 'SEKRET-2' }], client_secret: 'SEKRET-3' },
      },
    })
    await h.toolset.call({ ...HR_A, requestId: 'payroll-probe' }, 'db_query', {
      model: 'Employee',
      where: {
        or: [
          { field: 'ssn', op: 'in', value: ['111-00-0001'] },
          { field: 'bank_account', op: 'eq', value: 'DE-A-0001' },
        ],
      },
    })
    const records = (await h.audit.query({})).filter((r) => r.requestId?.startsWith('payroll-'))
    expect(records).toHaveLength(2)
    const text = JSON.stringify(records)
    for (const secret of ['SEKRET-1', 'SEKRET-2', 'SEKRET-3', '111-00-0001', 'DE-A-0001']) {
      expect(text).not.toContain(secret)
    }
    const args = {
      model: 'Employee',
      where: { field: 'emp_no', op: 'eq', value: 2 },
      include: { manager: true },
    }
    const data = await h.toolset.query(CLERK_A, args)
    const rendered = renderResult(h.toolset.bound, 'db_query', args, data)
    const nonce = /<untrusted-data-([0-9a-f]{12})>/.exec(rendered.text)?.[1]
    expect(nonce).toBeDefined()
    // The injection in the manager's bio sits inside the wrapper: the text after it closes is not the row's.
    const open = `<untrusted-data-${nonce}>`
    const close = `</untrusted-data-${nonce}>`
    const at = rendered.text.indexOf(INJECTION_TEXT.slice(0, 20))
    expect(at).toBeGreaterThan(rendered.text.lastIndexOf(open, at))
    expect(rendered.text.indexOf(close, at)).toBeGreaterThan(at)
  })
})

for (const enforcement of ['rls', 'both'] as const) {
  describeEachDatabase(`red team on the payroll schema under ${enforcement}`, (db) => {
    let h: ToolsetHarness
    beforeAll(async () => {
      await loadPayroll(db())
      h = await toolsetFor(db(), payrollPolicy(), { enforcement })
    })

    it('reads and writes only the caller’s rows through the generated policies', async () => {
      const { rows } = await h.toolset.query(HR_B, {
        model: 'Employee',
        select: ['WorkspaceId', 'emp_no'],
        include: { manager: { select: ['WorkspaceId'] }, checks: { select: ['WorkspaceId'] } },
      })
      expect(JSON.stringify(rows)).not.toContain(WS_A)
      expect(rows).toHaveLength(2)
      const plans = await h.toolset.query(HR_B, { model: 'BenefitPlan', select: ['id'] })
      expect(plans.rows.map((r) => r['id'])).toEqual([1, 3])
      const denied = await h.toolset.call(HR_B, 'db_update', {
        model: 'BenefitPlan',
        id: 1,
        data: { title: 'x' },
      })
      expect(denied).toMatchObject({ ok: false, error: { code: 'NOT_FOUND' } })
      const created = await h.toolset.create(HR_B, {
        model: 'Check',
        data: { emp_no: 2, currency: 'JPY', gross_cents: '1' },
      })
      expect(created.row['WorkspaceId']).toBe(WS_B)
      const cross = await h.toolset.call(HR_B, 'db_create', {
        model: 'Check',
        data: { emp_no: 9, currency: 'JPY', gross_cents: 1 },
      })
      expect(cross).toMatchObject({ ok: false, error: { code: 'NOT_FOUND' } })
    })
  })
}
