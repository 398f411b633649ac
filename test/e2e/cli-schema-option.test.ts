/**
 * `--schema <name...>` on the commands that introspect a live schema — `check`, `rls generate` and `serve`, as
 * `init` had it: a policy whose tables live outside `public` binds only when their schema is introspected.
 * PostgreSQL server only for the binding; the flag's presence is checked on every command's help.
 */
import { execFile } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { runCheck } from '../../src/cli/check-command.ts'
import { memoryCliOutput } from '../../src/cli/cli-output.ts'
import { runRlsGenerate } from '../../src/cli/rls-command.ts'
import { openTestDatabase, type TestDatabase } from '../support/databases.ts'

const server = inject('postgresTemplate')
const cli = (args: string[]) =>
  promisify(execFile)(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], {
    timeout: 120_000,
  })

describe('--schema on the commands that introspect', () => {
  it('is offered by check, rls generate and serve, as by init', async () => {
    for (const command of [['check'], ['rls', 'generate'], ['serve'], ['init']]) {
      const { stdout } = await cli([...command, '--help'])
      expect([command.join(' '), stdout]).toEqual([
        command.join(' '),
        expect.stringContaining('--schema <name...>'),
      ])
    }
  }, 240_000)
})

describe.skipIf(server === null)('a policy whose table lives outside public (PostgreSQL server only)', () => {
  let db: TestDatabase
  let url = ''
  let policy = ''

  beforeAll(async () => {
    db = await openTestDatabase('postgres')
    url = db.adminPool.options.connectionString ?? ''
    await sql`create schema sales`.execute(db.admin)
    await sql`create table sales.deals (id serial primary key, tenant_id uuid not null, title text)`.execute(
      db.admin,
    )
    policy = join(mkdtempSync(join(tmpdir(), 'tessera-schema-')), 'sales.yaml')
    writeFileSync(
      policy,
      [
        'models:',
        '  Deal:',
        '    table: sales.deals',
        '    scoping: { tenant_id: principal.tenantId }',
        '    fields: { id: allow, title: allow }',
      ].join('\n'),
    )
  }, 60_000)
  afterAll(async () => {
    await db.close()
  })

  it('check binds it with --schema naming its schema, and refuses it without', async () => {
    const without = memoryCliOutput({ json: true })
    expect(await runCheck({ policyPath: policy, databaseUrl: url, output: without.output })).toBe(1)
    const withSchema = memoryCliOutput({ json: true })
    const code = await runCheck({
      policyPath: policy,
      databaseUrl: url,
      schemas: ['public', 'sales'],
      output: withSchema.output,
    })
    expect(code).toBe(0)
    expect(JSON.parse(withSchema.stdout[0] ?? '')).toMatchObject({
      ok: true,
      models: [expect.objectContaining({ name: 'Deal', table: 'sales.deals' })],
    })
  }, 120_000)

  it('rls generate writes the script for it with --schema', async () => {
    const { output, stdout } = memoryCliOutput({ json: true })
    const code = await runRlsGenerate({ policyPath: policy, databaseUrl: url, schemas: ['sales'], output })
    expect(code).toBe(0)
    expect((JSON.parse(stdout[0] ?? '') as { sql: string }).sql).toMatch(/sales\.deals|"sales"\."deals"/)
  }, 120_000)

  it('reaches introspection from the command line: tessera check --schema public sales', async () => {
    const { stdout } = await cli([
      'check',
      policy,
      '--database-url',
      url,
      '--schema',
      'public',
      'sales',
      '--json',
    ])
    expect(JSON.parse(stdout)).toMatchObject({ ok: true })
  }, 120_000)
})
