import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { expect, it } from 'vitest'
import { parse } from 'yaml'
import type { Principal } from '../../src/context/index.ts'
import {
  parseRecording,
  recordingFile,
  recordingToolset,
  replayCalls,
  replayLines,
  type RecordedCall,
} from '../../src/eval/index.ts'
import type { PolicyInput } from '../../src/policy/policy-schema.ts'
import { describeEachDatabase, type TestDatabase } from '../support/databases.ts'
import { toolsetFor } from '../support/toolset.ts'

const TENANT_A = 'a0000000-0000-4000-8000-000000000000'
const TENANT_B = 'b0000000-0000-4000-8000-000000000000'
const ACME_ORDER = '0a000000-0000-4000-8000-000000000001'
const GLOBEX_ORDER = '0b000000-0000-4000-8000-000000000001'

function adminBypass(): PolicyInput {
  const file = fileURLToPath(new URL('../../policies/admin-bypass.yaml', import.meta.url))
  const input = parse(readFileSync(file, 'utf8')) as Record<string, unknown>
  delete input['$schema']
  return input as unknown as PolicyInput
}

/** The same policy with the super_admin bypass removed. */
function withoutBypass(): PolicyInput {
  const p = adminBypass() as unknown as {
    models: Record<string, { rowPolicies?: { bypass?: boolean }[] }>
  }
  for (const m of Object.values(p.models)) {
    if (m.rowPolicies) m.rowPolicies = m.rowPolicies.filter((r) => r.bypass !== true)
    if (m.rowPolicies?.length === 0) delete m.rowPolicies
  }
  return p as unknown as PolicyInput
}

const superAdmin: Principal = { tenantId: TENANT_B, roles: ['super_admin'] }
const bob: Principal = { tenantId: TENANT_B, roles: ['admin'] }
const andy: Principal = { tenantId: TENANT_A, roles: ['member'] }

/** A session under the bypass policy; calls 1–3 depend on the bypass, 4–7 do not. */
async function recordSession(db: TestDatabase, file?: string): Promise<RecordedCall[]> {
  const { toolset: inner } = await toolsetFor(db, adminBypass())
  const calls: RecordedCall[] = []
  const disk = file === undefined ? undefined : recordingFile(file, inner.bound)
  const toolset = recordingToolset(inner, {
    record: (c) => {
      calls.push(c)
      disk?.record(c)
    },
  })
  const session: [Principal, string, Record<string, unknown>][] = [
    [superAdmin, 'db_query', { model: 'Order', select: ['id', 'status'] }],
    [superAdmin, 'db_get', { model: 'Order', id: ACME_ORDER }],
    [superAdmin, 'db_aggregate', { model: 'Order', op: 'count' }],
    [bob, 'db_query', { model: 'Order', limit: 2 }],
    [bob, 'db_get', { model: 'Order', id: ACME_ORDER }],
    [andy, 'db_query', { model: 'Order', select: ['status', 'total'] }],
    [superAdmin, 'db_get', { model: 'Order', id: GLOBEX_ORDER }],
  ]
  for (const [principal, tool, args] of session) await toolset.call({ principal }, tool, args)
  disk?.close()
  return calls
}

describeEachDatabase('record and replay under another policy', (db) => {
  it('records every call with its principal, arguments and outcome, and reads the JSONL file back', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'tessera-record-')), 'session.jsonl')
    const calls = await recordSession(db(), file)
    expect(calls.map((c) => c.seq)).toEqual([1, 2, 3, 4, 5, 6, 7])
    expect(calls[1]?.outcome).toEqual({
      ok: true,
      rows: { [JSON.stringify([ACME_ORDER])]: expect.any(String) },
      digest: expect.any(String),
    })
    expect(calls[4]?.outcome).toEqual({ ok: false, code: 'NOT_FOUND' })
    // Rows without their key are told apart by value; equal rows are numbered, never merged.
    const andyRows = Object.keys(calls[5]?.outcome.ok === true ? calls[5].outcome.rows : {})
    expect(andyRows.every((k) => k.startsWith('row '))).toBe(true)
    const back = parseRecording(readFileSync(file, 'utf8'), file)
    expect(back.header?.type).toBe('session')
    expect(back.calls).toEqual(JSON.parse(JSON.stringify(calls)))
  })

  it('reports no change when replayed under the same policy (cursors and timing do not count)', async () => {
    const calls = await recordSession(db())
    const { toolset } = await toolsetFor(db(), adminBypass())
    const report = await replayCalls(toolset, calls)
    expect(report.changed).toEqual([])
    expect(replayLines(report).at(-1)).toBe('No change: all 7 calls replayed with the same outcome.')
  })

  it('reports exactly the calls whose results change when the admin bypass is removed', async () => {
    const calls = await recordSession(db())
    const { toolset } = await toolsetFor(db(), withoutBypass())
    const report = await replayCalls(toolset, calls)
    expect(report.changed.map((c) => [c.seq, c.change])).toEqual([
      [1, 'rows-changed'],
      [2, 'newly-denied'],
      [3, 'rows-changed'],
    ])
    const [query, get] = report.changed
    // The super admin now sees its own tenant's live orders only: the others' keys are listed as removed.
    expect(query?.rowsAdded).toEqual([])
    expect(query?.rowsRemoved).toContain(JSON.stringify([ACME_ORDER]))
    expect(query?.rowsRemoved.some((k) => k.includes('0b000000'))).toBe(false)
    expect(get?.after).toEqual({ ok: false, code: 'NOT_FOUND' })
    const text = replayLines(report).join('\n')
    expect(text).toContain(`newly-denied  #2 db_get Order as tenant "${TENANT_B}": ok, 1 rows → NOT_FOUND`)
    expect(text).toContain('3 of 7 calls changed.')
  })

  it('reports rows altered in place when a field becomes masked', async () => {
    const calls = await recordSession(db())
    const masked = adminBypass() as unknown as { models: { Order: { fields: Record<string, unknown> } } }
    masked.models.Order.fields['status'] = 'mask'
    const { toolset } = await toolsetFor(db(), masked as unknown as PolicyInput)
    const report = await replayCalls(toolset, calls)
    const first = report.changed.find((c) => c.seq === 1)
    expect(first?.change).toBe('rows-changed')
    expect(first?.rowsAltered).toContain(JSON.stringify([ACME_ORDER]))
    expect(first?.rowsAdded).toEqual([])
  })
})
