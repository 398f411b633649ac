import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { runCheck } from '../../src/cli/check-command.ts'
import { memoryCliOutput } from '../../src/cli/cli-output.ts'
import { sql } from 'kysely'
import { openTestDatabase, type TestDatabase } from '../support/databases.ts'
import { withDatabase } from '../support/global-setup.ts'

const PASSWORD = 'Sup3r-s3cret-PW'
const server = inject('postgresTemplate')

const cacheDir = mkdtempSync(join(tmpdir(), 'tessera-check-cache-'))

async function check(
  policyPath: string,
  json = false,
): Promise<{ code: number; out: string[]; err: string[] }> {
  const { output, stdout, stderr } = memoryCliOutput({ json })
  const code = await runCheck({ policyPath, output, cacheDir })
  return { code, out: stdout, err: stderr }
}

function brokenPolicy(): string {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-check-'))
  const file = join(dir, 'broken.yaml')
  writeFileSync(
    file,
    [
      'models:',
      '  Order:',
      '    table: orders',
      '    scopng: { tenant_id: principal.tenantId }',
      '  Ghost:',
      '    table: no_such_table',
      '    shared: true',
    ].join('\n'),
  )
  return file
}

describe('tessera check', () => {
  it('validates the demo policy against the embedded demo schema and exits 0', async () => {
    const r = await check('policies/demo.yaml')
    expect(r.code).toBe(0)
    expect(r.out[0]).toMatch(/8 models valid against \d+ tables/)
  }, 300_000)

  it('prints every problem of a broken policy with its path and exits 1', async () => {
    const r = await check(brokenPolicy())
    expect(r.code).toBe(1)
    expect(r.err.join('\n')).toContain('models.Order.scopng')
  }, 300_000)

  it('with --json prints one JSON document on stdout: the models when valid, the problems when not', async () => {
    const valid = await check('policies/demo.yaml', true)
    expect(valid.out).toHaveLength(1)
    const doc = JSON.parse(valid.out[0] ?? '') as { ok: boolean; models: { name: string }[] }
    expect(doc.ok).toBe(true)
    expect(doc.models.map((m) => m.name)).toContain('Order')

    const broken = await check(brokenPolicy(), true)
    expect(broken.code).toBe(1)
    const problem = JSON.parse(broken.out[0] ?? '') as {
      ok: boolean
      error: { code: string; details: { problems: { path: string }[] } }
    }
    expect(problem.ok).toBe(false)
    expect(problem.error.code).toBe('POLICY_INVALID')
    expect(problem.error.details.problems.map((p) => p.path)).toContain('models.Order.scopng')
  }, 300_000)

  it('exits 2 with DATABASE_UNAVAILABLE naming host and port (never the password) when the server cannot be reached', async () => {
    const { output, stderr } = memoryCliOutput()
    const code = await runCheck({
      policyPath: 'policies/demo.yaml',
      databaseUrl: `postgres://nobody:${PASSWORD}@127.0.0.1:1/none`,
      output,
    })
    expect(code).toBe(2)
    const text = stderr.join('\n')
    expect(text).toContain('✘ DATABASE_UNAVAILABLE: Cannot connect to PostgreSQL at 127.0.0.1:1')
    expect(text).toContain('hint: Start the server, or fix the host and port')
    expect(text).not.toContain(PASSWORD)
  }, 300_000)

  it('with --json the setup error is one JSON document without the password', async () => {
    const { output, stdout } = memoryCliOutput({ json: true })
    const code = await runCheck({
      policyPath: 'policies/demo.yaml',
      databaseUrl: `postgres://nobody:${PASSWORD}@127.0.0.1:1/none`,
      output,
    })
    expect(code).toBe(2)
    const doc = JSON.parse(stdout[0] ?? '') as { ok: boolean; error: { code: string; details: object } }
    expect(doc.ok).toBe(false)
    expect(doc.error.code).toBe('DATABASE_UNAVAILABLE')
    expect(doc.error.details).toMatchObject({ host: '127.0.0.1', port: 1, database: 'none', user: 'nobody' })
    expect(stdout.join('')).not.toContain(PASSWORD)
  }, 300_000)

  // Server only: PGlite (the embedded demo) has no databases to miss.
  it.skipIf(server === null)(
    'exits 2 with SETUP_INVALID naming a database that does not exist (PostgreSQL server only)',
    async () => {
      const url = new URL(withDatabase(server?.url ?? '', 'tessera_no_such_database'))
      url.password = PASSWORD
      const { output, stderr } = memoryCliOutput()
      const code = await runCheck({ policyPath: 'policies/demo.yaml', databaseUrl: url.toString(), output })
      expect(code).toBe(2)
      const text = stderr.join('\n')
      expect(text).toContain("✘ SETUP_INVALID: Database 'tessera_no_such_database' does not exist")
      expect(text).toContain('createdb tessera_no_such_database')
      expect(text).not.toContain(PASSWORD)
    },
    300_000,
  )

  it('reports the schema problems and the binding problems of a file together, naming the file', async () => {
    const file = brokenPolicy()
    const r = await check(file)
    expect(r.code).toBe(1)
    const text = r.err.join('\n')
    expect(text).toContain(`Policy '${file}' is invalid`)
    expect(text).toContain('models.Order.scopng')
    expect(text).toContain("models.Ghost.table: unknown table 'no_such_table'")
  }, 300_000)

  it('warns (exit 0) when the role it checks as is a superuser, which bypasses row-level security', async () => {
    const { output, stdout, stderr } = memoryCliOutput({ json: true })
    const code = await runCheck({ policyPath: 'policies/demo.yaml', output, cacheDir, role: 'postgres' })
    expect(code).toBe(0)
    const doc = JSON.parse(stdout[0] ?? '') as { ok: boolean; warnings: { code: string; message: string }[] }
    expect(doc.ok).toBe(true)
    expect(doc.warnings.map((w) => w.code)).toEqual(['SUPERUSER'])
    expect(stderr.join('\n')).toContain("warning SUPERUSER: connected as superuser 'postgres'")
    const plain = await check('policies/demo.yaml', true)
    expect((JSON.parse(plain.out[0] ?? '') as { warnings: unknown[] }).warnings).toEqual([])
  }, 300_000)
})

// Server only: the CLI's check on PGlite opens the embedded demo, whose app role holds every grant it needs.
describe.skipIf(server === null)('tessera check as a non-superuser role (PostgreSQL server only)', () => {
  let db: TestDatabase
  let appUrl = ''
  let dir = ''

  beforeAll(async () => {
    db = await openTestDatabase('postgres')
    const adminUrl = db.adminPool.options.connectionString ?? ''
    appUrl = withDatabase(adminUrl, new URL(adminUrl).pathname.slice(1), 'tessera_app')
    await sql`create table guarded_notes (id serial primary key, tenant_id uuid not null, body text)`.execute(
      db.admin,
    )
    await sql`grant select on guarded_notes to tessera_app`.execute(db.admin)
    await sql`create table app_owned (id serial primary key, tenant_id uuid not null)`.execute(db.admin)
    await sql`alter table app_owned owner to tessera_app`.execute(db.admin)
    await sql`create table hidden_notes (id serial primary key, tenant_id uuid not null)`.execute(db.admin)
    dir = mkdtempSync(join(tmpdir(), 'tessera-check-priv-'))
  }, 60_000)
  afterAll(async () => {
    await db.close()
  })

  function policyFile(name: string, lines: string[]): string {
    const file = join(dir, name)
    writeFileSync(file, lines.join('\n'))
    return file
  }

  it('lists every write the role may not do and every table it may not read, in one report (exit 1)', async () => {
    const file = policyFile('writes.yaml', [
      'models:',
      '  Note:',
      '    table: guarded_notes',
      '    scoping: { tenant_id: principal.tenantId }',
      '    fields: { id: allow, body: allow }',
      '    write: { create: allow, delete: allow, autoSet: { tenant_id: principal.tenantId } }',
      '  Hidden:',
      '    table: hidden_notes',
      '    scoping: { tenant_id: principal.tenantId }',
      '  Typo:',
      '    table: guarded_notes',
      '    scopng: { tenant_id: principal.tenantId }',
    ])
    const { output, stdout } = memoryCliOutput({ json: true })
    const code = await runCheck({ policyPath: file, databaseUrl: appUrl, output })
    expect(code).toBe(1)
    const doc = JSON.parse(stdout[0] ?? '') as {
      error: { code: string; message: string; details: { problems: { path: string; message: string }[] } }
    }
    expect(doc.error.code).toBe('POLICY_INVALID')
    expect(doc.error.message).toContain(file)
    const problems = doc.error.details.problems.map((p) => `${p.path}: ${p.message}`)
    expect(problems.some((p) => p.startsWith('models.Typo.scopng: '))).toBe(true)
    expect(problems).toContain(
      "models.Note.write.create: the policy allows create on table 'guarded_notes', but role 'tessera_app' " +
        'cannot INSERT into it: GRANT INSERT ON public.guarded_notes TO tessera_app, or set write.create: deny',
    )
    expect(
      problems.some((p) => p.startsWith('models.Note.write.delete: ') && p.includes('cannot DELETE')),
    ).toBe(true)
    expect(problems).toContain(
      "models.Hidden.table: role 'tessera_app' cannot SELECT table 'hidden_notes' (it exists): " +
        'GRANT SELECT ON public.hidden_notes TO tessera_app (and USAGE on its schema)',
    )
  }, 120_000)

  it('warns when the role owns a table of the policy (row-level security does not bind an owner)', async () => {
    const file = policyFile('owned.yaml', [
      'models:',
      '  Owned:',
      '    table: app_owned',
      '    scoping: { tenant_id: principal.tenantId }',
      '    fields: { id: allow }',
    ])
    const { output, stdout } = memoryCliOutput({ json: true })
    const code = await runCheck({ policyPath: file, databaseUrl: appUrl, output })
    expect(code).toBe(0)
    const doc = JSON.parse(stdout[0] ?? '') as { warnings: { code: string; table?: string }[] }
    expect(doc.warnings).toEqual([expect.objectContaining({ code: 'TABLE_OWNER', table: 'app_owned' })])
  }, 120_000)
})
