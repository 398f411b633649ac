/**
 * Several server processes writing one audit trail at once: 2 processes × 16 concurrent callers append to the
 * same PostgreSQL table (and the same JSONL file); afterwards verify() finds every chain intact — no fork, no
 * gap — and every record present.
 */
import { spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import type pg from 'pg'
import {
  type AuditStore,
  ensureAuditTables,
  JsonlAuditStore,
  PostgresAuditStore,
} from '../../src/stores/index.ts'
import { describeEachDatabase } from '../support/databases.ts'

const WORKER = fileURLToPath(new URL('../support/audit-append-worker.ts', import.meta.url))
const PROCESSES = 2
const CALLERS = 16
const PER_CALLER = 12

function runWorker(kind: string, target: string): Promise<{ appended: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', WORKER, kind, target, String(CALLERS), String(PER_CALLER)],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    )
    let out = ''
    let err = ''
    child.stdout.on('data', (d: Buffer) => (out += d.toString()))
    child.stderr.on('data', (d: Buffer) => (err += d.toString()))
    child.on('error', reject)
    child.on('exit', (code) => {
      if (code === 0) resolve(JSON.parse(out) as { appended: number })
      else reject(new Error(`worker exited ${code}: ${err}`))
    })
  })
}

async function expectIntact(store: AuditStore): Promise<void> {
  const total = PROCESSES * CALLERS * PER_CALLER
  const report = await store.verify()
  expect(report).toMatchObject({ ok: true, records: total, breaks: [] })
  // One chain per (process, tenant); each numbered 1..n without a hole.
  expect(report.chains).toBe(PROCESSES * 3)
  expect(report.heads.reduce((sum, h) => sum + h.seq, 0)).toBe(total)
  expect(await store.count()).toBe(total)
  expect(await store.count({ tenantId: 'tenant-a' })).toBe(total / 3)
}

describeEachDatabase(
  'audit chains with two processes appending at once',
  (db) => {
    it('PostgreSQL: 2 processes × 16 callers leave every chain intact', async () => {
      const t = db()
      await ensureAuditTables(t.admin)
      const url = (t.adminPool as pg.Pool & { options: { connectionString: string } }).options
        .connectionString
      const results = await Promise.all(Array.from({ length: PROCESSES }, () => runWorker('postgres', url)))
      expect(results.map((r) => r.appended)).toEqual([CALLERS * PER_CALLER, CALLERS * PER_CALLER])
      await expectIntact(new PostgresAuditStore({ db: t.admin }))
    }, 120_000)
  },
  { only: ['postgres'] },
)

describe('audit chains with two processes appending at once', () => {
  it('JSONL: 2 processes × 16 callers appending to one file leave every chain intact', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tessera-audit-mp-'))
    try {
      const path = join(dir, 'audit.jsonl')
      const results = await Promise.all(Array.from({ length: PROCESSES }, () => runWorker('jsonl', path)))
      expect(results.map((r) => r.appended)).toEqual([CALLERS * PER_CALLER, CALLERS * PER_CALLER])
      const store = new JsonlAuditStore({ path })
      await expectIntact(store)
      await store.close()
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  }, 120_000)
})
