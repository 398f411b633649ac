/**
 * The workloads the benches share over the bench data set (bench-data.ts): the policies every bench's toolset
 * gets (plain data, since mcp-bench hands its policy to a server process as a file), and the raw statements
 * equal to what Tessera sends for them — read-bench times them as baselines, plan-cache-bench EXPLAINs them
 * under each plan_cache_mode. One definition, so the benches measure the same thing.
 */
import { BENCH_CUSTOMERS, BENCH_NOTES, BENCH_TABLE } from './bench-data.ts'

/** Orders only: the read scenarios, the RLS scenarios, the MCP and plan-cache benches. */
export const BENCH_POLICY = {
  models: {
    Order: {
      table: BENCH_TABLE,
      fields: { id: 'allow', status: 'allow', total: 'allow', created_at: 'allow' },
      scoping: { tenant_id: 'principal.tenantId' },
    },
  },
} as const

/**
 * The same Order (plus its customer_id) and what the include and the writes need (issue 15's peer workloads `getWithCustomer`,
 * `createNote`, `updateNote`): the order's customer over the composite foreign key `(tenant_id, customer_id)`,
 * so the include's join carries the tenant; notes the caller creates (tenant set by the server, the order
 * must be one the caller can see) and updates (the body only).
 */
export const BENCH_FULL_POLICY = {
  models: {
    Order: {
      ...BENCH_POLICY.models.Order,
      // A relation's join columns must be readable, and so must a primary key's.
      fields: { ...BENCH_POLICY.models.Order.fields, customer_id: 'allow' },
      relations: { customer: { model: 'Customer' } },
    },
    Customer: {
      table: BENCH_CUSTOMERS,
      fields: { tenant_id: 'allow', id: 'allow', name: 'allow' },
      scoping: { tenant_id: 'principal.tenantId' },
    },
    Note: {
      table: BENCH_NOTES,
      fields: { id: 'allow', order_id: 'allow', body: 'allow', created_at: 'allow' },
      scoping: { tenant_id: 'principal.tenantId' },
      relations: { order: { model: 'Order' } },
      write: {
        create: 'allow',
        update: 'allow',
        autoSet: { tenant_id: 'principal.tenantId' },
        // why the cast: `as const` would make the list readonly, which definePolicy's input type does not take.
        immutableFields: ['tenant_id', 'order_id'] as string[],
      },
    },
  },
} as const

const COLUMNS = 'id, status, total, created_at'
const NOTE_COLUMNS = 'id, order_id, body, created_at'

export const BENCH_SQL = {
  /** `$1` order id, `$2` tenant id. */
  get: `select ${COLUMNS} from ${BENCH_TABLE} where id = $1 and tenant_id = $2`,
  /** `$1` tenant id: the 20 oldest, plus one to tell whether there are more. */
  list: `select ${COLUMNS} from ${BENCH_TABLE} where tenant_id = $1 order by created_at, id limit 21`,
  newest: `select ${COLUMNS} from ${BENCH_TABLE} where tenant_id = $1 order by created_at desc, id desc limit 21`,
  /** `$1` tenant id, `$2` status. */
  count: `select count(*) from ${BENCH_TABLE} where tenant_id = $1 and status = $2`,
  /** `$1` order id, `$2` tenant id: the order with its customer, as an application joins them. */
  getWithCustomer: `select o.id, o.status, o.total, o.created_at, o.customer_id,
      c.tenant_id as customer_tenant_id, c.id as customer_key, c.name as customer_name
    from ${BENCH_TABLE} o join ${BENCH_CUSTOMERS} c on c.tenant_id = o.tenant_id and c.id = o.customer_id
    where o.id = $1 and o.tenant_id = $2`,
  /** `$1` tenant id, `$2` order id, `$3` body (the foreign key checks the order exists). */
  createNote: `insert into ${BENCH_NOTES} (tenant_id, order_id, body) values ($1, $2, $3) returning ${NOTE_COLUMNS}`,
  /** `$1` note id, `$2` tenant id, `$3` body. */
  updateNote: `update ${BENCH_NOTES} set body = $3 where id = $1 and tenant_id = $2 returning ${NOTE_COLUMNS}`,
} as const
