import { describe, expect, it } from 'vitest'
import { runDemo } from '../../src/cli/demo-command.ts'

describe('tessera demo', () => {
  it('plays the scripted session on the embedded database and never shows acme any globex row', async () => {
    const lines: string[] = []
    await runDemo({ json: true, out: (l) => lines.push(l) })
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
  }, 240_000)
})
