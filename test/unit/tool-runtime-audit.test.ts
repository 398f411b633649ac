import { describe, expect, it } from 'vitest'
import { MemoryAuditStore, verifyAuditChain } from '../../src/stores/index.ts'
import { TesseraError } from '../../src/errors/index.ts'
import { runReadTool } from '../../src/tools/run-read-tool.ts'
import type { ToolRuntime } from '../../src/tools/tool-runtime.ts'

function runtimeWith(audit: MemoryAuditStore): ToolRuntime {
  // runReadTool reads only the audit store, the policy version and the logger.
  return { audit, bound: { policy: { versionHash: 'v1' } }, logger: undefined } as unknown as ToolRuntime
}

const ctx = { principal: { tenantId: 'tenant-a' }, requestId: 'req-1' }

describe('read tools and the audit store', () => {
  it('records every successful read, sealed into the chain before anyone reads the store', async () => {
    const audit = new MemoryAuditStore()
    const runtime = runtimeWith(audit)
    for (let i = 0; i < 3; i++) {
      await runReadTool(runtime, 'db_get', 'read', ctx, { model: 'Order', id: i }, async ({ facts }) => {
        facts.rowCount = 1
        return i
      })
    }
    // Newest first.
    const records = (await audit.query()).reverse()
    expect(records.map((r) => [r.tool, r.outcome, r.rowCount, (r.inputs as { id: number }).id])).toEqual([
      ['db_get', 'success', 1, 0],
      ['db_get', 'success', 1, 1],
      ['db_get', 'success', 1, 2],
    ])
    expect(verifyAuditChain(records)).toBe(-1)
  })

  it('turns a read the store refuses to record into INTERNAL_ERROR, and records the next call again', async () => {
    const audit = new MemoryAuditStore()
    audit.failNext(1)
    const outcome = await runReadTool(
      runtimeWith(audit),
      'db_get',
      'read',
      ctx,
      { model: 'Order' },
      async () => 1,
    ).then(
      () => null,
      (e: unknown) => e,
    )
    expect(outcome).toBeInstanceOf(TesseraError)
    expect((outcome as TesseraError).code).toBe('INTERNAL_ERROR')
    expect(await audit.query()).toEqual([])
    await runReadTool(runtimeWith(audit), 'db_get', 'read', ctx, { model: 'Order' }, async () => 1)
    expect((await audit.query()).map((r) => r.outcome)).toEqual(['success'])
  })

  it('records a denial with its error code', async () => {
    const audit = new MemoryAuditStore()
    const outcome = await runReadTool(
      runtimeWith(audit),
      'db_get',
      'read',
      { principal: {} },
      {},
      async () => 1,
    ).then(
      () => null,
      (e: unknown) => (e as TesseraError).code,
    )
    expect(outcome).toBe('TENANT_SCOPE_REQUIRED')
    expect((await audit.query()).map((r) => [r.outcome, r.errorCode])).toEqual([
      ['denied', 'TENANT_SCOPE_REQUIRED'],
    ])
  })
})
