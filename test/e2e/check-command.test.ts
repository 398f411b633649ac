import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { runCheck } from '../../src/cli/check-command.ts'
import { memoryCliOutput } from '../../src/cli/cli-output.ts'

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

  it('exits 2 (environment) when the database cannot be reached', async () => {
    const { output, stderr } = memoryCliOutput()
    const code = await runCheck({
      policyPath: 'policies/demo.yaml',
      databaseUrl: 'postgres://nobody@127.0.0.1:1/none',
      output,
    })
    expect(code).toBe(2)
    expect(stderr.join('\n')).toMatch(/✘/)
  }, 300_000)
})
