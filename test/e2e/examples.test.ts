/**
 * Every example runs as a real process, importing the package by name as an application does (the
 * `tessera-source` export condition points `tessera-db` at src/ so no build is needed), on the embedded
 * database and — when TESSERA_TEST_DATABASE_URL is set — on PostgreSQL with `DATABASE_URL` naming a fresh copy
 * of the SaaS fixture. Each prints what its header promises.
 */
import { execFile } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { promisify } from 'node:util'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { withDatabase } from '../support/global-setup.ts'

const run = promisify(execFile)
const engines = inject('postgresTemplate') ? (['pglite', 'postgres'] as const) : (['pglite'] as const)

async function example(file: string, databaseUrl: string | undefined): Promise<string> {
  const env = { ...process.env }
  delete env['DATABASE_URL']
  if (databaseUrl !== undefined) env['DATABASE_URL'] = databaseUrl
  const { stdout } = await run(
    process.execPath,
    ['--conditions=tessera-source', '--import', 'tsx', `examples/${file}`],
    {
      timeout: 280_000,
      env,
    },
  )
  return stdout
}

async function admin<T>(url: string, body: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    return await body(client)
  } finally {
    await client.end()
  }
}

for (const engine of engines) {
  describe(`examples [${engine}]`, () => {
    let url: string | undefined
    let name: string | undefined
    beforeAll(async () => {
      const tpl = inject('postgresTemplate')
      if (engine === 'pglite' || !tpl) return
      const db = `tessera_ex_${randomBytes(6).toString('hex')}`
      await admin(tpl.url, (c) => c.query(`create database ${db} template ${tpl.template}`))
      name = db
      url = withDatabase(tpl.url, db)
    }, 60_000)
    afterAll(async () => {
      const tpl = inject('postgresTemplate')
      if (name !== undefined && tpl)
        await admin(tpl.url, (c) => c.query(`drop database if exists ${name} with (force)`))
    })

    it('embedded-quickstart reads one tenant with masked and hashed fields', async () => {
      const out = await example('embedded-quickstart.ts', url)
      expect(out).toContain('Ada Lovelace')
      expect(out).not.toContain('Barbara')
      expect(out).not.toContain('123-45-6789')
    }, 300_000)

    it('typed-toolset prints masked emails, included orders and revenue by status of one tenant only', async () => {
      const lines = (await example('typed-toolset.ts', url)).trim().split('\n')
      const revenue = lines.pop()
      expect(lines.length).toBeGreaterThan(0)
      expect(lines).toContain('Ada Lovelace <a***@example.com>: 2 orders, 1 paid')
      expect(lines.every((l) => /^A.* <.*\*\*\*.*>: \d+ orders, \d+ paid$/.test(l))).toBe(true)
      // Sums of the acme tenant's orders only (globex's orders would change every figure).
      expect(revenue).toBe('revenue by status: cancelled 9.99, paid 162.50, pending 135.00, shipped 310.00')
    }, 300_000)

    it('provider-tools runs one call per provider as the bound tenant: rows, NOT_FOUND across tenants, groups', async () => {
      const [names, ...lines] = (await example('provider-tools.ts', url)).trim().split('\n')
      expect(names).toBe('tools: db_describe_schema, db_query, db_get, db_aggregate')
      const [openai, anthropic, aiSdk] = lines.map((l) => JSON.parse(l) as Record<string, unknown>)
      const message = openai?.['openai'] as { role: string; tool_call_id: string; content: string }
      expect(message).toMatchObject({ role: 'tool', tool_call_id: 'call_1' })
      expect((JSON.parse(message.content) as { rows: unknown }).rows).toEqual([
        { name: 'Acme Public', email: 'h***@acme.test' },
        { name: 'Ada Lovelace', email: 'a***@example.com' },
      ])
      const result = anthropic?.['anthropic'] as { tool_use_id: string; content: string; is_error?: true }
      expect(result).toMatchObject({ type: 'tool_result', tool_use_id: 'toolu_1', is_error: true })
      expect(result.content).toMatch(/^NOT_FOUND: /)
      expect(result.content).not.toContain('Barbara')
      expect(aiSdk).toEqual({
        aiSdk: {
          groups: [
            { key: { status: 'cancelled' }, value: '9.99' },
            { key: { status: 'paid' }, value: '162.50' },
            { key: { status: 'pending' }, value: '135.00' },
            { key: { status: 'shipped' }, value: '310.00' },
          ],
        },
      })
    }, 300_000)

    it('mcp-http-jwt lists tools and queries as the tenant of its verified token', async () => {
      const out = await example('mcp-http-jwt.ts', url)
      expect(out).toMatch(/^tools: .*db_query/m)
      const rows = (JSON.parse(out.split('\n')[1] ?? '{}') as { rows: { id: string }[] }).rows
      expect(rows.length).toBeGreaterThan(0)
      expect(rows.every((r) => r.id.startsWith('0a'))).toBe(true)
    }, 300_000)

    it("domain-tool computes one tenant's revenue and finds nothing for another tenant's customer", async () => {
      const [own, cross] = (await example('domain-tool.ts', url))
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as unknown)
      expect(own).toMatchObject({
        ok: true,
        data: { orders: expect.any(Number), revenue: expect.any(String) },
      })
      expect(cross).toEqual({ ok: true, data: { orders: 0, revenue: '0.00' } })
    }, 300_000)

    if (engine === 'postgres') {
      it('postgres-server reads paid orders of one tenant and exits (its pool is closed)', async () => {
        const out = JSON.parse(await example('postgres-server.ts', url)) as {
          rows: { id: string; status: string }[]
        }
        expect(out.rows.length).toBeGreaterThan(0)
        expect(out.rows.every((r) => r.status === 'paid' && r.id.startsWith('0a'))).toBe(true)
      }, 60_000)
    } else {
      it('postgres-server without DATABASE_URL says what to set and exits 2', async () => {
        const error = await example('postgres-server.ts', undefined).then(
          () => undefined,
          (e: unknown) => e as { code?: number; stderr?: string },
        )
        expect(error?.code).toBe(2)
        expect(error?.stderr).toContain('Set DATABASE_URL')
      }, 60_000)
    }
  })
}
