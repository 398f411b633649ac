import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parse } from 'yaml'
import { describe, expect, it } from 'vitest'
import { runCheck } from '../../src/cli/check-command.ts'
import { memoryCliOutput } from '../../src/cli/cli-output.ts'
import { runInit } from '../../src/cli/init-command.ts'
import { parsePolicy } from '../../src/policy/index.ts'

const cacheDir = mkdtempSync(join(tmpdir(), 'tessera-init-cache-'))

describe('tessera init', () => {
  it('writes a starter policy for the demo database that tessera check accepts unchanged', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'tessera-init-')), 'policy.yaml')
    const init = memoryCliOutput({ json: true })
    expect(await runInit({ output: init.output, demo: true, out, cacheDir })).toBe(0)
    const summary = JSON.parse(init.stdout[0] ?? '') as { ok: boolean; models: { name: string }[] }
    expect(summary.ok).toBe(true)
    expect(summary.models).toHaveLength(8)
    expect(readFileSync(out, 'utf8')).toContain('# REVIEW')

    const check = memoryCliOutput()
    expect(await runCheck({ policyPath: out, output: check.output, cacheDir })).toBe(0)
    expect(check.stdout[0]).toMatch(/8 models valid/)
  }, 300_000)

  it('never overwrites an existing file without --force', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'tessera-init-')), 'policy.yaml')
    writeFileSync(out, 'mine\n')
    const refused = memoryCliOutput()
    expect(await runInit({ output: refused.output, out })).toBe(1)
    expect(refused.stderr.join('\n')).toContain('--force')
    expect(readFileSync(out, 'utf8')).toBe('mine\n')

    const forced = memoryCliOutput()
    expect(await runInit({ output: forced.output, out, force: true })).toBe(0)
    expect(readFileSync(out, 'utf8')).toContain('starter-1')
  })

  it('without a database writes a template the policy schema accepts, or prints it with --out -', async () => {
    const printed = memoryCliOutput()
    expect(await runInit({ output: printed.output, out: '-' })).toBe(0)
    const policy = parsePolicy(parse(printed.stdout.join('\n')), 'template')
    expect(Object.keys(policy.models)).toEqual(['Order', 'Country'])
  })

  it('exits 2 when the database cannot be reached, and writes nothing', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'tessera-init-')), 'policy.yaml')
    const failed = memoryCliOutput()
    const code = await runInit({
      output: failed.output,
      out,
      databaseUrl: 'postgres://nobody@127.0.0.1:1/none',
    })
    expect(code).toBe(2)
    expect(() => readFileSync(out)).toThrow()
  }, 60_000)
})
