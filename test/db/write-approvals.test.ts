import { beforeAll, expect, it } from 'vitest'
import type { PolicyInput } from '../../src/policy/policy-schema.ts'
import { ensureApprovalTable, PostgresApprovalStore } from '../../src/stores/approval-store.ts'
import { describeEachDatabase } from '../support/databases.ts'
import { ALICE, ANDY, as, ORDER_A1, ORDER_A2, ORDER_A3, ORDER_B1, TENANT_B } from '../support/saas.ts'
import { type ToolsetHarness, toolsetFor } from '../support/toolset.ts'
import { errorOf, rowJson, rowOf, tenantSnapshot } from '../support/write-helpers.ts'
import { scopedOrder } from '../support/scoped-order.ts'

const policy: PolicyInput = {
  models: {
    Order: scopedOrder(
      { id: 'allow', tenant_id: 'allow', customer_id: 'allow', status: 'allow', total: 'allow' },
      {
        write: {
          create: 'allow',
          update: 'approval',
          delete: 'approval',
          autoSet: { tenant_id: 'principal.tenantId' },
          softDelete: { field: 'deleted_at' },
        },
      },
    ),
  },
}

interface Pending {
  approvalId: string
  expiresAt: string
}

async function requestApproval(
  h: ToolsetHarness,
  args: Record<string, unknown>,
  who = ALICE,
): Promise<Pending> {
  const e = await errorOf(h.toolset.update(as(who), args))
  expect(e).toMatchObject({ code: 'WRITE_APPROVAL_REQUIRED' })
  return e.details as unknown as Pending
}

describeEachDatabase('writes that need approval', (db) => {
  let h: ToolsetHarness
  beforeAll(async () => {
    h = await toolsetFor(db(), policy, { approvalTtlMs: 60_000 })
  })

  it('executes nothing and answers WRITE_APPROVAL_REQUIRED with an approval id and its expiry', async () => {
    const before = await rowJson(db(), 'orders', ORDER_A1)
    const started = Date.now()
    const args = { model: 'Order', id: ORDER_A1, data: { status: 'refunded' }, reason: 'customer asked' }
    const r = await h.toolset.call(as(ALICE, 'req-appr-1'), 'db_update', args)
    expect(r).toMatchObject({
      ok: false,
      error: { code: 'WRITE_APPROVAL_REQUIRED', message: "Operation 'update' on Order needs approval" },
    })
    const details = (r as unknown as { error: { details: Pending } }).error.details
    expect(details.approvalId).toMatch(/^[0-9a-f-]{36}$/)
    expect(Date.parse(details.expiresAt)).toBeGreaterThanOrEqual(started + 59_000)
    // Every caller (library, MCP, provider converters) gets the preview the approver reads.
    expect((details as unknown as { preview: string }).preview).toBe(
      `Update Order id "${ORDER_A1}" set status = "refunded" — reason: "customer asked"`,
    )
    expect(await rowJson(db(), 'orders', ORDER_A1)).toBe(before)
    const stored = await h.toolset.approvals.get(details.approvalId)
    expect(stored).toMatchObject({
      status: 'pending',
      tenantId: ALICE.tenantId,
      userId: ALICE.userId,
      tool: 'db_update',
      model: 'Order',
    })
    expect(stored?.args).toMatchObject({
      id: ORDER_A1,
      data: { status: 'refunded' },
      reason: 'customer asked',
    })
    const [record] = (await h.audit.query({ tool: 'db_update' })).filter((x) => x.requestId === 'req-appr-1')
    expect(record).toMatchObject({ outcome: 'denied', errorCode: 'WRITE_APPROVAL_REQUIRED' })
  })

  it('executes the approved payload once; the same approval id again is refused', async () => {
    const args = { model: 'Order', id: ORDER_A2, data: { status: 'approved-change' } }
    const { approvalId } = await requestApproval(h, args)
    expect(await h.toolset.approvals.approve(approvalId, 'manager-1')).toMatchObject({ status: 'approved' })
    const r = await h.toolset.update(as(ALICE), { ...args, approvalId })
    expect(r.row).toMatchObject({ id: ORDER_A2, status: 'approved-change' })
    expect((await rowOf(db(), 'orders', ORDER_A2))?.['status']).toBe('approved-change')
    const again = await errorOf(h.toolset.update(as(ALICE), { ...args, approvalId }))
    expect(again).toEqual({
      code: 'VALIDATION_ERROR',
      message: 'The approval has already been used',
      hints: [],
      details: { issues: [{ path: 'approvalId', message: 'The approval has already been used' }] },
    })
  })

  it('says the approval is still pending when it is re-submitted before anyone approved it', async () => {
    const args = { model: 'Order', id: ORDER_A3, data: { status: 'early' } }
    const before = await rowJson(db(), 'orders', ORDER_A3)
    const { approvalId } = await requestApproval(h, args)
    const e = await errorOf(h.toolset.update(as(ALICE), { ...args, approvalId }))
    expect(e).toMatchObject({
      code: 'WRITE_APPROVAL_REQUIRED',
      message: 'The approval is still pending',
      details: { approvalId, preview: `Update Order id "${ORDER_A3}" set status = "early"` },
    })
    expect(await rowJson(db(), 'orders', ORDER_A3)).toBe(before)
  })

  it('refuses a modified payload, another principal and another tool, leaving the approval usable for the original', async () => {
    const args = { model: 'Order', id: ORDER_A3, data: { status: 'ok-status' } }
    const before = await rowJson(db(), 'orders', ORDER_A3)
    const { approvalId } = await requestApproval(h, args)
    await h.toolset.approvals.approve(approvalId, 'manager-1')
    const refusal = 'The approval does not exist or was granted for other arguments'
    const changed = await errorOf(
      h.toolset.update(as(ALICE), { ...args, data: { status: 'sneaky' }, approvalId }),
    )
    expect(changed).toMatchObject({ code: 'VALIDATION_ERROR', message: refusal })
    const otherUser = await errorOf(h.toolset.update(as(ANDY), { ...args, approvalId }))
    expect(otherUser).toMatchObject({ code: 'VALIDATION_ERROR', message: refusal })
    const otherTool = await errorOf(h.toolset.delete(as(ALICE), { model: 'Order', id: ORDER_A3, approvalId }))
    expect(otherTool).toMatchObject({ code: 'VALIDATION_ERROR', message: refusal })
    const unknown = await errorOf(h.toolset.update(as(ALICE), { ...args, approvalId: 'no-such-approval' }))
    expect(unknown).toEqual(changed)
    expect(await rowJson(db(), 'orders', ORDER_A3)).toBe(before)
    const r = await h.toolset.update(as(ALICE), { ...args, approvalId })
    expect(r.row['status']).toBe('ok-status')
  })

  it('never executes a rejected approval', async () => {
    const args = { model: 'Order', id: ORDER_A1, data: { status: 'rejected-change' } }
    const before = await rowJson(db(), 'orders', ORDER_A1)
    const { approvalId } = await requestApproval(h, args)
    expect(await h.toolset.approvals.reject(approvalId, 'manager-1')).toMatchObject({ status: 'rejected' })
    const e = await errorOf(h.toolset.update(as(ALICE), { ...args, approvalId }))
    expect(e).toMatchObject({ code: 'VALIDATION_ERROR', message: 'The approval was rejected' })
    expect(await rowJson(db(), 'orders', ORDER_A1)).toBe(before)
  })

  it('never executes an expired approval', async () => {
    const short = await toolsetFor(db(), policy, { approvalTtlMs: 250 })
    const args = { model: 'Order', id: ORDER_A1, data: { status: 'too-late' } }
    const before = await rowJson(db(), 'orders', ORDER_A1)
    const { approvalId } = await requestApproval(short, args)
    await short.toolset.approvals.approve(approvalId, 'manager-1')
    await new Promise((resolve) => setTimeout(resolve, 350))
    const e = await errorOf(short.toolset.update(as(ALICE), { ...args, approvalId }))
    expect(e).toMatchObject({ code: 'VALIDATION_ERROR', message: 'The approval has expired' })
    expect(await rowJson(db(), 'orders', ORDER_A1)).toBe(before)
  })

  it("refuses a write on B's id before any approval is created, exactly like a missing id", async () => {
    const b = await tenantSnapshot(db(), TENANT_B)
    const foreign = await h.toolset.call(as(ALICE), 'db_delete', { model: 'Order', id: ORDER_B1 })
    const missing = await h.toolset.call(as(ALICE), 'db_delete', {
      model: 'Order',
      id: '0a000000-0000-4000-8000-0000000000ee',
    })
    expect(foreign).toMatchObject({ ok: false, error: { code: 'NOT_FOUND' } })
    expect(missing).toEqual(foreign)
    const invalid = await h.toolset.call(as(ALICE), 'db_update', {
      model: 'Order',
      id: ORDER_A1,
      data: { total: 'many' },
    })
    expect(invalid).toMatchObject({ ok: false, error: { code: 'VALIDATION_ERROR' } })
    expect(await tenantSnapshot(db(), TENANT_B)).toEqual(b)
  })

  it('soft-deletes through an approval like any other approved write', async () => {
    const created = await h.toolset.create(as(ALICE), { model: 'Order', data: { status: 'to-delete' } })
    const args = { model: 'Order', id: created.row['id'] as string }
    const e = await errorOf(h.toolset.delete(as(ALICE), args))
    const { approvalId } = e.details as unknown as Pending
    await h.toolset.approvals.approve(approvalId, 'manager-1')
    expect(await h.toolset.delete(as(ALICE), { ...args, approvalId })).toEqual({ deleted: 1, soft: true })
    expect((await rowOf(db(), 'orders', args.id))?.['deleted_at']).not.toBeNull()
  })

  it('runs the same flow with the PostgreSQL approval store', async () => {
    await ensureApprovalTable(db().admin)
    const approvals = new PostgresApprovalStore(db().admin)
    const pg = await toolsetFor(db(), policy, { approvals })
    const args = { model: 'Order', id: ORDER_A1, data: { status: 'pg-approved' } }
    const { approvalId } = await requestApproval(pg, args)
    expect(await approvals.get(approvalId)).toMatchObject({ status: 'pending' })
    await approvals.approve(approvalId, 'manager-2')
    expect((await pg.toolset.update(as(ALICE), { ...args, approvalId })).row['status']).toBe('pg-approved')
    const again = await errorOf(pg.toolset.update(as(ALICE), { ...args, approvalId }))
    expect(again.message).toBe('The approval has already been used')
  })
})
