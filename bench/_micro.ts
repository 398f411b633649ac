import { Kysely } from 'kysely'
import pg from 'pg'
import { createTesseraDialect } from '../src/executor/tessera-dialect.ts'
import { definePolicy } from '../src/policy/define-policy.ts'
import { createToolset } from '../src/tools/create-toolset.ts'
import { planGet } from '../src/planner/plan-read.ts'
import { buildGet } from '../src/planner/build-select.ts'
import { compileGet } from '../src/planner/compile-select.ts'
import { parseRequest } from '../src/planner/request/request-schema.ts'
import { sealAuditRecord } from '../src/audit/audit-record.ts'
import { auditDraft } from '../src/tools/tool-runtime.ts'
const pool = new pg.Pool({ connectionString: 'postgres://postgres@127.0.0.1:5432/tessera_bench', max: 1 })
const db = new Kysely<any>({ dialect: createTesseraDialect({ pool, statementTimeoutMs: 5000 }) })
const policy = definePolicy({ models: { Order: { table: 'bench_orders', fields: { id: 'allow', status: 'allow', total: 'allow', created_at: 'allow' }, scoping: { tenant_id: 'principal.tenantId' } } } })
const ts = await createToolset({ db, policy, secret: 'x'.repeat(32) })
const rows = (await pool.query('select id::text, tenant_id::text from bench_orders limit 1000')).rows
const plans = rows.map((r) => planGet(ts.bound, { tenantId: r.tenant_id }, parseRequest('get', { model: 'Order', id: r.id })))
let sink: unknown
function t(name: string, n: number, f: (i: number) => unknown) {
  for (let i = 0; i < n / 4; i++) sink = f(i)
  const c0 = process.cpuUsage(); const s = performance.now()
  for (let i = 0; i < n; i++) sink = f(i)
  const cpu = process.cpuUsage(c0)
  console.log(name.padEnd(30), (((performance.now() - s) * 1000) / n).toFixed(2), 'µs wall', ((cpu.user + cpu.system) / n).toFixed(2), 'µs cpu')
}
const N = 20000
t('buildGet+compile', N, (i) => buildGet(db, plans[i % plans.length]!).compile())
t('compileGet (cached)', N, (i) => compileGet(db, plans[i % plans.length]!))
t('JSON.stringify root', N, (i) => JSON.stringify(plans[i % plans.length]!.root))
const runtime = { bound: ts.bound } as any
const drafts = rows.map((r, i) => auditDraft(runtime, 'db_get', 'read', { principal: { tenantId: r.tenant_id } }, { principal: { tenantId: r.tenant_id } }, 'req-' + i, { model: 'Order', id: r.id }, { model: 'Order', scopesInjected: ['Order.tenant_id = principal.tenantId'], rowPolicies: [], bypass: null, fieldsRedacted: [], rowCount: 1 }, 0, null))
let prev: string | null = null
t('sealAuditRecord', N, (i) => { const r = sealAuditRecord(drafts[i % drafts.length]!, prev); prev = r.hash; return r })
console.log(JSON.stringify(drafts[0]).length)

const p0 = plans[0]!
const probeLike = JSON.parse(JSON.stringify(p0.root))
t('JSON.stringify probe-like', N, () => JSON.stringify(probeLike))
const k = JSON.stringify(probeLike)
const m = new Map([[k, 1]])
t('key concat + map.get', N, (i) => m.get(`${i % 2 ? 'string,' : 'string,'}|${k}`))
await db.destroy()
