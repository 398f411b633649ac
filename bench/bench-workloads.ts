/**
 * The read workloads the benches share over `bench_orders`: the policy every bench's toolset gets (plain data,
 * since mcp-bench hands it to its server process as a file), and the raw statements equal to what Tessera sends
 * for them — read-bench times them as baselines, plan-cache-bench EXPLAINs them under each plan_cache_mode.
 * One definition, so the benches measure the same thing.
 */
import { BENCH_TABLE } from './bench-data.ts'

export const BENCH_POLICY = {
  models: {
    Order: {
      table: BENCH_TABLE,
      fields: { id: 'allow', status: 'allow', total: 'allow', created_at: 'allow' },
      scoping: { tenant_id: 'principal.tenantId' },
    },
  },
} as const

const COLUMNS = 'id, status, total, created_at'

export const BENCH_SQL = {
  /** `$1` order id, `$2` tenant id. */
  get: `select ${COLUMNS} from ${BENCH_TABLE} where id = $1 and tenant_id = $2`,
  /** `$1` tenant id: the 20 oldest, plus one to tell whether there are more. */
  list: `select ${COLUMNS} from ${BENCH_TABLE} where tenant_id = $1 order by created_at, id limit 21`,
  newest: `select ${COLUMNS} from ${BENCH_TABLE} where tenant_id = $1 order by created_at desc, id desc limit 21`,
  /** `$1` tenant id, `$2` status. */
  count: `select count(*) from ${BENCH_TABLE} where tenant_id = $1 and status = $2`,
} as const
