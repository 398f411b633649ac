/**
 * The read tools: query, get, aggregate. Each is parse → plan → the executor's runRead (print, cost guard,
 * session, one statement) → shape; every decision was made by the planner and is reported to the audit from
 * the plan itself.
 */
import type { RunContext } from '../context/index.ts'
import { budgetExceeded, notFound, validationError } from '../errors/index.ts'
import { toJsonSafe, shapeRows, type Row } from '../executor/index.ts'
import { AGGREGATE_VALUE, orderKeySources } from '../sql/index.ts'
import {
  cursorBinding,
  encodeCursor,
  planAggregate,
  planGet,
  planQuery,
  redactedFieldsOf,
  type AggregatePlan,
  type SelectPlan,
  type VisibilityPlan,
} from '../planner/index.ts'
import { parseRequest } from '../request/index.ts'
import type { CallFacts, ToolRuntime } from './tool-runtime.ts'
import type { ReadFacts } from './read-shape-cache.ts'

export interface QueryResult {
  rows: Row[]
  nextCursor: string | null
  hasMore: boolean
}

export interface GetResult {
  row: Row
}

export type AggregateResult =
  { value: string | number | null } | { groups: { key: Row; value: string | number | null }[] }

export function visibilityFacts(v: VisibilityPlan): { scopes: string[]; policies: string[] } {
  return {
    scopes: v.scopes.map((s) => `${v.model}.${s.column} = ${s.source}`),
    policies: [...v.permissive, ...v.restrictive].map((r) => `${v.model}.${r.name}`),
  }
}

interface SelectFacts {
  readonly scopes: string[]
  readonly policies: string[]
  bypass: string | null
}

function collectSelectFacts(p: SelectPlan, out: SelectFacts): void {
  const f = visibilityFacts(p.visibility)
  out.scopes.push(...f.scopes)
  out.policies.push(...f.policies)
  if (p.visibility.bypass !== null && out.bypass === null) out.bypass = `${p.model}.${p.visibility.bypass}`
  for (const inc of p.includes) collectSelectFacts(inc.select, out)
}

function selectReadFacts(plan: SelectPlan): ReadFacts {
  const out: SelectFacts = { scopes: [], policies: [], bypass: null }
  collectSelectFacts(plan, out)
  return {
    model: plan.model,
    scopesInjected: out.scopes,
    rowPolicies: out.policies,
    bypass: out.bypass,
    fieldsRedacted: redactedFieldsOf(plan),
  }
}

function aggregateReadFacts(plan: AggregatePlan): ReadFacts {
  const vf = visibilityFacts(plan.visibility)
  return {
    model: plan.model,
    scopesInjected: vf.scopes,
    rowPolicies: vf.policies,
    bypass: plan.visibility.bypass === null ? null : `${plan.model}.${plan.visibility.bypass}`,
    fieldsRedacted: undefined,
  }
}

/**
 * The audit facts of a read plan into the call's facts; a shape's facts are shared by its calls, so each call
 * gets its own copies of the lists.
 */
function reportFacts(read: ReadFacts, facts: CallFacts, shared: boolean): void {
  facts.model = read.model
  facts.scopesInjected = shared ? read.scopesInjected.slice() : read.scopesInjected
  facts.rowPolicies = shared ? read.rowPolicies.slice() : read.rowPolicies
  facts.bypass = read.bypass
  if (read.fieldsRedacted !== undefined)
    facts.fieldsRedacted = shared ? read.fieldsRedacted.slice() : read.fieldsRedacted
}

/** Sort-key bytes a cursor can carry within its 4 KB token (encryption and encoding take the rest). */
const MAX_CURSOR_KEY_BYTES = 2_000

export async function runQuery(
  runtime: ToolRuntime,
  ctx: RunContext,
  requestId: string,
  args: unknown,
  facts: CallFacts,
): Promise<QueryResult> {
  const req = parseRequest('query', args, runtime.inputLimits)
  facts.request = req
  const plan = planQuery(runtime.bound, ctx.principal, req, { cursorKey: runtime.secret })
  const shape = runtime.readShapes?.shapeOf('query', req, plan, () => selectReadFacts(plan.root))
  reportFacts(shape?.facts ?? selectReadFacts(plan.root), facts, shape !== undefined)
  const raw = await runtime.executor.runRead(plan, { requestId, principal: ctx.principal }, shape?.template)
  const hasMore = raw.length > plan.limit
  const page = hasMore ? raw.slice(0, plan.limit) : raw
  let nextCursor: string | null = null
  const last = page[page.length - 1]
  if (hasMore && last) {
    const k = orderKeySources(plan.root).map((source) => {
      const v = last[source]
      return v === null || v === undefined ? null : String(v)
    })
    if (k.reduce((n, v) => n + (v === null ? 4 : Buffer.byteLength(v)), 0) > MAX_CURSOR_KEY_BYTES) {
      // The caller's own data can make a sort key too long for a cursor; say so instead of failing inside.
      throw validationError('The sort key of the last row is too long to page by; order by a shorter field', [
        { path: 'orderBy', message: 'sort key too long for a cursor' },
      ])
    }
    // A page opened by a cursor already has its binding (the same scope): write it out once per call.
    const b = plan.cursorBinding ?? cursorBinding(plan.cursorScope)
    nextCursor = encodeCursor({ v: 1, b, k }, runtime.secret)
  }
  const rows = shapeRows(page, plan.root, runtime.secret)
  facts.rowCount = rows.length
  return { rows, nextCursor, hasMore }
}

export async function runGet(
  runtime: ToolRuntime,
  ctx: RunContext,
  requestId: string,
  args: unknown,
  facts: CallFacts,
): Promise<GetResult> {
  const req = parseRequest('get', args, runtime.inputLimits)
  facts.request = req
  const plan = planGet(runtime.bound, ctx.principal, req)
  const shape = runtime.readShapes?.shapeOf('get', req, plan, () => selectReadFacts(plan.root))
  reportFacts(shape?.facts ?? selectReadFacts(plan.root), facts, shape !== undefined)
  const raw = await runtime.executor.runRead(plan, { requestId, principal: ctx.principal }, shape?.template)
  const first = raw[0]
  // Another tenant's row and a row that does not exist take this same path and the same error.
  if (!first) throw notFound(plan.root.model)
  const [row] = shapeRows([first], plan.root, runtime.secret)
  facts.rowCount = 1
  return { row: row as Row }
}

/** JSON-safe: NaN and ±Infinity (float min/max, numeric sums) leave as strings, not as numbers JSON turns into null. */
function aggregateValue(v: unknown): string | number | null {
  if (v === null || v === undefined) return null
  if (typeof v === 'number') return Number.isFinite(v) ? v : String(v)
  if (typeof v === 'string') return v
  return String(v)
}

export async function runAggregate(
  runtime: ToolRuntime,
  ctx: RunContext,
  requestId: string,
  args: unknown,
  facts: CallFacts,
): Promise<AggregateResult> {
  const req = parseRequest('aggregate', args, runtime.inputLimits)
  facts.request = req
  const plan = planAggregate(runtime.bound, ctx.principal, req)
  const shape = runtime.readShapes?.shapeOf('aggregate', req, plan, () => aggregateReadFacts(plan))
  reportFacts(shape?.facts ?? aggregateReadFacts(plan), facts, shape !== undefined)
  const raw = await runtime.executor.runRead(plan, { requestId, principal: ctx.principal }, shape?.template)
  // Counts are exact integers: return them as numbers while they fit, as strings beyond 2^53.
  const convert = (v: unknown): string | number | null => {
    const out = aggregateValue(v)
    if (plan.op === 'count' && typeof out === 'string' && Number.isSafeInteger(Number(out)))
      return Number(out)
    return out
  }
  if (plan.groupBy.length === 0) {
    facts.rowCount = 1
    return { value: convert(raw[0]?.[AGGREGATE_VALUE]) }
  }
  if (raw.length > plan.maxGroups) throw budgetExceeded('max_rows', plan.maxGroups, raw.length)
  facts.rowCount = raw.length
  return {
    groups: raw.map((r) => ({
      key: Object.fromEntries(plan.groupBy.map((g) => [g.name, toJsonSafe(r[g.name] ?? null)])),
      value: convert(r[AGGREGATE_VALUE]),
    })),
  }
}
