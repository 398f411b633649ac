import { execFile } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import pg from 'pg'
import { pino } from 'pino'
import { describe, expect, inject, it } from 'vitest'
import { stringify } from 'yaml'
import { memoryCliOutput } from '../../src/cli/cli-output.ts'
import { evalReportMode, runEvalCommand, suiteFiles } from '../../src/cli/eval-command.ts'
import { runReplayCommand } from '../../src/cli/replay-command.ts'
import { startServe } from '../../src/cli/serve-command.ts'
import { callTool, connectHttp, errorCode } from '../support/mcp.ts'
import { ordersUnscoped } from '../support/broken-policies.ts'
import { withDatabase } from '../support/global-setup.ts'

const root = join(import.meta.dirname, '..', '..')
const tmp = mkdtempSync(join(tmpdir(), 'tessera-eval-cli-'))

async function evalCli(
  args: Omit<Parameters<typeof runEvalCommand>[0], 'output' | 'cwd'>,
  json = false,
): Promise<{ code: number; out: string[]; err: string[] }> {
  const { output, stdout, stderr } = memoryCliOutput({ json })
  const code = await runEvalCommand({ cwd: root, output, ...args })
  return { code, out: stdout, err: stderr }
}

describe('tessera eval', () => {
  it('runs the named suites on the embedded fixture, prints the summary table, writes JUnit and exits 0', async () => {
    const junit = join(tmp, 'report.xml')
    const r = await evalCli({ files: ['evals/demo-reads.yaml'], junit })
    expect(r.err.join('\n')).not.toContain('✘')
    expect(r.code).toBe(0)
    expect(r.out[0]).toMatch(/^suite\s+cases\s+failed\s+violations\s+time$/)
    expect(r.out.join('\n')).toMatch(/demo reads\s+\d+\s+0\s+0/)
    expect(r.out.at(-1)).toMatch(/^evals passed in/)
    const xml = readFileSync(junit, 'utf8')
    expect(xml).toContain('<testsuite name="demo reads"')
    expect(xml).toContain('failures="0"')
    expect(xml).not.toContain('<failure')
  }, 300_000)

  it('reads --report json|junit, keeping --json as its alias, and refuses any other format', () => {
    expect(evalReportMode({})).toEqual({ json: false })
    expect(evalReportMode({ json: true })).toEqual({ json: true })
    expect(evalReportMode({ report: 'json' })).toEqual({ json: true, report: 'json' })
    expect(evalReportMode({ report: 'json', json: true })).toEqual({ json: true, report: 'json' })
    expect(evalReportMode({ report: 'junit' })).toEqual({ json: true, report: 'junit' })
    expect(() => evalReportMode({ report: 'xml' })).toThrow("--report must be one of json, junit (got 'xml')")
    expect(() => evalReportMode({ report: 'junit', json: true })).toThrow('cannot be combined with --json')
  })

  it('prints only the JUnit XML on stdout with --report junit (the summary goes to stderr), from the real CLI', async () => {
    const run = promisify(execFile)
    const { stdout, stderr } = await run(
      process.execPath,
      ['--import', 'tsx', 'src/cli/main.ts', 'eval', 'evals/demo-reads.yaml', '--report', 'junit'],
      { cwd: root, timeout: 280_000, env: { ...process.env, NO_COLOR: '1' } },
    )
    expect(stdout.startsWith('<?xml')).toBe(true)
    expect(stdout.trimEnd().endsWith('</testsuites>')).toBe(true)
    expect(stdout).toContain('<testsuite name="demo reads"')
    expect(stdout).not.toContain('<failure')
    expect(stderr).toMatch(/demo reads\s+\d+\s+0\s+0/)
    const bad = await run(
      process.execPath,
      ['--import', 'tsx', 'src/cli/main.ts', 'eval', 'evals/demo-reads.yaml', '--report', 'xml'],
      { cwd: root, timeout: 60_000 },
    ).catch((error: { code: number; stdout: string; stderr: string }) => error)
    expect(bad).toMatchObject({ code: 1, stdout: '' })
    expect((bad as { stderr: string }).stderr).toContain('--report must be one of json, junit')
  }, 300_000)

  it('prints one JSON document with --report json, as with --json', async () => {
    const { output, stdout } = memoryCliOutput(evalReportMode({ report: 'json' }))
    const code = await runEvalCommand({ cwd: root, output, files: ['evals/demo-reads.yaml'], report: 'json' })
    expect(code).toBe(0)
    expect(stdout).toHaveLength(1)
    expect(JSON.parse(stdout[0] ?? '')).toMatchObject({ passed: true })
  }, 300_000)

  it('exits 1 and names the offending call and row when the candidate policy leaks another tenant’s orders', async () => {
    const candidate = join(tmp, 'orders-unscoped.yaml')
    writeFileSync(candidate, stringify(ordersUnscoped()))
    const junit = join(tmp, 'leak.xml')
    const r = await evalCli({ files: ['evals/demo-reads.yaml'], candidate, junit }, true)
    expect(r.code).toBe(1)
    // --json: exactly one JSON document on stdout.
    expect(r.out).toHaveLength(1)
    const doc = JSON.parse(r.out[0] ?? '') as {
      passed: boolean
      suites: { cases: { name: string; violations: { invariant: string; message: string }[] }[] }[]
    }
    expect(doc.passed).toBe(false)
    const leaks = doc.suites
      .flatMap((s) => s.cases)
      .flatMap((c) => c.violations)
      .filter((v) => v.invariant === 'noCrossTenantData')
    expect(leaks.length).toBeGreaterThan(0)
    // The message names the call (tool, model, tenant) and the stored row.
    expect(leaks[0]?.message).toMatch(/^db_\w+ Order as tenant "a0000000-/)
    expect(leaks.map((l) => l.message).join('\n')).toMatch(/0b000000-0000-4000-8000-0000000000\d\d/)
    expect(readFileSync(junit, 'utf8')).toContain('<failure message="noCrossTenantData:')
  }, 300_000)

  it('exits 1 with a usage message when there is nothing to run or a flag is malformed', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'tessera-eval-empty-'))
    const { output, stderr } = memoryCliOutput()
    expect(await runEvalCommand({ files: [], cwd: empty, output })).toBe(1)
    expect(stderr.join('\n')).toMatch(/No eval suites/)
    const bad = await evalCli({ files: ['evals/demo-reads.yaml'], fuzz: 'many' })
    expect(bad.code).toBe(1)
    expect(bad.err.join('\n')).toContain('--fuzz must be a non-negative integer')
  })

  it('exits 1 for an invalid suite file (with its line) and 2 for one that cannot be read', async () => {
    const invalid = join(tmp, 'invalid.yaml')
    writeFileSync(
      invalid,
      'name: x\nprincipals: {}\ncases:\n  - name: c\n    principal: nobody\n    tool: db_get\n',
    )
    const r = await evalCli({ files: [invalid] })
    expect(r.code).toBe(1)
    expect(r.err.join('\n')).toMatch(/invalid\.yaml:5:\d+: cases\[0\]\.principal: unknown principal 'nobody'/)
    const missing = await evalCli({ files: [join(tmp, 'no-such-suite.yaml')] })
    expect(missing.code).toBe(2)
  })

  it('expands a folder to its sorted YAML files', () => {
    const files = suiteFiles(['evals'], root)
    expect(files.length).toBeGreaterThan(5)
    expect(files).toEqual([...files].sort())
    expect(files.every((f) => f.endsWith('.yaml'))).toBe(true)
  })

  it('records a served MCP session with serve --record and replays it under another policy', async () => {
    const log = join(tmp, 'session.jsonl')
    const handle = await startServe({
      demo: true,
      http: '127.0.0.1:0',
      dev: true,
      record: log,
      logger: pino({ level: 'silent' }),
    })
    try {
      const client = await connectHttp(handle.http?.url ?? '')
      const own = await callTool(client, 'db_query', { model: 'Order', select: ['id'] })
      expect(own.isError).toBe(false)
      const foreign = await callTool(client, 'db_get', {
        model: 'Order',
        id: '0b000000-0000-4000-8000-000000000001',
      })
      expect(errorCode(foreign)).toBe('NOT_FOUND')
      await client.close()
    } finally {
      await handle.close()
    }
    const lines = readFileSync(log, 'utf8').trim().split('\n')
    expect(lines).toHaveLength(3) // the session header and two calls
    const candidate = join(tmp, 'orders-unscoped-replay.yaml')
    writeFileSync(candidate, stringify(ordersUnscoped()))
    const { output, stdout } = memoryCliOutput()
    const code = await runReplayCommand({ log, policy: candidate, failOnChange: true, cwd: root, output })
    expect(code).toBe(1)
    const text = stdout.join('\n')
    expect(text).toMatch(
      /rows-changed {2}#1 db_query Order as tenant "a0000000-[^"]+": ok, \d+ rows → ok, \d+ rows/,
    )
    expect(text).toMatch(/newly-allowed {2}#2 db_get Order .*: NOT_FOUND → ok, 1 rows/)
    expect(text).toContain('2 of 2 calls changed.')
    const same = memoryCliOutput({ json: true })
    const unchanged = await runReplayCommand({
      log,
      policy: 'policies/demo.yaml',
      failOnChange: true,
      cwd: root,
      output: same.output,
    })
    expect(unchanged).toBe(0)
    expect(JSON.parse(same.stdout[0] ?? '')).toMatchObject({ ok: true, calls: 2, changed: [] })
  }, 300_000)

  it.runIf(inject('postgresTemplate') !== null)(
    'runs suites against PostgreSQL given by --db, as the application role',
    async () => {
      const tpl = inject('postgresTemplate')
      if (tpl === null) return
      const name = `tessera_t_${randomBytes(6).toString('hex')}`
      const admin = new pg.Client({ connectionString: tpl.url })
      await admin.connect()
      await admin.query(`create database ${name} template ${tpl.template}`)
      try {
        const r = await evalCli({
          files: ['evals/demo-reads.yaml', 'evals/pattern-user-scope.yaml'],
          db: withDatabase(tpl.url, name),
          role: 'tessera_app',
        })
        expect(r.out.join('\n')).toMatch(/pattern user-scope\s+\d+\s+0\s+0/)
        expect(r.code).toBe(0)
        expect(r.err.join('\n')).toContain('disposable copy')
      } finally {
        await admin.query(`drop database if exists ${name} with (force)`)
        await admin.end()
      }
    },
    300_000,
  )
})
