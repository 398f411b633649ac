import { execFile, spawn } from 'node:child_process'
import { generateKeyPairSync } from 'node:crypto'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type pg from 'pg'
import { type AuditCliCommand, parseBefore, runAudit } from '../../src/cli/audit-command.ts'
import { ensureAuditTables, JsonlAuditStore, PostgresAuditStore } from '../../src/stores/index.ts'
import { auditDraft } from '../support/audit-store-conformance.ts'
import { describeEachDatabase } from '../support/databases.ts'

async function run(source: Parameters<typeof runAudit>[0], command: AuditCliCommand) {
  const out: string[] = []
  const err: string[] = []
  const code = await runAudit(source, command, { out: (l) => out.push(l), err: (l) => err.push(l) })
  return { code, out, err, text: out.join('\n') }
}

let dir = ''
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tessera-audit-cli-'))
})
afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})

async function trail(name: string): Promise<string> {
  const file = join(dir, name)
  const store = new JsonlAuditStore({ path: file })
  await store.append(auditDraft({ requestId: 'r1', tenantId: 'tenant-a' }))
  await store.append(
    auditDraft({ requestId: 'r2', tenantId: 'tenant-b', outcome: 'denied', errorCode: 'NOT_FOUND' }),
  )
  await store.append(
    auditDraft({ requestId: 'r3\u001b[2J\u001b]0;pwned\u0007', tenantId: 'tenant-a', tool: 'db_update' }),
  )
  await store.close()
  return file
}

/** A spawned `tessera audit tail --follow …`: its stdout lines as they arrive, and a SIGINT that ends it. */
function follow(args: readonly string[]) {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'src/cli/main.ts', 'audit', 'tail', '--follow', '--interval', '100', ...args],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  )
  const lines: string[] = []
  let partial = ''
  let stderr = ''
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    const parts = (partial + chunk).split('\n')
    partial = parts.pop() ?? ''
    lines.push(...parts)
  })
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  return {
    lines,
    /** Resolves once `count` lines have arrived (fails after a minute, with what arrived). */
    async waitForLines(count: number): Promise<string[]> {
      const deadline = Date.now() + 120_000
      while (lines.length < count) {
        if (Date.now() > deadline || child.exitCode !== null) {
          throw new Error(`expected ${count} lines, got ${JSON.stringify(lines)}; stderr: ${stderr}`)
        }
        await new Promise((r) => setTimeout(r, 50))
      }
      return lines
    },
    async interrupt(): Promise<number | null> {
      child.kill('SIGINT')
      return exited
    },
  }
}

const requestIds = (lines: readonly string[]) =>
  lines.map((l) => (JSON.parse(l) as { requestId: string }).requestId)

describe('tessera audit (JSONL file)', () => {
  it('tails and queries as a table with every control character neutralised', async () => {
    const file = await trail('table.jsonl')
    const tail = await run({ file }, { kind: 'tail', lines: 2, json: false })
    expect(tail.code).toBe(0)
    expect(tail.out[0]).toMatch(/^time\s+tenant\s+user\s+tool\s+model\s+outcome\s+rows\s+ms\s+request$/)
    // Both records can carry the same millisecond, and chains of different tenants have no order between them.
    expect(
      tail.out
        .slice(1)
        .map((l) => l.split(/\s+/)[1])
        .sort(),
    ).toEqual(['tenant-a', 'tenant-b'])
    expect(tail.text).toContain('denied NOT_FOUND')
    // eslint-disable-next-line no-control-regex
    for (const line of tail.out) expect(line).not.toMatch(/[\u0000-\u001f\u007f]/)
    const q = await run({ file }, { kind: 'query', query: { tenantId: 'tenant-a' }, json: true })
    expect(q.out.map((l) => (JSON.parse(l) as { tool: string }).tool)).toEqual(['db_update', 'db_get'])
  })

  it('verifies (exit 0), names the broken record after tampering (exit 1), and checks signatures with a key file', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('ed25519')
    const file = join(dir, 'signed.jsonl')
    const store = new JsonlAuditStore({ path: file, signingKey: privateKey })
    for (let i = 0; i < 3; i++) await store.append(auditDraft({ requestId: `s${i}` }))
    await store.close()
    const keyFile = join(dir, 'audit.pub.pem')
    await writeFile(keyFile, publicKey.export({ type: 'spki', format: 'pem' }))
    const ok = await run({ file, verifyKey: keyFile }, { kind: 'verify', json: false })
    expect(ok.code).toBe(0)
    expect(ok.out[0]).toBe('✔ 3 record(s) in 1 chain(s) verified, signatures checked')
    const text = await readFile(file, 'utf8')
    await writeFile(file, text.replace('"requestId":"s1"', '"requestId":"sX"'))
    const broken = await run({ file, verifyKey: keyFile }, { kind: 'verify', json: false })
    expect(broken.code).toBe(1)
    expect(broken.out[1]).toMatch(/:\+tenant-a at seq 2: edited \(record [0-9a-f-]{36}\)$/)
    const json = await run({ file }, { kind: 'verify', json: true })
    expect(JSON.parse(json.out[0] as string)).toMatchObject({
      ok: false,
      breaks: [{ seq: 2, reason: 'edited' }],
    })
  })

  it('deletes older records with an archive and keeps the trail verifiable', async () => {
    const file = await trail('retention.jsonl')
    const archive = join(dir, 'archive.jsonl')
    const r = await run(
      { file },
      { kind: 'retention', before: new Date(Date.now() + 1000).toISOString(), archive, json: false },
    )
    expect(r.code).toBe(0)
    expect(r.out[0]).toMatch(/^✔ deleted 3 record\(s\) older than .*, archived to /)
    expect((await readFile(archive, 'utf8')).trim().split('\n')).toHaveLength(3)
    expect((await run({ file }, { kind: 'verify', json: false })).code).toBe(0)
  })

  it('fails with exit 2 and a clear message on bad input', async () => {
    const file = await trail('bad.jsonl')
    const none = await run({}, { kind: 'verify', json: false })
    expect(none.code).toBe(2)
    expect(none.err[0]).toContain('exactly one of --file')
    const limit = await run({ file }, { kind: 'query', query: { limit: 50_000 }, json: false })
    expect(limit.code).toBe(2)
    expect(limit.err[0]).toContain('VALIDATION_ERROR')
    expect(limit.err[0]).toContain('limit must be at most 10000')
    const before = await run({ file }, { kind: 'retention', before: 'last tuesday', json: false })
    expect(before.code).toBe(2)
    expect(before.err[0]).toContain('--before must be')
  })

  it('reads ages such as 90d', () => {
    const now = Date.parse('2026-03-31T00:00:00Z')
    expect(parseBefore('90d', now).toISOString()).toBe('2025-12-31T00:00:00.000Z')
    expect(parseBefore('12h', now).toISOString()).toBe('2026-03-30T12:00:00.000Z')
  })

  it('follows a file: prints the newest records, then each new one once as it arrives, until SIGINT (exit 0)', async () => {
    const file = await trail('follow.jsonl')
    const tail = follow(['--file', file, '--json', '-n', '2'])
    // r2 and r3 may share a millisecond; chains of different tenants have no order between them.
    expect(requestIds(await tail.waitForLines(2)).sort()).toEqual(['r2', expect.stringMatching(/^r3/)])
    const writer = new JsonlAuditStore({ path: file, fsync: 'never' })
    await writer.append(auditDraft({ requestId: 'new-1' }))
    await writer.append(auditDraft({ requestId: 'new-2', tenantId: 'tenant-b' }))
    expect(
      requestIds(await tail.waitForLines(4))
        .slice(2)
        .sort(),
    ).toEqual(['new-1', 'new-2'])
    await writer.append(auditDraft({ requestId: 'new-3' }))
    await tail.waitForLines(5)
    // Three more polls: nothing is printed twice.
    await new Promise((r) => setTimeout(r, 400))
    expect(await tail.interrupt()).toBe(0)
    await writer.close()
    expect(requestIds(tail.lines).slice(2).sort()).toEqual(['new-1', 'new-2', 'new-3'])
  }, 180_000)

  it('follows as a table: one header, then rows as records arrive', async () => {
    const file = await trail('follow-table.jsonl')
    const tail = follow(['--file', file, '-n', '1'])
    await tail.waitForLines(2)
    expect(tail.lines[0]).toMatch(/^time\s+tenant\s+user\s+tool/)
    const writer = new JsonlAuditStore({ path: file, fsync: 'never' })
    await writer.append(auditDraft({ requestId: 'table-new', outcome: 'denied', errorCode: 'NOT_FOUND' }))
    const lines = await tail.waitForLines(3)
    expect(await tail.interrupt()).toBe(0)
    await writer.close()
    expect(lines.filter((l) => l.startsWith('time '))).toHaveLength(1)
    expect(lines[2]).toMatch(/denied NOT_FOUND.*table-new$/)
  }, 180_000)

  it('is registered on the tessera command', async () => {
    const file = await trail('process.jsonl')
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [
        '--import',
        'tsx',
        'src/cli/main.ts',
        'audit',
        'query',
        '--file',
        file,
        '--tool',
        'db_update',
        '--json',
      ],
      { timeout: 60_000 },
    )
    expect(
      stdout
        .trim()
        .split('\n')
        .map((l) => (JSON.parse(l) as { tool: string }).tool),
    ).toEqual(['db_update'])
  }, 60_000)
})

describeEachDatabase(
  'tessera audit (PostgreSQL)',
  (db) => {
    it('queries and verifies a trail in PostgreSQL, and says how to create missing tables', async () => {
      const url = (db().adminPool as pg.Pool & { options: { connectionString: string } }).options
        .connectionString
      const missing = await run({ databaseUrl: url }, { kind: 'verify', json: false })
      expect(missing.code).toBe(2)
      expect(missing.err.join('\n')).toContain('ensureAuditTables')
      await ensureAuditTables(db().admin)
      const store = new PostgresAuditStore({ db: db().admin })
      await store.append(auditDraft({ requestId: 'pg-1' }))
      const q = await run({ databaseUrl: url }, { kind: 'query', query: {}, json: true })
      expect(q.out.map((l) => (JSON.parse(l) as { requestId: string }).requestId)).toEqual(['pg-1'])
      expect((await run({ databaseUrl: url }, { kind: 'verify', json: false })).code).toBe(0)
    })
    it('follows a trail in PostgreSQL given by URL until SIGINT', async () => {
      const url = (db().adminPool as pg.Pool & { options: { connectionString: string } }).options
        .connectionString
      await ensureAuditTables(db().admin)
      const store = new PostgresAuditStore({ db: db().admin })
      await store.append(auditDraft({ requestId: 'pg-follow-0' }))
      await store.query({ limit: 1 }) // a read stores the batch first
      const tail = follow(['--database-url', url, '--json', '-n', '1'])
      expect(requestIds(await tail.waitForLines(1))).toEqual(['pg-follow-0'])
      await store.append(auditDraft({ requestId: 'pg-follow-1' }))
      await store.append(auditDraft({ requestId: 'pg-follow-2', tenantId: 'tenant-b' }))
      await tail.waitForLines(3)
      await new Promise((r) => setTimeout(r, 400))
      expect(await tail.interrupt()).toBe(0)
      await store.close()
      expect(requestIds(tail.lines).sort()).toEqual(['pg-follow-0', 'pg-follow-1', 'pg-follow-2'])
    }, 180_000)
  },
  { only: ['postgres'] },
)
