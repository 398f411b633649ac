import { describe, expect, it } from 'vitest'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { memoryCliOutput } from '../../src/cli/cli-output.ts'
import { runDemo } from '../../src/cli/demo-command.ts'

describe('tessera demo', () => {
  it('plays the scripted session on the embedded database and never shows acme any globex row', async () => {
    const { output, stdout: lines } = memoryCliOutput({ json: true })
    await runDemo({ output, cacheDir: null })
    const steps = lines.map(
      (l) =>
        JSON.parse(l) as {
          step?: string
          as?: string
          result?: { ok: boolean; data?: unknown; error?: { code: string } }
        },
    )
    const acmeSteps = steps.filter((s) => s.as === 'acme')
    expect(acmeSteps.length).toBeGreaterThanOrEqual(6)
    for (const s of acmeSteps) {
      expect(JSON.stringify(s.result)).not.toContain('b0000000-0000-4000-8000-000000000000')
      expect(JSON.stringify(s.result)).not.toContain('Barbara')
    }
    const codes = acmeSteps.map((s) => (s.result?.ok ? 'ok' : s.result?.error?.code))
    expect(codes).toEqual(['ok', 'ok', 'NOT_FOUND', 'ok', 'FIELD_NOT_ALLOWED', 'VALIDATION_ERROR', 'ok'])
    expect(steps.at(-1)).toEqual({ audit: { records: 8 } })
  }, 300_000)

  it('caches the embedded database image: the second run loads it instead of loading the fixture', async () => {
    const cacheDir = mkdtempSync(join(tmpdir(), 'tessera-demo-cache-'))
    const first = memoryCliOutput({ json: true })
    await runDemo({ output: first.output, cacheDir })
    const second = memoryCliOutput({ json: true })
    await runDemo({ output: second.output, cacheDir })
    const labels = (o: typeof first) => o.output.timings().map((t) => t.label)
    expect(labels(first)).toContain('Load the SaaS fixture')
    expect(labels(second)).not.toContain('Load the SaaS fixture')
    expect(labels(second)).toContain('Start the embedded database from the cached image')
    // The same session, step for step, from either start.
    const steps = (o: typeof first) => o.stdout.map((l) => JSON.parse(l) as { result?: { ok: boolean } })
    expect(steps(second).map((s) => s.result?.ok)).toEqual(steps(first).map((s) => s.result?.ok))
  }, 300_000)
})
