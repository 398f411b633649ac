import { Kysely } from 'kysely'
import pg from 'pg'
import { createTesseraDialect } from '../src/executor/tessera-dialect.ts'
import { definePolicy } from '../src/policy/define-policy.ts'
import { createToolset } from '../src/tools/create-toolset.ts'
import { MemoryAuditStore } from '../src/audit/index.ts'
const url = 'postgres://postgres@127.0.0.1:5432/tessera_bench'
const mode = process.argv[2] ?? 'get'
const n = Number(process.argv[3] ?? 20000)
const acc: Record<string, number> = {}
const add = (k: string, v: number) => { acc[k] = (acc[k] ?? 0) + v }
const pool = new pg.Pool({ connectionString: url, max: 4, connectionTimeoutMillis: 5000 })
// time the raw client.query calls
const origConnect = pool.connect.bind(pool)
;(pool as any).connect = (...a: any[]) => { if (typeof a[0] === 'function') return (origConnect as any)(...a); return (async () => {
  const t = performance.now(); const c: any = await (origConnect as any)(...a); add('pool.connect', performance.now() - t)
  if (!c.__wrapped) { const q = c.query.bind(c); c.query = async (cfg: any) => { const t0 = performance.now(); try { return await q(cfg) } finally { add('client.query (pg + I/O)', performance.now() - t0) } }; c.__wrapped = true }
  return c
})() }
const db = new Kysely<any>({ dialect: createTesseraDialect({ pool: pool as any, statementTimeoutMs: 5000 }) })
const dbProxy = new Proxy(db, { get(t, p, r) { const v = Reflect.get(t, p, r); if (p === 'executeQuery') return async (q: any) => { const t0 = performance.now(); try { return await v.call(t, q) } finally { add('db.executeQuery (Kysely+dialect+pg)', performance.now() - t0) } }; return typeof v === 'function' ? v.bind(t) : v } })
const mem = new MemoryAuditStore()
const audit = { stage: (d: any) => mem.stage(d), append: async (d: any) => { const t0 = performance.now(); try { return await mem.append(d) } finally { add('audit.append', performance.now() - t0) } }, query: (f: any) => mem.query(f) } as any
const policy = definePolicy({ models: { Order: { table: 'bench_orders', fields: { id: 'allow', status: 'allow', total: 'allow', created_at: 'allow' }, scoping: { tenant_id: 'principal.tenantId' } } } })
const ts = await createToolset({ db: dbProxy, policy, secret: 'x'.repeat(32), audit })
const sample = (await pool.query('select id, tenant_id from bench_orders limit 2000')).rows
async function one(i: number) {
  const r = sample[i % sample.length]
  const ctx = { principal: { tenantId: r.tenant_id } }
  const t0 = performance.now()
  if (mode === 'get') await ts.get(ctx, { model: 'Order', id: r.id })
  else await ts.query(ctx, { model: 'Order', orderBy: [{ field: 'created_at' }], limit: 20 })
  add('total call', performance.now() - t0)
}
for (let i = 0; i < 5000; i++) await one(i)
for (const k of Object.keys(acc)) delete acc[k]
for (let i = 0; i < n; i++) await one(i)
for (const [k, v] of Object.entries(acc)) console.log(k.padEnd(40), ((v * 1000) / n).toFixed(1), 'µs/call')
await db.destroy()
