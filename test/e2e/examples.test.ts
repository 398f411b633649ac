/** Every example runs as a real process on the embedded database and prints what its header promises. */
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'

const run = promisify(execFile)

async function example(file: string): Promise<string> {
  const { stdout } = await run(process.execPath, ['--import', 'tsx', `examples/${file}`], {
    timeout: 280_000,
  })
  return stdout
}

describe('examples', () => {
  it('embedded-quickstart reads one tenant with masked and hashed fields', async () => {
    const out = await example('embedded-quickstart.ts')
    expect(out).toContain('Ada Lovelace')
    expect(out).not.toContain('Barbara')
    expect(out).not.toContain('123-45-6789')
  }, 300_000)

  it('mcp-http-jwt lists tools and queries as the tenant of its verified token', async () => {
    const out = await example('mcp-http-jwt.ts')
    expect(out).toMatch(/^tools: .*db_query/m)
    const rows = (JSON.parse(out.split('\n')[1] ?? '{}') as { rows: { id: string }[] }).rows
    expect(rows.length).toBeGreaterThan(0)
    expect(rows.every((r) => r.id.startsWith('0a'))).toBe(true)
  }, 300_000)

  it("domain-tool computes one tenant's revenue and finds nothing for another tenant's customer", async () => {
    const [own, cross] = (await example('domain-tool.ts'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as unknown)
    expect(own).toMatchObject({ ok: true, data: { orders: expect.any(Number), revenue: expect.any(String) } })
    expect(cross).toEqual({ ok: true, data: { orders: 0, revenue: '0.00' } })
  }, 300_000)
})
