/**
 * The red team's attacks that Tessera withstood, kept on a second schema (test/support/clinic.ts) so the
 * guarantees are not an accident of the SaaS fixture: uuid tenant column with a non-tenant-like name, bigint
 * identity, composite and self-referencing keys, an enum, jsonb, arrays, NaN/infinite floats, soft delete and
 * a restrictive rule with a principal-only branch. Findings that were fixed have their own regression files.
 */
import { beforeAll, expect, it } from 'vitest'
import type { RunContext } from '../../src/context/index.ts'
import {
  APPOINTMENT_B,
  CLINIC_A,
  CLINIC_B,
  clinicPolicy,
  DOCTOR_A,
  DOCTOR_B,
  loadClinic,
  NOTE_A_CONFIDENTIAL,
  NOTE_A1,
  NURSE_A,
  PATIENT_A_GONE,
  PATIENT_A1,
  PATIENT_B1,
} from '../support/clinic.ts'
import { describeEachDatabase } from '../support/databases.ts'
import { callError, type ToolsetHarness, toolsetFor } from '../support/toolset.ts'

const MISSING_UUID = 'c0000000-0000-4000-8000-000000000001'

describeEachDatabase('red team on the clinic schema', (db) => {
  let h: ToolsetHarness
  const fail = (ctx: RunContext, tool: string, args: unknown) => callError(h, ctx, tool, args)

  beforeAll(async () => {
    await loadClinic(db())
    h = await toolsetFor(db(), clinicPolicy())
  })

  it('answers another clinic’s row exactly like a missing one, for uuid, identity and composite keys', async () => {
    const cases: [string, unknown, unknown][] = [
      ['Patient', PATIENT_B1, MISSING_UUID],
      ['Patient', PATIENT_A_GONE, MISSING_UUID], // soft-deleted
      ['Appointment', APPOINTMENT_B, 999],
      ['Staff', { clinic: CLINIC_B, id: 7 }, { clinic: CLINIC_A, id: 7 }],
      ['Note', NOTE_A_CONFIDENTIAL, MISSING_UUID], // hidden from nurses by a restrictive rule
    ]
    const change: Record<string, unknown> = {
      Patient: { full_name: 'x' },
      Appointment: { fee: 1 },
      Staff: { select: 'x' },
      Note: { body: 'x' },
    }
    for (const [model, hidden, missing] of cases) {
      for (const [tool, extra] of [
        ['db_get', {}],
        ['db_update', { data: change[model] }],
      ] as const) {
        const a = await fail(NURSE_A, tool, { model, id: hidden, ...extra })
        expect(a, `${tool} ${model}`).toEqual(await fail(NURSE_A, tool, { model, id: missing, ...extra }))
        expect(a.code).toBe('NOT_FOUND')
      }
    }
    expect(await fail(NURSE_A, 'db_delete', { model: 'Appointment', id: APPOINTMENT_B })).toEqual(
      await fail(NURSE_A, 'db_delete', { model: 'Appointment', id: 999 }),
    )
  })

  it('applies each included model’s own scope and rules, through relations and self-references', async () => {
    const { row } = await h.toolset.get(NURSE_A, {
      model: 'Patient',
      id: PATIENT_A1,
      select: ['id'],
      include: { notes: { select: ['id', 'confidential'] }, appointments: { include: { doctor: true } } },
    })
    expect((row['notes'] as { id: string }[]).map((n) => n.id)).toEqual([NOTE_A1])
    const { rows } = await h.toolset.query(NURSE_A, {
      model: 'Note',
      select: ['id'],
      include: { patient: { select: ['id'], include: { notes: { select: ['id'] } } } },
    })
    expect(JSON.stringify(rows)).not.toContain(NOTE_A_CONFIDENTIAL)
    const staff = await h.toolset.query(DOCTOR_B, {
      model: 'Staff',
      include: { manager: { include: { manager: true } } },
    })
    expect(JSON.stringify(staff.rows)).not.toContain(CLINIC_A)
    expect(JSON.stringify(staff.rows)).not.toContain('salary')
  })

  it('refuses denied and masked fields in every position with the text of an unknown field', async () => {
    const positions = (field: string) =>
      [
        ['db_query', { model: 'Patient', where: { field, op: 'eq', value: 'hiv' } }],
        ['db_query', { model: 'Patient', orderBy: [field] }],
        ['db_aggregate', { model: 'Patient', op: 'count', groupBy: [field] }],
        ['db_aggregate', { model: 'Patient', op: 'max', field }],
        ['db_query', { model: 'Patient', include: { notes: { where: { field, op: 'eq', value: 'x' } } } }],
        [
          'db_query',
          {
            model: 'Patient',
            include: { notes: { where: { not: { field: 'secret', op: 'in', value: ['B-SECRET'] } } } },
          },
        ],
      ] as const
    for (const field of ['diagnosis', 'hiv', 'ssn']) {
      for (const [i, [tool, args]] of positions(field).entries()) {
        const denied = await fail({ ...NURSE_A, requestId: `denied-${field}-${i}` }, tool, args)
        const unknown = await fail(
          NURSE_A,
          tool,
          JSON.parse(
            JSON.stringify(args).replaceAll(`"${field}"`, '"nosuch"').replaceAll('"secret"', '"nosuch"'),
          ),
        )
        expect(denied.code, `${field} #${i}`).toBe('FIELD_NOT_ALLOWED')
        expect(JSON.stringify(denied).replaceAll(field, 'X').replaceAll('secret', 'X')).toBe(
          JSON.stringify(unknown).replaceAll('nosuch', 'X'),
        )
      }
    }
    // The probes' values are redacted in the audit like the field they name.
    const audit = (await h.audit.query({ tenantId: CLINIC_A })).filter((r) =>
      r.requestId?.startsWith('denied-'),
    )
    expect(audit).toHaveLength(18)
    expect(JSON.stringify(audit.map((r) => r.inputs))).not.toContain('B-SECRET')
  })

  it('counts and groups only the caller’s rows', async () => {
    expect(
      await h.toolset.aggregate(NURSE_A, { model: 'Appointment', op: 'count', groupBy: ['status'] }),
    ).toEqual({
      groups: expect.arrayContaining([
        { key: { status: 'booked' }, value: 1 },
        { key: { status: 'done' }, value: 1 },
      ]),
    })
    const b = await h.toolset.aggregate(DOCTOR_B, { model: 'Patient', op: 'sum', field: 'visits' })
    expect(b).toEqual({ value: '9223372036854775807' })
    expect(await h.toolset.aggregate(NURSE_A, { model: 'Note', op: 'count' })).toEqual({ value: 1 })
  })

  it('keeps interleaved calls of two clinics and two roles apart (statement cache, session batches)', async () => {
    const calls = [
      [
        NURSE_A,
        { model: 'Patient', select: ['clinic'], include: { notes: { select: ['clinic', 'confidential'] } } },
      ],
      [
        DOCTOR_B,
        { model: 'Patient', select: ['clinic'], include: { notes: { select: ['clinic', 'confidential'] } } },
      ],
      [DOCTOR_A, { model: 'Appointment', select: ['clinic'], include: { patient: { select: ['clinic'] } } }],
      [DOCTOR_B, { model: 'Appointment', select: ['clinic'], include: { patient: { select: ['clinic'] } } }],
    ] as const
    for (let wave = 0; wave < 10; wave++) {
      // Waves of six stay under the per-tenant concurrency budget (PROD 8).
      const results = await Promise.all(
        Array.from({ length: 6 }, (_, i) => calls[(wave + i) % calls.length]!).map(async ([ctx, args]) => ({
          ctx,
          text: JSON.stringify(await h.toolset.query(ctx, args)),
        })),
      )
      for (const { ctx, text } of results) {
        expect(text).not.toContain(ctx === DOCTOR_B ? CLINIC_A : CLINIC_B)
        if (ctx === NURSE_A) expect(text).not.toContain('"confidential":true')
      }
    }
  })

  it('binds cursors to the principal, role and model', async () => {
    const first = await h.toolset.query(NURSE_A, { model: 'Patient', select: ['id'], limit: 1 })
    const cursor = first.nextCursor
    expect(cursor).toEqual(expect.any(String))
    for (const [ctx, model] of [
      [DOCTOR_B, 'Patient'],
      [DOCTOR_A, 'Patient'],
      [NURSE_A, 'Appointment'],
    ] as const) {
      const e = await fail(ctx, 'db_query', { model, select: ['id'], limit: 1, cursor })
      expect(e.code).toBe('INVALID_CURSOR')
    }
  })

  it('pages through NaN, infinities, NULLs and ties exactly once in both directions', async () => {
    const admin = db().admin
    const weights = ['NaN', '-0', '0', null, '1.5', '1.5', 'Infinity', '-Infinity', null, '5e-324']
    for (const [i, w] of weights.entries()) {
      await admin
        .insertInto('patients')
        .values({
          clinic: CLINIC_A,
          full_name: `P${i}`,
          Weight: w,
          balance: i % 3 === 0 ? 'NaN' : String(i % 2),
          order: i % 4 === 0 ? null : i % 2,
        })
        .execute()
    }
    const total = (await h.toolset.aggregate(NURSE_A, { model: 'Patient', op: 'count' })) as { value: number }
    for (const field of ['Weight', 'balance', 'order', 'dob']) {
      for (const direction of ['asc', 'desc'] as const) {
        const seen: unknown[] = []
        let cursor: string | null = null
        do {
          const page: { rows: Record<string, unknown>[]; nextCursor: string | null } = await h.toolset.query(
            NURSE_A,
            {
              model: 'Patient',
              select: ['id'],
              orderBy: [{ field, direction }],
              limit: 3,
              ...(cursor === null ? {} : { cursor }),
            },
          )
          seen.push(...page.rows.map((r) => r['id']))
          cursor = page.nextCursor
        } while (cursor !== null)
        expect(new Set(seen).size, `${field} ${direction}`).toBe(seen.length)
        expect(seen.length, `${field} ${direction}`).toBe(total.value)
      }
    }
  })

  it('treats a reference to another clinic’s row, a hidden row or a missing row the same on writes', async () => {
    const refs = [
      ['Appointment', { patient_id: PATIENT_B1 }, { patient_id: MISSING_UUID }],
      ['Appointment', { patient_id: PATIENT_A_GONE }, { patient_id: MISSING_UUID }],
      ['Appointment', { patient_id: PATIENT_A1, doctor_id: 7 }, { patient_id: PATIENT_A1, doctor_id: 99 }],
      ['Note', { patient_id: PATIENT_B1, body: 'plant' }, { patient_id: MISSING_UUID, body: 'plant' }],
      ['Staff', { id: 40, manager_id: 7 }, { id: 40, manager_id: 99 }],
    ] as const
    for (const [model, hidden, missing] of refs) {
      const a = await fail(NURSE_A, 'db_create', { model, data: hidden })
      expect(a).toEqual(await fail(NURSE_A, 'db_create', { model, data: missing }))
      expect(a.code).toBe('NOT_FOUND')
    }
    const moved = await fail(NURSE_A, 'db_update', {
      model: 'Appointment',
      id: 1,
      data: { patient_id: PATIENT_B1 },
    })
    expect(moved.code).toBe('NOT_FOUND')
  })

  it('never lets a write name the clinic, change a key, reach another clinic or leave the caller’s rules', async () => {
    const refused = [
      ['db_create', { model: 'Appointment', data: { patient_id: PATIENT_A1, clinic: CLINIC_B } }],
      ['db_create', { model: 'Appointment', data: { patient_id: PATIENT_A1, id: 3 } }],
      ['db_create', { model: 'Patient', data: { full_name: 'x', id: PATIENT_B1 } }],
      ['db_update', { model: 'Staff', id: { clinic: CLINIC_A, id: 1 }, data: { clinic: CLINIC_B } }],
      ['db_update', { model: 'Appointment', id: 1, data: { id: APPOINTMENT_B } }],
      ['db_update', { model: 'Patient', id: PATIENT_A1, data: { dob: '2000-01-01' } }],
      ['db_update', { model: 'Patient', id: PATIENT_A1, data: { deleted_at: null } }],
      [
        'db_create',
        { model: 'Note', data: { patient_id: PATIENT_A1, body: 'x', author: DOCTOR_A.principal.userId } },
      ],
      ['db_create', { model: 'Note', data: { patient_id: PATIENT_A1, body: 'x', confidential: true } }],
      ['db_update', { model: 'Note', id: NOTE_A1, data: { confidential: true } }],
      ['db_bulk_update', { model: 'Note', ids: [NOTE_A1], data: { confidential: true } }],
      ['db_delete', { model: 'Patient', id: PATIENT_A1, hard: true }],
    ] as const
    for (const [tool, args] of refused) {
      const e = await fail(NURSE_A, tool, args)
      expect(['VALIDATION_ERROR', 'FIELD_NOT_ALLOWED'], `${tool} ${JSON.stringify(args)}`).toContain(e.code)
    }
    expect(
      await h.toolset.bulkUpdate(NURSE_A, {
        model: 'Appointment',
        ids: [1, APPOINTMENT_B],
        data: { fee: 51 },
      }),
    ).toEqual({ updated: 1 })
    const b = await db()
      .admin.selectFrom('appointments')
      .select('fee')
      .where('id', '=', APPOINTMENT_B)
      .executeTakeFirstOrThrow()
    expect(b.fee).toBe('500.00')
    const notes = await db()
      .admin.selectFrom('notes')
      .select(['id', 'confidential'])
      .where('clinic', '=', CLINIC_A)
      .execute()
    expect(notes.filter((n) => n.confidential === true).map((n) => n.id)).toEqual([NOTE_A_CONFIDENTIAL])
  })

  it('refuses confused values before SQL and never shows database text', async () => {
    const bad = [
      { model: 'Patient', data: { full_name: 'x', visits: '9223372036854775808' } },
      { model: 'Patient', data: { full_name: 'x', visits: 1.5 } },
      { model: 'Patient', data: { full_name: 'x', Weight: 'Infinity' } },
      { model: 'Patient', data: { full_name: 'x', order: 2147483648 } },
      { model: 'Patient', data: { full_name: 'x', dob: '5874898-01-01' } },
      { model: 'Patient', data: { full_name: 'x', allergies: [['nested']] } },
      { model: 'Patient', data: { full_name: 'x\u0000y' } },
      { model: 'Patient', data: JSON.parse('{"full_name":"x","meta":{"__proto__":{"admin":true}}}') },
      { model: 'Appointment', data: { patient_id: PATIENT_A1, starts_at: '2026-02-30T00:00:00Z' } },
      { model: 'Appointment', data: { patient_id: PATIENT_A1, fee: 'NaN' } },
      { model: 'Appointment', data: { patient_id: PATIENT_A1, fee: 123456789012 } },
      { model: 'Appointment', data: { patient_id: PATIENT_A1, status: 'cancelled' } },
    ]
    for (const args of bad) {
      const e = await fail(NURSE_A, 'db_create', args)
      expect(e.code, JSON.stringify(args)).toBe('VALIDATION_ERROR')
      expect(JSON.stringify(e)).not.toMatch(/invalid input|out of range for type|violates|relation "|syntax/i)
    }
    const reads = [
      { model: 'Appointment', id: '9223372036854775808' },
      { model: 'Appointment', id: 1.5 },
      { model: 'Patient', id: 'not-a-uuid' },
      { model: 'Staff', id: 1 },
      { model: 'Staff', id: { clinic: CLINIC_A, id: 1, salary: 1 } },
    ]
    for (const args of reads) expect((await fail(NURSE_A, 'db_get', args)).code).toBe('VALIDATION_ERROR')
  })

  it('reads a principal from the host only, and refuses one it cannot compare with a uuid tenant column', async () => {
    const e = await fail(NURSE_A, 'db_query', { model: 'Patient', tenantId: CLINIC_B })
    expect(e.code).toBe('VALIDATION_ERROR')
    for (const tenantId of [` ${CLINIC_A}`, `{${CLINIC_A}}`, CLINIC_A.replaceAll('-', '')]) {
      const r = await h.toolset.call({ principal: { tenantId, roles: ['doctor'] } }, 'db_query', {
        model: 'Note',
      })
      expect(r).toEqual({ ok: false, error: expect.objectContaining({ code: 'TENANT_SCOPE_REQUIRED' }) })
    }
  })
})
