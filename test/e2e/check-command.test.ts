import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { runCheck } from '../../src/cli/check-command.ts'

async function check(policyPath: string): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = []
  const err: string[] = []
  const code = await runCheck({ policyPath, out: (l) => out.push(l), err: (l) => err.push(l) })
  return { code, out, err }
}

describe('tessera check', () => {
  it('validates the demo policy against the embedded demo schema and exits 0', async () => {
    const r = await check('policies/demo.yaml')
    expect(r.code).toBe(0)
    expect(r.out[0]).toMatch(/8 models valid/)
  }, 240_000)

  it('prints every problem of a broken policy with its path and exits 1', async () => {
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
    const r = await check(file)
    expect(r.code).toBe(1)
    expect(r.err.join('\n')).toContain('models.Order.scopng')
  }, 240_000)
})
