/**
 * compileGet / compileQuery: a read plan's statement, compiled by Kysely once per plan *shape* and then reused
 * with the new call's parameter values. Building and compiling the Kysely tree is the largest CPU cost of a
 * read (tens of µs), while two calls that differ only in bound values (tenant, id, filter values, limit,
 * cursor position) produce the same SQL text.
 *
 * How a shape is made safe to reuse:
 * - Every value that print-select only *binds* is swapped for a Slot marker by the probe walk (read-probe.ts,
 *   which the read fast path runs too): scope values, comparison values, `in` lists, `between` bounds, claim
 *   values and non-null cursor keys (the fetch limit is written into the SQL text, so it stays in the key).
 *   Everything else in the
 *   plan stays verbatim and the key is the JSON of this probe plan, so any plan difference that can change
 *   the SQL text changes the key. Values that *choose* SQL (`is_null`'s true/false, a NULL cursor key) are
 *   kept verbatim; values rewritten before binding (LIKE patterns) make the plan uncacheable: it is built the
 *   ordinary way. Row-policy conditions are data bound by the planner (a plan holds no principal): their claim
 *   values are slots like scope values, and the rest of each condition is part of the key, so a plan with
 *   row policies is cached by shape like any other.
 * - The template is compiled from the probe plan, every member of which outside the key throws when read:
 *   if the builder ever reads something the key does not cover, the shape is uncacheable.
 * - A template is kept only if every compiled parameter is a Slot or a verbatim scalar (or list of scalars)
 *   of the probe — a row policy's literal, which the key holds (the rules are encoded whole), so the template
 *   keeps it as a fixed parameter —, every Slot is bound at least once, and instantiating it with the first
 *   plan's values gives exactly what building that plan directly gives.
 * - Only for databases without Kysely plugins (a plugin may rewrite a query depending on its values).
 */
import { createQueryId, type CompiledQuery, type QueryId, type RootOperationNode } from 'kysely'
import { printGet, printQuery } from './print-select.ts'
import { printAggregate } from './print-aggregate.ts'
import { guardedProbe, shapeKeyOf } from './statement-shape-key.ts'
import { markPrinted, markPrintedTemplate, templateStatement } from './printed-statement.ts'
import { isSlot, slotIndexOf, SlotValues } from './template-slots.ts'
import { type CachedPlan, type ProbePlan, probeRead, UNCACHEABLE, type Uncacheable } from './read-probe.ts'
import type { AggregatePlan, GetPlan, QueryPlan } from '../planner/index.ts'
import type { AnyDatabase } from '../schema/index.ts'

/** Distinct plan shapes remembered per database; the least recently added is dropped first. */
export const MAX_STATEMENT_TEMPLATES = 512

type AnyDb = AnyDatabase

export interface StatementTemplate {
  readonly sql: string
  readonly query: RootOperationNode
  /**
   * One query id for every statement of the template, marked printed once with its node. Nothing correlates
   * by it: templates serve only instances without plugins, and the guard the executor sends on only asks
   * whether it was marked.
   */
  readonly queryId: QueryId
  /** Compiled parameter i takes slot value `order[i]`, or `fixed[i]` where `order[i]` is -1. */
  readonly order: readonly number[]
  /**
   * The parameters the probe held verbatim (a row policy's literals: a value, or a literal list as one array),
   * by position; empty when there are none. They are part of the shape key (the rules are encoded whole), so
   * every plan of the shape has these very values: a policy literal never varies per principal or per call.
   */
  readonly fixed: readonly unknown[]
}

const templatesByDb = new WeakMap<AnyDb, Map<string, StatementTemplate | Uncacheable>>()

function compileDirect(db: AnyDb, plan: CachedPlan): CompiledQuery {
  switch (plan.kind) {
    case 'get':
      return printGet(db, plan).compile()
    case 'query':
      return printQuery(db, plan).compile()
    case 'aggregate':
      return printAggregate(db, plan).compile()
    default: {
      const never: never = plan
      throw new Error(`unhandled plan kind ${String(never)}`)
    }
  }
}

/**
 * Compiles the probe with every object guarded: reading a member the shape key does not cover throws (and
 * the shape is then uncacheable).
 */
function compileProbe(db: AnyDb, probe: ProbePlan): CompiledQuery {
  // The guarded copy stands for the plan: the builder reads only the members the shape key covers.
  return compileDirect(db, guardedProbe(probe, slotIndexOf) as unknown as CachedPlan)
}

function makeTemplate(
  db: AnyDb,
  probe: ProbePlan,
  plan: CachedPlan,
  values: readonly unknown[],
): StatementTemplate | Uncacheable {
  let compiled: CompiledQuery
  try {
    compiled = compileProbe(db, probe)
  } catch {
    return UNCACHEABLE
  }
  const order: number[] = []
  const fixed: unknown[] = []
  const seen = new Set<number>()
  for (const p of compiled.parameters) {
    // A slot may be bound more than once (keyset predicates repeat cursor values); it may not vanish.
    if (isSlot(p)) {
      seen.add(p.$slot)
      order.push(p.$slot)
      fixed.push(undefined)
      continue
    }
    // Anything else must be a value the probe held verbatim (so in the key): a scalar or a list of scalars.
    const constant = fixedParameter(p)
    if (constant === UNCACHEABLE) return UNCACHEABLE
    order.push(-1)
    fixed.push(constant)
  }
  if (seen.size !== values.length) return UNCACHEABLE
  const direct = compileDirect(db, plan)
  const instantiated = order.map((i, at) => (i < 0 ? fixed[at] : values[i]))
  const same =
    direct.sql === compiled.sql &&
    direct.parameters.length === instantiated.length &&
    direct.parameters.every((p, i) => sameParameter(p, instantiated[i]))
  if (!same) return UNCACHEABLE
  const queryId = createQueryId()
  markPrintedTemplate(compiled.query, queryId)
  return {
    sql: compiled.sql,
    query: compiled.query,
    queryId,
    order,
    fixed: order.includes(-1) ? Object.freeze(fixed) : [],
  }
}

/** A scalar, kept as it is. */
function isScalar(value: unknown): boolean {
  return value === null || ['string', 'number', 'boolean'].includes(typeof value)
}

/**
 * A compiled parameter that is no slot, as the template keeps it: a scalar, or a frozen copy of an array of
 * scalars (a literal list travels as one array); anything else (an array holding a slot, an object) is not a
 * verbatim policy value, and the shape is not templated.
 */
function fixedParameter(p: unknown): unknown {
  if (isScalar(p)) return p
  if (!Array.isArray(p)) return UNCACHEABLE
  const items: readonly unknown[] = p
  for (const item of items) if (!isScalar(item)) return UNCACHEABLE
  return Object.freeze([...items])
}

/** Equal as bound parameters: the same scalar, or arrays of the same scalars. */
function sameParameter(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true
  if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false
  const left: readonly unknown[] = a
  const right: readonly unknown[] = b
  for (let i = 0; i < left.length; i++) if (!Object.is(left[i], right[i])) return false
  return true
}

/** The template of `probe`'s shape on `db` (made and remembered on first use), or UNCACHEABLE. */
function templateOf(
  db: AnyDb,
  probe: ProbePlan,
  plan: CachedPlan,
  slots: SlotValues,
): StatementTemplate | Uncacheable {
  let templates = templatesByDb.get(db)
  if (!templates) {
    templates = new Map()
    templatesByDb.set(db, templates)
  }
  const shape = shapeKeyOf(probe, slotIndexOf)
  if (shape === undefined) return UNCACHEABLE
  // The JS types of the slot values are part of the key: the template was checked with these types.
  const key = `${slots.types}|${shape}`
  let template = templates.get(key)
  if (template === undefined) {
    template = makeTemplate(db, probe, plan, slots.values)
    if (templates.size >= MAX_STATEMENT_TEMPLATES) {
      const oldest = templates.keys().next()
      if (!oldest.done) templates.delete(oldest.value)
    }
    templates.set(key, template)
  }
  return template
}

/** A template's statement with `values` (slot values in probe order) bound. */
export function instantiateTemplate<R>(
  template: StatementTemplate,
  values: readonly unknown[],
): CompiledQuery<R> {
  const order = template.order
  const fixed = template.fixed
  const parameters: unknown[] = new Array<unknown>(order.length)
  for (let i = 0; i < order.length; i++) {
    const at = order[i] as number
    parameters[i] = at < 0 ? fixed[i] : values[at]
  }
  return templateStatement<R>(template.query, template.queryId, template.sql, parameters)
}

/**
 * The statement of `plan`, from the template of its shape when there is one. No closures are created per
 * call: this runs on every read.
 */
function compileCached<R>(
  db: AnyDb,
  plan: CachedPlan,
  probe: ProbePlan | Uncacheable,
  slots: SlotValues,
): CompiledQuery<R> {
  if (probe === UNCACHEABLE || db.getExecutor().plugins.length > 0)
    return markPrinted(compileDirect(db, plan) as CompiledQuery<R>)
  const template = templateOf(db, probe, plan, slots)
  if (template === UNCACHEABLE) return markPrinted(compileDirect(db, plan) as CompiledQuery<R>)
  return instantiateTemplate<R>(template, slots.values)
}

/**
 * The verified template of a read plan's shape with the plan's slot values (read-template.ts, the read fast
 * path), or undefined when the shape is uncacheable or `db` has plugins.
 */
export function readPlanTemplate(
  db: AnyDb,
  plan: CachedPlan,
): { readonly template: StatementTemplate; readonly slots: SlotValues } | undefined {
  if (db.getExecutor().plugins.length > 0) return undefined
  const slots = new SlotValues()
  const probe = probeRead(plan, slots, true)
  if (probe === UNCACHEABLE) return undefined
  const template = templateOf(db, probe, plan, slots)
  return template === UNCACHEABLE ? undefined : { template, slots }
}

/**
 * The statement `printGet(db, plan).compile()` gives, from the shape cache when possible, marked as printed
 * here (src/sql/printed-statement.ts).
 */
export function compileGet<R>(db: AnyDb, plan: GetPlan): CompiledQuery<R> {
  const slots = new SlotValues()
  return compileCached<R>(db, plan, probeRead(plan, slots, true), slots)
}

/** The statement `printQuery(db, plan).compile()` gives, from the shape cache when possible, marked as printed. */
export function compileQuery<R>(db: AnyDb, plan: QueryPlan): CompiledQuery<R> {
  const slots = new SlotValues()
  return compileCached<R>(db, plan, probeRead(plan, slots, true), slots)
}

/** The statement `printAggregate(db, plan).compile()` gives, from the shape cache when possible. */
export function compileAggregate<R>(db: AnyDb, plan: AggregatePlan): CompiledQuery<R> {
  const slots = new SlotValues()
  return compileCached<R>(db, plan, probeRead(plan, slots, true), slots)
}
