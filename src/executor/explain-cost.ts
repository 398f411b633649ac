/**
 * The planner's cost estimate for a compiled query, read before the query runs. PGlite ignores
 * statement_timeout and blocks the event loop during a long query (docs/threats.md fact 12), so on PGlite an
 * expensive query must be refused up front instead of cancelled halfway.
 */
import type { CompiledQuery } from 'kysely'
import { printGenericPlanProbe } from '../sql/index.ts'
import type { AnyDatabase } from '../schema/index.ts'

/**
 * Runs `EXPLAIN (FORMAT JSON)` for the **generic plan** of `compiled` on `q` (the executor's transaction or
 * database, so claims and the role apply to the estimate as they will to the query), and returns the
 * worst-case cost of that plan: the highest Total Cost of any node in it. `compiled` must be a statement
 * src/sql printed (printGenericPlanProbe refuses anything else): its SQL is prefixed verbatim.
 *
 * Why the generic plan (issue 9, item 5): a custom plan is made for the bound values, and its estimate comes
 * from table-wide statistics of those values — how many rows *other tenants* hold with them. Judging that
 * estimate made the same filter refused or allowed depending on data the caller cannot see, an oracle. The
 * generic plan treats every value as an unknown parameter, so its cost is a function of the statement's
 * shape (and the table's overall size), the same for every value and every tenant. Steps, in one transaction
 * (a new read-only one when `q` is not a transaction): `set_config('plan_cache_mode', 'force_generic_plan',
 * true)`, `PREPARE`, `EXPLAIN EXECUTE` with NULL arguments (a generic plan does not look at them), `DEALLOCATE`.
 *
 * Why not the top node's Total Cost: every read ends in LIMIT, and a Limit node's cost is its input's cost
 * scaled by the fraction of rows the planner expects to need. When fewer rows match than estimated (a filter
 * on a value that is rare, or rare at the end of an index order), the input is consumed in full, so a query
 * estimated at 30 can cost 700 — exactly the gap a guard against runaway queries must not leave open.
 */
export async function estimateCost(q: AnyDatabase, compiled: CompiledQuery): Promise<number> {
  if (!q.isTransaction) {
    return q
      .transaction()
      .setAccessMode('read only')
      .execute((trx) => genericPlanCost(trx, compiled))
  }
  return genericPlanCost(q, compiled)
}

async function genericPlanCost(trx: AnyDatabase, compiled: CompiledQuery): Promise<number> {
  const probe = printGenericPlanProbe(compiled)
  // A probe left behind on this pooled session (an EXPLAIN that failed aborts the transaction, so its
  // DEALLOCATE could not run; prepared statements are not transactional) is dropped first, or PREPARE would
  // fail on this connection for good.
  const setup = await trx.executeQuery(probe.setup)
  if (setup.rows[0]?.stale === true) await trx.executeQuery(probe.deallocate)
  await trx.executeQuery(probe.prepare)
  const result = await trx.executeQuery(probe.explain)
  await trx.executeQuery(probe.deallocate)
  return worstCostOf(result.rows[0]?.['QUERY PLAN'])
}

/** Deepest plan nesting walked; a planner-built statement is far shallower. */
const MAX_PLAN_DEPTH = 1_000

function worstCostOf(plan: unknown): number {
  // pg parses the json column; a driver that does not returns the text.
  const parsed: unknown = typeof plan === 'string' ? JSON.parse(plan) : plan
  const top: unknown = Array.isArray(parsed) ? parsed[0] : undefined
  const root: unknown = isRecord(top) ? top['Plan'] : undefined
  let worst = -1
  const stack: { node: unknown; depth: number }[] = [{ node: root, depth: 0 }]
  for (let at = stack.pop(); at !== undefined; at = stack.pop()) {
    const { node, depth } = at
    if (!isRecord(node) || depth > MAX_PLAN_DEPTH) throw new Error('unexpected EXPLAIN output')
    const cost: unknown = node['Total Cost']
    if (typeof cost !== 'number' || !Number.isFinite(cost)) throw new Error('unexpected EXPLAIN output')
    worst = Math.max(worst, cost)
    const children: unknown = node['Plans']
    if (children === undefined) continue
    if (!Array.isArray(children)) throw new Error('unexpected EXPLAIN output')
    for (const child of children as unknown[]) stack.push({ node: child, depth: depth + 1 })
  }
  return worst
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}
