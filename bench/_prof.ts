import { Kysely } from 'kysely'
import pg from 'pg'
import { createTesseraDialect } from '../src/executor/tessera-dialect.ts'
import { definePolicy } from '../src/policy/define-policy.ts'
import { createToolset } from '../src/tools/create-toolset.ts'
const url = 'postgres://postgres@127.0.0.1:5432/tessera_bench'
const mode = process.argv[2] ?? 'get'
const n = Number(process.argv[3] ?? 20000)
const pool = new pg.Pool({ connectionString: url, max: 4, connectionTimeoutMillis: 5000 })
const db = new Kysely<any>({ dialect: createTesseraDialect({ pool, statementTimeoutMs: 5000 }) })
const policy = definePolicy({ models: { Order: { table: 'bench_orders', fields: { id: 'allow', status: 'allow', total: 'allow', created_at: 'allow' }, scoping: { tenant_id: 'principal.tenantId' } } } })
const noop = { async stage() { return { async commit() { return {} as any }, async abort() {} } }, async append(d: any) { return d }, async query() { return [] } } as any
import { sealAuditRecord } from '../src/audit/audit-record.ts'
let last: string | null = null
const sealOnly = { async stage() { throw new Error('x') }, async append(d: any) { const r = sealAuditRecord(d, last); last = r.hash; return r }, async query() { return [] } } as any
const ts = await createToolset({ db, policy, secret: 'x'.repeat(32), ...(process.env['NOAUDIT'] ? { audit: noop } : process.env['SEALONLY'] ? { audit: sealOnly } : {}) })
const sample = (await pool.query('select id, tenant_id from bench_orders limit 2000')).rows
async function one(i: number) {
  const r = sample[i % sample.length]
  const ctx = { principal: { tenantId: r.tenant_id } }
  if (mode === 'get') await ts.get(ctx, { model: 'Order', id: r.id })
  else if (mode === 'query') await ts.query(ctx, { model: 'Order', orderBy: [{ field: 'created_at' }], limit: 20 })
  else if (mode === 'raw') await pool.query('select id, status, total, created_at from bench_orders where id = $1 and tenant_id = $2', [r.id, r.tenant_id])
  else if (mode === 'prep') await pool.query({ name: 'p1', text: 'select id, status, total, created_at from bench_orders where id = $1 and tenant_id = $2', values: [r.id, r.tenant_id] })
}
for (let i = 0; i < 5000; i++) await one(i)
const t0 = performance.now()
const c0 = process.cpuUsage()
for (let i = 0; i < n; i++) await one(i)
const cpu = process.cpuUsage(c0)
console.log(mode, 'cpu', ((cpu.user + cpu.system) / n).toFixed(1), 'user', (cpu.user / n).toFixed(1))
console.log(mode, ((performance.now() - t0) * 1000 / n).toFixed(1), 'µs/call mean')
await db.destroy()
