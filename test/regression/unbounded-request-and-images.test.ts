/**
 * Regression (outside attack suite, hole 4): a 12 MB JSON value passed every input limit (each string under
 * 10,000 characters, under 5,000 values), and the whole image was kept in the in-memory audit and in pending
 * approvals — 20 calls grew the heap by 266 MB. Now: the whole request is capped (1 MiB by default,
 * configurable, VALIDATION_ERROR before anything runs), stored images keep long values cut with the sha256 of
 * the whole value, and pending approvals are bounded per tenant (RATE_LIMITED with a retry hint).
 */
import { createHash } from 'node:crypto'
import { sql } from 'kysely'
import { beforeAll, expect, it } from 'vitest'
import type { PolicyInput } from '../../src/policy/policy-schema.ts'
import {
  ensureApprovalTable,
  MemoryApprovalStore,
  PostgresApprovalStore,
} from '../../src/stores/approval-store.ts'
import { describeEachDatabase } from '../support/databases.ts'
import { ALICE, ANDY, as, BOB } from '../support/saas.ts'
import { type ToolsetHarness, toolsetFor } from '../support/toolset.ts'

const policy = (mode: 'allow' | 'approval'): PolicyInput => ({
  models: {
    Blob: {
      table: 'blobs',
      fields: { id: 'allow', tenant_id: 'allow', payload: 'allow', body: 'allow' },
      scoping: { tenant_id: 'principal.tenantId' },
      write: { create: mode, autoSet: { tenant_id: 'principal.tenantId' } },
    },
  },
})

/** ~1.35 MB of JSON in 150 strings of 9,000 characters: every per-value limit holds. */
const big = (): Record<string, string> =>
  Object.fromEntries(Array.from({ length: 150 }, (_, i) => [`k${i}`, 'x'.repeat(9_000)]))

describeEachDatabase('request and stored image sizes', (db) => {
  let h: ToolsetHarness
  beforeAll(async () => {
    const admin = db().admin
    await sql`create table blobs (id uuid primary key default gen_random_uuid(), tenant_id uuid not null, payload jsonb, body text)`.execute(
      admin,
    )
    await sql`grant select, insert, update, delete on blobs to tessera_app`.execute(admin)
    h = await toolsetFor(db(), policy('allow'))
  })

  const count = async (): Promise<number> =>
    Number((await sql<{ n: string }>`select count(*)::text as n from blobs`.execute(db().admin)).rows[0]?.n)

  it('refuses a request larger than 1 MiB with VALIDATION_ERROR and writes nothing', async () => {
    const before = await count()
    const r = await h.toolset.call(as(ALICE), 'db_create', { model: 'Blob', data: { payload: big() } })
    expect(r).toEqual({
      ok: false,
      error: expect.objectContaining({
        code: 'VALIDATION_ERROR',
        message: expect.stringContaining('larger than 1048576 bytes'),
      }),
    })
    expect(await count()).toBe(before)
  })

  it('counts bytes, not characters: 400,000 three-byte characters are over the cap', async () => {
    const r = await h.toolset.call(as(ALICE), 'db_query', {
      model: 'Blob',
      where: { or: Array.from({ length: 50 }, () => ({ body: { eq: '€'.repeat(8_000) } })) },
    })
    expect(r).toEqual({ ok: false, error: expect.objectContaining({ code: 'VALIDATION_ERROR' }) })
  })

  it('takes a larger cap when configured', async () => {
    const roomy = await toolsetFor(db(), policy('allow'), { maxRequestBytes: 4_000_000 })
    const r = await roomy.toolset.call(as(ALICE), 'db_create', { model: 'Blob', data: { payload: big() } })
    expect(r.ok).toBe(true)
  })

  it('keeps long values of audit images cut, ending with the sha256 of the whole value', async () => {
    const body = 'y'.repeat(9_000)
    await h.toolset.create(as(ALICE), {
      model: 'Blob',
      data: { body, payload: { nested: 'z'.repeat(9_000) } },
    })
    const [record] = (await h.audit.query({ tool: 'db_create', outcome: 'success' })).slice(-1)
    const after = record?.after as Record<string, unknown>
    const stored = after['body'] as string
    expect(stored.length).toBeLessThan(2_200)
    expect(stored).toContain(`sha256 ${createHash('sha256').update(body).digest('hex')}`)
    expect(String(after['payload'])).toMatch(/truncated: \d+ chars, sha256 [0-9a-f]{64}/)
  })

  it('bounds pending approvals per tenant and keeps their arguments bounded', async () => {
    for (const approvals of [
      new MemoryApprovalStore({ maxPendingPerTenant: 2 }),
      await (async () => {
        await ensureApprovalTable(db().admin)
        await sql`delete from tessera_approvals`.execute(db().admin)
        return new PostgresApprovalStore(db().admin, { maxPendingPerTenant: 2 })
      })(),
    ]) {
      const gated = await toolsetFor(db(), policy('approval'), { approvals })
      const ask = (who = ALICE, n = 0): Promise<unknown> =>
        gated.toolset.call(as(who), 'db_create', {
          model: 'Blob',
          data: { body: `${n}${'w'.repeat(9_000)}` },
        })
      const first = (await ask(ALICE, 1)) as { error: { code: string; details: { approvalId: string } } }
      expect(first.error.code).toBe('WRITE_APPROVAL_REQUIRED')
      await ask(ANDY, 2)
      expect(await ask(ALICE, 3)).toEqual({
        ok: false,
        error: expect.objectContaining({
          code: 'RATE_LIMITED',
          hints: [expect.stringMatching(/^Retry after about \d+ ms$/)],
          details: { limit: 'max_pending_approvals', retryAfterMs: expect.any(Number) },
        }),
      })
      // Another tenant is not affected.
      expect(await ask(BOB, 4)).toMatchObject({ error: { code: 'WRITE_APPROVAL_REQUIRED' } })
      const stored = await approvals.get(first.error.details.approvalId)
      const data = (stored?.args as { data: { body: string } }).data
      expect(data.body).toMatch(/^1w+…\[truncated: 9001 chars, sha256 [0-9a-f]{64}\]$/)
    }
  })
})
