/**
 * Regression: `tessera audit tail --follow` on a JSONL file re-read (and re-parsed) the whole trail, rotated
 * files included, at every poll — each poll cost the size of the trail. It now reads only the bytes appended
 * since the last poll, and re-reads the trail once when the file is rotated, truncated or rewritten (retention),
 * still printing each record once.
 */
import { appendFile, mkdtemp, truncate } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { followAudit } from '../../src/cli/audit-follow.ts'
import { JsonlAuditStore, type AuditRecord } from '../../src/stores/index.ts'
import { auditDraft } from '../support/audit-store-conformance.ts'

interface Following {
  readonly printed: string[]
  /** store.query calls since the initial tail was printed. */
  queriesAfterStart(): number
  waitFor(requestIds: readonly string[]): Promise<void>
  stop(): Promise<void>
}

const running: Following[] = []
afterEach(async () => {
  for (const f of running.splice(0)) await f.stop()
})

async function follow(path: string, lines = 2): Promise<Following> {
  const reader = new JsonlAuditStore({ path })
  const query = vi.spyOn(reader, 'query')
  const printed: string[] = []
  const abort = new AbortController()
  let started = 0
  let batches = 0
  const done = followAudit(reader, {
    lines,
    intervalMs: 20,
    signal: abort.signal,
    print: (records: readonly AuditRecord[]) => {
      batches += 1
      if (batches === 1) started = query.mock.calls.length
      printed.push(...records.map((r) => r.requestId ?? ''))
    },
  })
  const deadline = Date.now() + 20_000
  while (batches === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10))
  const following: Following = {
    printed,
    queriesAfterStart: () => query.mock.calls.length - started,
    async waitFor(ids) {
      const until = Date.now() + 20_000
      while (!ids.every((id) => printed.includes(id))) {
        if (Date.now() > until) throw new Error(`waited for ${ids.join(', ')}; printed ${printed.join(', ')}`)
        await new Promise((r) => setTimeout(r, 10))
      }
      await new Promise((r) => setTimeout(r, 100)) // a few more polls: nothing is printed twice
    },
    async stop() {
      abort.abort()
      await done
      await reader.close()
    },
  }
  running.push(following)
  return following
}

async function trail(name: string, records: number): Promise<string> {
  const path = join(await mkdtemp(join(tmpdir(), 'tessera-follow-')), name)
  const store = new JsonlAuditStore({ path, fsync: 'never' })
  for (let i = 0; i < records; i++) await store.append(auditDraft({ requestId: `old-${i}` }))
  await store.close()
  return path
}

describe('audit tail --follow on a JSONL file', () => {
  it('prints each appended record once without re-reading the file while it only grows', async () => {
    const path = await trail('grow.jsonl', 50)
    const f = await follow(path)
    expect(f.printed).toEqual(['old-48', 'old-49'])
    const writer = new JsonlAuditStore({ path, fsync: 'never' })
    await writer.append(auditDraft({ requestId: 'new-1' }))
    await writer.append(auditDraft({ requestId: 'new-2', tenantId: 'tenant-b' }))
    await f.waitFor(['new-1', 'new-2'])
    // Half a line (a write still in progress) is kept until its newline arrives.
    await writer.close()
    const line = JSON.stringify({ not: 'an audit line' })
    await appendFile(path, line.slice(0, 5))
    await new Promise((r) => setTimeout(r, 60))
    await appendFile(path, `${line.slice(5)}\n`)
    const again = new JsonlAuditStore({ path, fsync: 'never' })
    await again.append(auditDraft({ requestId: 'new-3' }))
    await again.close()
    await f.waitFor(['new-3'])
    expect(f.printed.slice(2).sort()).toEqual(['new-1', 'new-2', 'new-3'])
    expect(f.queriesAfterStart()).toBe(0)
  })

  it('follows the trail through rotations, printing every record once', async () => {
    const path = await trail('rotate.jsonl', 3)
    const f = await follow(path)
    const writer = new JsonlAuditStore({ path, fsync: 'never', maxBytes: 1024 })
    const ids = Array.from({ length: 12 }, (_, i) => `rot-${i}`)
    for (const id of ids) {
      await writer.append(auditDraft({ requestId: id }))
      if (Number(id.slice(4)) % 5 === 4) await new Promise((r) => setTimeout(r, 50))
    }
    await writer.close()
    await f.waitFor(ids)
    expect(f.printed.slice(2).sort()).toEqual([...ids].sort())
  })

  it('after a truncation or a retention rewrite, prints the new records once and no old one again', async () => {
    const path = await trail('cut.jsonl', 5)
    const f = await follow(path)
    const writer = new JsonlAuditStore({ path, fsync: 'never' })
    await writer.append(auditDraft({ requestId: 'before-cut' }))
    await f.waitFor(['before-cut'])
    await writer.deleteBefore(new Date(Date.now() + 60_000)) // rewrites the file (every record is older)
    await writer.append(auditDraft({ requestId: 'after-retention' }))
    await f.waitFor(['after-retention'])
    await writer.close()
    await truncate(path, 0)
    const again = new JsonlAuditStore({ path, fsync: 'never' })
    await again.append(auditDraft({ requestId: 'after-truncate' }))
    await again.close()
    await f.waitFor(['after-truncate'])
    expect(f.printed).toEqual(['old-3', 'old-4', 'before-cut', 'after-retention', 'after-truncate'])
  })
})
