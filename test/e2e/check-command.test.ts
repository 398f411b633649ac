import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, inject, it } from 'vitest'
import { runCheck } from '../../src/cli/check-command.ts'
import { memoryCliOutput } from '../../src/cli/cli-output.ts'
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
})
