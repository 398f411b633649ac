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
const ts = await createToolset({ db, policy, secret: 'x'.repeat(32) })
const sample = (await pool.query('select id, tenant_id from bench_orders limit 2000')).rows
const t0 = performance.now()
for (let i = 0; i < n; i++) {
  const r = sample[i % sample.length]
  const ctx = { principal: { tenantId: r.tenant_id } }
  if (mode === 'get') await ts.get(ctx, { model: 'Order', id: r.id })
  else if (mode === 'query') await ts.query(ctx, { model: 'Order', orderBy: [{ field: 'created_at' }], limit: 20 })
  else if (mode === 'raw') await pool.query('select id, status, total, created_at from bench_orders where id = $1 and tenant_id = $2', [r.id, r.tenant_id])
}
console.log(mode, ((performance.now() - t0) * 1000 / n).toFixed(1), 'µs/call mean')
await db.destroy()
