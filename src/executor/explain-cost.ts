/**
 * The planner's cost estimate for a compiled query, read before the query runs. PGlite ignores
 * statement_timeout and blocks the event loop during a long query (THREATS fact 12), so on PGlite an
 * expensive query must be refused up front instead of cancelled halfway.
 */
import { CompiledQuery } from 'kysely'
import type { AnyDatabase } from '../schema/any-database.ts'

/**
 * Runs `EXPLAIN (FORMAT JSON)` for `compiled` with the same bound parameters, on `q` (the executor's
 * transaction or database, so claims and the role apply to the estimate as they will to the query), and
 * returns the top plan node's Total Cost. `compiled` must come from the planner: its SQL is prefixed
 * verbatim, and the Tessera dialect's extended protocol refuses anything but one statement.
 */
export async function estimateCost(q: AnyDatabase, compiled: CompiledQuery): Promise<number> {
  const explain = CompiledQuery.raw(`EXPLAIN (FORMAT JSON) ${compiled.sql}`, [...compiled.parameters])
  const result = await q.executeQuery<Record<string, unknown>>(explain)
  return totalCostOf(result.rows[0]?.['QUERY PLAN'])
}

function totalCostOf(plan: unknown): number {
  // pg parses the json column; a driver that does not returns the text.
  const parsed: unknown = typeof plan === 'string' ? JSON.parse(plan) : plan
  const top: unknown = Array.isArray(parsed) ? parsed[0] : undefined
  const node: unknown = isRecord(top) ? top['Plan'] : undefined
  const cost: unknown = isRecord(node) ? node['Total Cost'] : undefined
  if (typeof cost !== 'number' || !Number.isFinite(cost)) throw new Error('unexpected EXPLAIN output')
  return cost
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}
