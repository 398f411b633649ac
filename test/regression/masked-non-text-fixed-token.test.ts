/**
 * Regression (red team, clinic schema): the default `auto` mask kept the shape of values that are not free text,
 * and for them the shape is the value. A masked boolean came back `****` for true and `f***e` for false; a
 * masked date of birth `1980-12-25` as the phone-like `1****225` (day and month); an enum label as its first
 * and last letter and its length. Only plain text columns keep a shape now; the rest mask to the fixed token
 * unless the policy asks for a style or pattern.
 */
import { beforeAll, expect, it } from 'vitest'
import type { PolicyInput } from '../../src/policy/policy-schema.ts'
import { clinicPolicy, loadClinic, NURSE_A, PATIENT_A1, PATIENT_A2 } from '../support/clinic.ts'
import { describeEachDatabase } from '../support/databases.ts'
import { toolsetFor } from '../support/toolset.ts'

function maskedPolicy(style?: 'partial'): PolicyInput {
  const policy = clinicPolicy()
  const rule = style === undefined ? ('mask' as const) : { action: 'mask' as const, style }
  const patient = policy.models['Patient']
  const appointment = policy.models['Appointment']
  if (patient?.fields === undefined || appointment?.fields === undefined)
    throw new Error('clinic policy changed')
  Object.assign(patient.fields, { hiv: rule, dob: rule, full_name: rule, deleted_at: rule })
  Object.assign(appointment.fields, { status: rule, starts_at: rule })
  patient.aggregations = { fields: ['balance'], groupBy: ['order'] }
  appointment.aggregations = { fields: ['fee'], groupBy: ['doctor_id'] }
  for (const model of [patient, appointment]) {
    if (model.write) model.write = { ...model.write, immutableFields: [] }
  }
  return policy
}

describeEachDatabase('masked values that are not free text', (db) => {
  beforeAll(async () => {
    await loadClinic(db())
  })

  it('masks booleans, dates and timestamps to the fixed token by default', async () => {
    const h = await toolsetFor(db(), maskedPolicy())
    for (const id of [PATIENT_A1, PATIENT_A2]) {
      const { row } = await h.toolset.get(NURSE_A, { model: 'Patient', id, select: ['hiv', 'dob'] })
      expect(row).toEqual({ hiv: '****', dob: '****' })
    }
  })

  it('masks enum labels to the fixed token by default, inside includes too', async () => {
    const h = await toolsetFor(db(), maskedPolicy())
    const { rows } = await h.toolset.query(NURSE_A, {
      model: 'Patient',
      select: ['id'],
      include: { appointments: { select: ['status', 'starts_at'] } },
    })
    const appointments = rows.flatMap((r) => r['appointments'] as Record<string, unknown>[])
    expect(appointments.length).toBe(2)
    for (const a of appointments) expect(a).toEqual({ status: '****', starts_at: '****' })
  })

  it('keeps the shape of plain text, and of anything else only where the policy names a style', async () => {
    const auto = await toolsetFor(db(), maskedPolicy())
    const partial = await toolsetFor(db(), maskedPolicy('partial'))
    const get = async (h: typeof auto) =>
      (await h.toolset.get(NURSE_A, { model: 'Patient', id: PATIENT_A1, select: ['full_name', 'hiv'] })).row
    expect(await get(auto)).toEqual({ full_name: 'A***A', hiv: '****' })
    expect(await get(partial)).toEqual({ full_name: 'A***A', hiv: 'f***e' })
  })
})
