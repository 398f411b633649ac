/**
 * Red team, freight schema (test/support/freight.ts), through the library API: the attacks Tessera withstood,
 * kept as table-driven regressions so the guarantees are not an accident of the SaaS fixture, the clinic or the
 * payroll. The schema differs from those in the ways that break assumptions: tables in a schema of their own, a
 * bigint tenant column and a mixed-case text one, composite `(tenant_id, id)` keys with a composite
 * self-reference, an enum from the non-public schema, a generated column, nullable sort keys, names that are SQL
 * keywords, need quoting or are 63 bytes long, soft delete, a restrictive role rule and a write that needs approval.
 */
import { sql } from 'kysely'
import { beforeAll, expect, it } from 'vitest'
import type { RunContext } from '../../src/context/index.ts'
import { renderResult } from '../../src/tools/index.ts'
import { describeEachDatabase } from '../support/databases.ts'
import {
  ACCT_A,
  ACCT_B,
  CLERK_A,
  DISPATCH_A,
  DISPATCH_B,
  freightPolicy,
  INJECTION,
  loadFreight,
  LONG_COLUMN,
  LONG_SORT,
  SHIP_A1,
  SHIP_A_ARCHIVED,
  SHIP_A_HAZMAT,
  SHIP_B1,
  SHIP_B2,
} from '../support/freight.ts'
import { type ToolsetHarness, toolsetFor } from '../support/toolset.ts'

const MISSING = 'a1000000-0000-4000-8000-00000000ffff'
const as = (tenantId: string, roles = ['dispatcher']): RunContext => ({
  principal: { tenantId, userId: 'u-probe', roles },
})

describeEachDatabase('red team on the freight schema: library API', (db) => {
  let h: ToolsetHarness
  const fail = async (ctx: RunContext, tool: string, args: unknown) => {
    const r = await h.toolset.call(ctx, tool, args)
    if (r.ok) throw new Error(`${tool} ${JSON.stringify(args)} succeeded: ${JSON.stringify(r.data)}`)
    return r.error
  }
  const ids = async (ctx: RunContext, args: Record<string, unknown>): Promise<string[]> =>
    (await h.toolset.query(ctx, { model: 'Shipment', select: ['id'], ...args })).rows.map((r) =>
      String(r['id']).slice(-2),
    )

  beforeAll(async () => {
    await loadFreight(db())
    h = await toolsetFor(db(), freightPolicy(), { schemas: ['ops'] })
  })

  it('answers another account’s, a hidden and a soft-deleted row exactly like a missing one', async () => {
    const cases: [RunContext, string, unknown, unknown, Record<string, unknown>][] = [
      [DISPATCH_A, 'Shipment', SHIP_B1, MISSING, { notes: 'x' }],
      [CLERK_A, 'Shipment', SHIP_A_HAZMAT, MISSING, { notes: 'x' }],
      [DISPATCH_A, 'Shipment', SHIP_A_ARCHIVED, MISSING, { notes: 'x' }],
      [DISPATCH_A, 'Depot', { tenant_id: ACCT_B, id: 7 }, { tenant_id: ACCT_A, id: 99 }, { name: 'x' }],
      [
        DISPATCH_A,
        'Depot',
        { tenant_id: Number(ACCT_B), id: 1 },
        { tenant_id: ACCT_A, id: 99 },
        { name: 'x' },
      ],
      [DISPATCH_B, 'Driver', { Tenant: ACCT_A, badge: 2 }, { Tenant: ACCT_B, badge: 99 }, { name: 'x' }],
      [DISPATCH_A, 'Contract', { tenant_id: ACCT_B, id: 1 }, { tenant_id: ACCT_A, id: 99 }, { carrier: 'x' }],
    ]
    for (const [ctx, model, hidden, missing, data] of cases) {
      for (const [tool, extra] of [
        ['db_get', {}],
        ['db_update', { data }],
      ] as const) {
        const a = await fail(ctx, tool, { model, id: hidden, ...extra })
        expect(a, `${tool} ${model} ${JSON.stringify(hidden)}`).toEqual(
          await fail(ctx, tool, { model, id: missing, ...extra }),
        )
        expect(a.code).toBe('NOT_FOUND')
      }
    }
    // Deleting needs approval, but a row the caller cannot see is NOT_FOUND before any approval is made.
    for (const [ctx, id] of [
      [DISPATCH_A, SHIP_B1],
      [CLERK_A, SHIP_A_HAZMAT],
      [DISPATCH_A, SHIP_A_ARCHIVED],
    ] as const) {
      expect(await fail(ctx, 'db_delete', { model: 'Shipment', id })).toEqual(
        await fail(ctx, 'db_delete', { model: 'Shipment', id: MISSING }),
      )
    }
    const b = await sql<{
      notes: string | null
    }>`select notes from ops.shipments where id = ${SHIP_B1}`.execute(db().admin)
    expect(b.rows[0]?.notes).toBe('B notes')
  })

  it('reads, includes and aggregates only the caller’s visible rows, and wraps end-user text in them', async () => {
    // The hazmat rule and soft delete narrow every path for a clerk: query, include, aggregate, group.
    expect(await ids(CLERK_A, {})).toEqual(['01', '02', '03'])
    expect(await ids(DISPATCH_A, {})).toEqual(['01', '02', '03', 'ee'])
    const depots = await h.toolset.query(CLERK_A, {
      model: 'Depot',
      select: ['tenant_id', 'id'],
      include: { shipments: { select: ['id', 'cargo'] }, parent: { select: ['tenant_id', 'id'] } },
    })
    const text = JSON.stringify(depots.rows)
    for (const hidden of [ACCT_B, 'hazmat', SHIP_A_ARCHIVED, SHIP_B1]) expect(text).not.toContain(hidden)
    // A shared port includes the depots of the caller's account only.
    const ports = await h.toolset.query(DISPATCH_B, {
      model: 'Depot',
      select: ['id'],
      include: { port: { select: ['code'] } },
    })
    expect(ports.rows).toEqual([
      { id: 1, port: { code: 'USNYC' } },
      { id: 7, port: { code: 'NLRTM' } },
    ])
    const counts: [RunContext, Record<string, unknown>, unknown][] = [
      [CLERK_A, { op: 'count' }, { value: 3 }],
      [DISPATCH_A, { op: 'count' }, { value: 4 }],
      [CLERK_A, { op: 'count', where: { field: 'cargo', op: 'eq', value: 'hazmat' } }, { value: 0 }],
      [DISPATCH_B, { op: 'count' }, { value: 2 }],
      [DISPATCH_A, { op: 'max', field: 'weight_kg' }, { value: '1200.500' }],
      [DISPATCH_B, { op: 'sum', field: 'weight_kg' }, { value: '999999.999' }],
    ]
    for (const [ctx, args, expected] of counts) {
      expect(await h.toolset.aggregate(ctx, { model: 'Shipment', ...args }), JSON.stringify(args)).toEqual(
        expected,
      )
    }
    const groups = await h.toolset.aggregate(CLERK_A, { model: 'Shipment', op: 'count', groupBy: ['cargo'] })
    expect(JSON.stringify(groups)).not.toContain('hazmat')
    // End-user text stays inside the nonce wrapper in the model's rendering, through an include too.
    const args = { model: 'Depot', select: ['id'], include: { shipments: { select: ['id', 'notes'] } } }
    const data = await h.toolset.query(DISPATCH_A, args)
    const rendered = renderResult(h.toolset.bound, 'db_query', args, data)
    const nonce = /<untrusted-data-([0-9a-f]{12})>/.exec(rendered.text)?.[1]
    expect(nonce).toBeDefined()
    const at = rendered.text.indexOf(INJECTION.slice(0, 30))
    expect(at).toBeGreaterThan(rendered.text.lastIndexOf(`<untrusted-data-${nonce}>`, at))
    expect(rendered.text.indexOf(`</untrusted-data-${nonce}>`, at)).toBeGreaterThan(at)
    // Filters on the tenant columns cannot widen the scope; they only narrow it.
    for (const where of [
      { field: 'acct', op: 'eq', value: ACCT_B },
      {
        or: [
          { field: 'acct', op: 'eq', value: ACCT_B },
          { field: 'acct', op: 'ne', value: '0' },
        ],
      },
      { not: { field: 'acct', op: 'eq', value: ACCT_A } },
    ]) {
      expect(JSON.stringify(await ids(DISPATCH_A, { where }))).not.toContain('b2')
    }
  })

  it('pages through nullable sort keys, enums, keyword and 63-byte columns without skipping or repeating', async () => {
    const orders: [string, unknown[]][] = [
      ['Shipment', [{ field: 'priority', direction: 'desc' }]],
      [
        'Shipment',
        [
          { field: 'eta', direction: 'asc' },
          { field: 'priority', direction: 'desc' },
        ],
      ],
      ['Shipment', ['cargo']],
      ['Shipment', [{ field: 'cargo', direction: 'desc' }, 'weight_kg']],
      ['Shipment', [{ field: 'order', direction: 'desc' }, 'Limit']],
      ['Depot', ['Select']],
      ['Contract', [{ field: LONG_SORT, direction: 'desc' }]],
      ['Contract', [LONG_SORT, { field: 'carrier', direction: 'desc' }]],
    ]
    for (const [model, orderBy] of orders) {
      const all = await h.toolset.query(DISPATCH_A, { model, orderBy })
      const paged: unknown[] = []
      let cursor: string | undefined
      for (let i = 0; i < 20; i++) {
        const page = await h.toolset.query(DISPATCH_A, {
          model,
          orderBy,
          limit: 1,
          ...(cursor === undefined ? {} : { cursor }),
        })
        paged.push(...page.rows)
        if (page.nextCursor === null) break
        cursor = page.nextCursor
      }
      expect(paged, `${model} ${JSON.stringify(orderBy)}`).toEqual(all.rows)
    }
  })

  it('refuses a cursor moved to another account, role, model, filter or order', async () => {
    const first = await h.toolset.query(DISPATCH_A, { model: 'Shipment', orderBy: ['priority'], limit: 1 })
    const cursor = first.nextCursor
    expect(cursor).not.toBeNull()
    const moved: [RunContext, Record<string, unknown>][] = [
      [DISPATCH_B, { model: 'Shipment', orderBy: ['priority'] }],
      [CLERK_A, { model: 'Shipment', orderBy: ['priority'] }],
      [DISPATCH_A, { model: 'Shipment', orderBy: [{ field: 'priority', direction: 'desc' }] }],
      [DISPATCH_A, { model: 'Shipment', orderBy: ['priority'], select: ['id'] }],
      [
        DISPATCH_A,
        { model: 'Shipment', orderBy: ['priority'], where: { field: 'priority', op: 'gt', value: 0 } },
      ],
      [DISPATCH_A, { model: 'Contract', orderBy: ['id'] }],
    ]
    for (const [ctx, args] of moved) {
      expect((await fail(ctx, 'db_query', { ...args, cursor })).code, JSON.stringify(args)).toBe(
        'INVALID_CURSOR',
      )
    }
    // Another spelling of the same account is no longer a second name for it: refused before any cursor is read.
    expect(
      (await fail(as(`0${ACCT_A}`), 'db_query', { model: 'Shipment', orderBy: ['priority'], cursor })).code,
    ).toBe('TENANT_SCOPE_REQUIRED')
    // Another character in the second-to-last place (the last one may carry unused bits of the encoding).
    const flipped = `${cursor!.slice(0, -2)}${cursor!.at(-2) === 'A' ? 'B' : 'A'}${cursor!.slice(-1)}`
    expect(flipped).not.toBe(cursor)
    expect(
      (await fail(DISPATCH_A, 'db_query', { model: 'Shipment', orderBy: ['priority'], cursor: flipped }))
        .code,
    ).toBe('INVALID_CURSOR')
  })

  it('refuses denied, masked, hashed and unnameable fields in every position with the text of an unknown one', async () => {
    const positions: [string, string, (f: string) => Record<string, unknown>, string][] = [
      ['db_query', 'Shipment', (f) => ({ select: [f] }), ''],
      ['db_query', 'Shipment', (f) => ({ where: { field: f, op: 'is_null' } }), ' for filtering'],
      [
        'db_query',
        'Shipment',
        (f) => ({ where: { not: { and: [{ field: f, op: 'eq', value: '1' }] } } }),
        ' for filtering',
      ],
      ['db_query', 'Shipment', (f) => ({ orderBy: [f] }), ' for sorting'],
      ['db_aggregate', 'Shipment', (f) => ({ op: 'count', field: f }), ' for aggregation'],
      ['db_aggregate', 'Shipment', (f) => ({ op: 'count', groupBy: [f] }), ' for grouping'],
      ['db_create', 'Shipment', (f) => ({ data: { [f]: '1' } }), ' for writing'],
    ]
    for (const [tool, model, args, usage] of positions) {
      const base = await fail(DISPATCH_A, tool, { model, ...args('nosuch') })
      expect(base.message).toBe(`Field 'nosuch' is not available on model '${model}'${usage}`)
      const hidden =
        usage === '' ? ['archived_at'] : ['archived_at', 'pin', 'declared_value', 'receiver_email']
      for (const field of hidden) {
        const e = await fail(DISPATCH_A, tool, { model, ...args(field) })
        expect(e.code, `${tool} ${field}`).toBe('FIELD_NOT_ALLOWED')
        if (field === 'archived_at') expect(e.message).toBe(base.message.replace('nosuch', field))
      }
    }
    // Through an include, on the included model's rules; a 63-byte denied column like any other.
    const nested: Record<string, unknown>[] = [
      { model: 'Depot', include: { shipments: { where: { field: 'pin', op: 'eq', value: '1111' } } } },
      { model: 'Depot', include: { shipments: { orderBy: ['declared_value'] } } },
      { model: 'Depot', include: { shipments: { select: ['archived_at'] } } },
      { model: 'Shipment', include: { depot: { select: [LONG_COLUMN] } } },
      { model: 'Depot', where: { field: LONG_COLUMN, op: 'eq', value: 'LONG-A' } },
      { model: 'Depot', orderBy: ['gate_code'] },
      { model: 'Driver', where: { field: 'license_no', op: 'startswith', value: 'LIC' } },
    ]
    for (const args of nested)
      expect((await fail(DISPATCH_A, 'db_query', args)).code).toBe('FIELD_NOT_ALLOWED')
    // Names that need quoting come back in rows but cannot be named in a request; nor can names past 63 bytes.
    const row = (await h.toolset.get(CLERK_A, { model: 'Depot', id: { tenant_id: ACCT_A, id: 1 } })).row
    expect(row).toMatchObject({ 'Manager Name': 'Mgr A', 'qu"ote': 'q-a', phone: '+4*******567' })
    expect(row).not.toHaveProperty(LONG_COLUMN)
    expect(row['gate_code']).toMatch(/^[0-9a-f]{64}$/)
    for (const field of ['Manager Name', 'qu"ote', `${LONG_SORT}x`]) {
      expect(
        (await fail(CLERK_A, 'db_query', { model: 'Depot', where: { field, op: 'eq', value: 'x' } })).code,
      ).toBe('VALIDATION_ERROR')
    }
  })

  it('never lets a write name the account, a server-set, computed, immutable or soft-delete column', async () => {
    const a1 = { tenant_id: ACCT_A, id: 1 }
    const refusals: [RunContext, string, Record<string, unknown>, string][] = [
      [DISPATCH_A, 'db_create', { model: 'Shipment', data: { acct: ACCT_B } }, 'VALIDATION_ERROR'],
      [DISPATCH_A, 'db_create', { model: 'Shipment', data: { created_by: 'someone' } }, 'VALIDATION_ERROR'],
      [DISPATCH_A, 'db_create', { model: 'Shipment', data: { volume_m3: 1 } }, 'VALIDATION_ERROR'],
      [DISPATCH_A, 'db_create', { model: 'Shipment', data: { id: SHIP_B1 } }, 'VALIDATION_ERROR'],
      [DISPATCH_A, 'db_create', { model: 'Shipment', data: { archived_at: null } }, 'FIELD_NOT_ALLOWED'],
      [DISPATCH_A, 'db_create', { model: 'Shipment', data: { depot_id: 7 } }, 'NOT_FOUND'],
      [CLERK_A, 'db_create', { model: 'Shipment', data: { cargo: 'hazmat' } }, 'VALIDATION_ERROR'],
      [
        DISPATCH_A,
        'db_update',
        { model: 'Shipment', id: SHIP_A1, data: { cargo: 'hazmat' } },
        'VALIDATION_ERROR',
      ],
      [
        DISPATCH_A,
        'db_update',
        { model: 'Shipment', id: SHIP_A1, data: { acct: ACCT_B } },
        'VALIDATION_ERROR',
      ],
      [DISPATCH_A, 'db_update', { model: 'Shipment', id: SHIP_A1, data: { depot_id: 7 } }, 'NOT_FOUND'],
      [
        DISPATCH_A,
        'db_update',
        { model: 'Shipment', id: SHIP_A1, data: { pin: '0000' } },
        'FIELD_NOT_ALLOWED',
      ],
      [
        DISPATCH_A,
        'db_create',
        { model: 'Depot', data: { tenant_id: ACCT_B, id: 50, name: 'x' } },
        'VALIDATION_ERROR',
      ],
      [DISPATCH_A, 'db_create', { model: 'Depot', data: { id: 50, name: 'x', parent_id: 7 } }, 'NOT_FOUND'],
      [
        DISPATCH_A,
        'db_create',
        { model: 'Depot', data: { id: 50, name: 'x', port_code: 'XXXXX' } },
        'NOT_FOUND',
      ],
      [DISPATCH_A, 'db_update', { model: 'Depot', id: a1, data: { port_code: 'USNYC' } }, 'VALIDATION_ERROR'],
      [DISPATCH_A, 'db_update', { model: 'Depot', id: a1, data: { tenant_id: ACCT_B } }, 'VALIDATION_ERROR'],
      [DISPATCH_A, 'db_update', { model: 'Depot', id: a1, data: { id: 7 } }, 'VALIDATION_ERROR'],
      [DISPATCH_A, 'db_update', { model: 'Depot', id: a1, data: { gate_code: '0000' } }, 'FIELD_NOT_ALLOWED'],
      [
        DISPATCH_A,
        'db_create',
        { model: 'Driver', data: { badge: 50, name: 'x', supervisor: 3 } },
        'NOT_FOUND',
      ],
      [
        DISPATCH_A,
        'db_create',
        { model: 'Driver', data: { Tenant: ACCT_B, badge: 50, name: 'x' } },
        'VALIDATION_ERROR',
      ],
      [
        DISPATCH_A,
        'db_create',
        { model: 'Driver', data: { badge: 50, name: 'x', license_no: 'L' } },
        'FIELD_NOT_ALLOWED',
      ],
    ]
    for (const [ctx, tool, args, code] of refusals) {
      expect((await fail(ctx, tool, args)).code, JSON.stringify(args)).toBe(code)
    }
    // A bulk update naming other accounts', hidden and soft-deleted rows changes only the caller's visible one.
    expect(
      await h.toolset.call(CLERK_A, 'db_bulk_update', {
        model: 'Shipment',
        ids: [SHIP_A1, SHIP_B1, SHIP_A_HAZMAT],
        data: { notes: 'bulk' },
      }),
    ).toEqual({ ok: true, data: { updated: 1 } })
    const untouched = await sql<{ n: string }>`select count(*)::text as n from ops.shipments
      where notes = 'bulk' and id <> ${SHIP_A1}`.execute(db().admin)
    expect(untouched.rows[0]?.n).toBe('0')
    // A row written as account A lands in A with A's creator; another spelling of the account writes nothing
    // (docs/decisions.md, "A principal names its tenant in the column's canonical text").
    expect(
      (await fail(as(`0${ACCT_A}`), 'db_create', { model: 'Shipment', data: { notes: 'n' } })).code,
    ).toBe('TENANT_SCOPE_REQUIRED')
    const created = await h.toolset.create(as(ACCT_A), { model: 'Shipment', data: { notes: 'n' } })
    expect(created.row).toMatchObject({ acct: ACCT_A, created_by: 'u-probe', cargo: 'general' })
  })

  it('refuses confused, non-finite and out-of-range values before SQL', async () => {
    const probes: [string, Record<string, unknown>][] = [
      ['db_query', { model: 'Shipment', where: { field: 'weight_kg', op: 'gt', value: 'NaN' } }],
      ['db_query', { model: 'Shipment', where: { field: 'weight_kg', op: 'gt', value: '1e400' } }],
      ['db_query', { model: 'Shipment', where: { field: 'acct', op: 'gt', value: 2 ** 53 } }],
      ['db_query', { model: 'Shipment', where: { field: 'priority', op: 'eq', value: null } }],
      ['db_query', { model: 'Shipment', where: { field: 'priority', op: 'in', value: [null, 1] } }],
      ['db_query', { model: 'Shipment', where: { field: 'cargo', op: 'eq', value: 'Cold\u00a0Chain' } }],
      ['db_query', { model: 'Shipment', where: { field: 'cargo', op: 'contains', value: 'haz' } }],
      ['db_query', { model: 'Shipment', where: { field: 'manifest', op: 'eq', value: { customs: {} } } }],
      ['db_query', { model: 'Shipment', where: { field: 'labels', op: 'eq', value: ['fragile'] } }],
      ['db_query', { model: 'Shipment', where: { field: 'notes', op: 'eq', value: 'a\u0000b' } }],
      ['db_query', { model: 'Shipment', where: { field: 'notes', op: 'eq', value: 'a\ud800b' } }],
      ['db_query', { model: 'Shipment', orderBy: ['manifest'] }],
      ['db_get', { model: 'Depot', id: { tenant_id: '1001.0', id: 1 } }],
      ['db_get', { model: 'Depot', id: { tenant_id: '99999999999999999999', id: 1 } }],
      ['db_get', { model: 'Depot', id: { id: 1 } }],
      ['db_get', { model: 'Depot', id: [1001, 1] }],
      ['db_get', { model: 'Shipment', id: '{a1000000-0000-4000-8000-000000000001}' }],
      ['db_create', { model: 'Shipment', data: { weight_kg: 'Infinity' } }],
      ['db_create', { model: 'Shipment', data: { priority: 2 ** 31 } }],
      ['db_create', { model: 'Shipment', data: { eta: 'infinity' } }],
      ['db_create', { model: 'Shipment', data: { manifest: JSON.parse('{"__proto__": {"x": 1}}') } }],
      ['db_create', { model: 'Shipment', data: { manifest: { constructor: { prototype: {} } } } }],
      ['db_create', { model: 'Shipment', data: { labels: [['nested']] } }],
      ['db_create', { model: 'Shipment', data: { notes: 'x\u0000' } }],
    ]
    for (const [tool, args] of probes) {
      expect((await fail(DISPATCH_A, tool, args)).code, JSON.stringify(args)).toBe('VALIDATION_ERROR')
    }
    // A value the database itself refuses answers without its text.
    const overflow = await fail(DISPATCH_A, 'db_create', {
      model: 'Shipment',
      data: { weight_kg: '1234567890123.5' },
    })
    expect(overflow).toMatchObject({ code: 'VALIDATION_ERROR', message: 'A value has the wrong format' })
    expect(JSON.stringify(overflow)).not.toMatch(/numeric|overflow|precision|ops\.|shipments/i)
  })

  it('binds an approval to the caller, the row and the arguments, and spends it once', async () => {
    const pending = await fail(DISPATCH_A, 'db_delete', { model: 'Shipment', id: SHIP_A1, reason: 'dup' })
    expect(pending.code).toBe('WRITE_APPROVAL_REQUIRED')
    const approvalId = pending.details['approvalId']
    await h.toolset.approvals.approve(String(approvalId), 'ops-lead')
    const misuse: [RunContext, Record<string, unknown>][] = [
      [DISPATCH_B, { id: SHIP_A1, reason: 'dup' }],
      [DISPATCH_B, { id: SHIP_B2, reason: 'dup' }],
      [CLERK_A, { id: SHIP_A1, reason: 'dup' }],
      [{ principal: { ...DISPATCH_A.principal, userId: 'other' } }, { id: SHIP_A1, reason: 'dup' }],
      [DISPATCH_A, { id: SHIP_A1, reason: 'dup!' }],
      [DISPATCH_A, { id: SHIP_A1, reason: 'dup', hard: true }],
    ]
    for (const [ctx, args] of misuse) {
      const e = await fail(ctx, 'db_delete', { model: 'Shipment', approvalId, ...args })
      expect(e.code, JSON.stringify(args)).not.toBe('INTERNAL_ERROR')
    }
    expect(
      await h.toolset.call(DISPATCH_A, 'db_delete', {
        model: 'Shipment',
        id: SHIP_A1,
        reason: 'dup',
        approvalId,
      }),
    ).toMatchObject({ ok: true })
    const again = await fail(DISPATCH_A, 'db_delete', {
      model: 'Shipment',
      id: SHIP_A1,
      reason: 'dup',
      approvalId,
    })
    expect(['NOT_FOUND', 'VALIDATION_ERROR', 'WRITE_APPROVAL_REQUIRED']).toContain(again.code)
    // Soft-deleted: gone for every reader, still in the table.
    expect((await fail(DISPATCH_A, 'db_get', { model: 'Shipment', id: SHIP_A1 })).code).toBe('NOT_FOUND')
    const row = await sql<{ gone: boolean }>`select archived_at is not null as gone from ops.shipments
      where id = ${SHIP_A1}`.execute(db().admin)
    expect(row.rows[0]?.gone).toBe(true)
  })

  it('keeps nested secrets and hidden operands out of the audit', async () => {
    const secrets = ['SEKRET-1', 'SEKRET-2', 'SEKRET-3', '4711', 'ann@a.example', 'LONG-A']
    const calls: [string, Record<string, unknown>][] = [
      [
        'db_create',
        {
          model: 'Shipment',
          data: {
            manifest: {
              customs: { apiKey: 'SEKRET-1', nested: [{ Password: 'SEKRET-2' }] },
              client_secret: 'SEKRET-3',
            },
          },
        },
      ],
      ['db_query', { model: 'Depot', where: { or: [{ field: 'gate_code', op: 'in', value: ['4711'] }] } }],
      [
        'db_query',
        {
          model: 'Depot',
          include: { shipments: { where: { field: 'receiver_email', op: 'eq', value: 'ann@a.example' } } },
        },
      ],
      ['db_query', { model: 'Depot', where: { not: { field: LONG_COLUMN, op: 'eq', value: 'LONG-A' } } }],
      ['db_query', { model: 'Shipment', bogus: { password: 'SEKRET-2' } }],
    ]
    for (const [i, [tool, args]] of calls.entries()) {
      await h.toolset.call({ ...DISPATCH_A, requestId: `freight-audit-${i}` }, tool, args)
    }
    const records = (await h.audit.query({})).filter((r) => r.requestId?.startsWith('freight-audit-'))
    expect(records).toHaveLength(calls.length)
    const text = JSON.stringify(records)
    for (const secret of secrets) expect(text, secret).not.toContain(secret)
  })
})

for (const enforcement of ['rls', 'both'] as const) {
  describeEachDatabase(`red team on the freight schema under ${enforcement}`, (db) => {
    let h: ToolsetHarness
    beforeAll(async () => {
      await loadFreight(db())
      h = await toolsetFor(db(), freightPolicy(), { schemas: ['ops'], enforcement })
    })

    it('reads and writes only the caller’s visible rows through the generated policies', async () => {
      const clerk = await h.toolset.query(CLERK_A, {
        model: 'Depot',
        select: ['tenant_id', 'id'],
        include: { shipments: { select: ['id', 'cargo'] }, parent: { select: ['id'] } },
      })
      const text = JSON.stringify(clerk.rows)
      for (const hidden of [ACCT_B, 'hazmat', SHIP_A_ARCHIVED]) expect(text).not.toContain(hidden)
      expect(await h.toolset.aggregate(CLERK_A, { model: 'Shipment', op: 'count' })).toEqual({ value: 3 })
      expect(await h.toolset.aggregate(DISPATCH_B, { model: 'Shipment', op: 'count' })).toEqual({ value: 2 })
      const drivers = await h.toolset.query(DISPATCH_B, { model: 'Driver', include: { boss: true } })
      expect(JSON.stringify(drivers.rows)).not.toContain(ACCT_A)
      const refused: [RunContext, string, Record<string, unknown>, string][] = [
        [CLERK_A, 'db_update', { model: 'Shipment', id: SHIP_A_HAZMAT, data: { notes: 'x' } }, 'NOT_FOUND'],
        [DISPATCH_A, 'db_update', { model: 'Shipment', id: SHIP_B1, data: { notes: 'x' } }, 'NOT_FOUND'],
        [CLERK_A, 'db_create', { model: 'Shipment', data: { cargo: 'hazmat' } }, 'VALIDATION_ERROR'],
        [
          DISPATCH_A,
          'db_create',
          { model: 'Driver', data: { badge: 9, name: 'x', supervisor: 3 } },
          'NOT_FOUND',
        ],
        [DISPATCH_A, 'db_create', { model: 'Shipment', data: { depot_id: 7 } }, 'NOT_FOUND'],
      ]
      for (const [ctx, tool, args, code] of refused) {
        const r = await h.toolset.call(ctx, tool, args)
        expect(r, JSON.stringify(args)).toMatchObject({ ok: false, error: { code } })
      }
      const created = await h.toolset.create(DISPATCH_A, {
        model: 'Depot',
        data: { id: 7, name: 'x', parent_id: 1 },
      })
      expect(created.row).toMatchObject({ tenant_id: ACCT_A, id: 7, parent_id: 1 })
      const b7 = await sql<{
        name: string
      }>`select name from ops.depots where tenant_id = ${ACCT_B} and id = 7`.execute(db().admin)
      expect(b7.rows[0]?.name).toBe('B only')
    })
  })
}
