/**
 * The read fast path's cache (issue 15, item 3; docs/decisions.md "Read fast path: a cache per request shape"):
 * per toolset, what a read of one *shape* needs beyond its values — the statement template and the audit
 * facts — kept under a key made of the normalised request without its values and the principal's visibility
 * as the plan decided it, without its bound values.
 *
 * Why that key is enough. A read plan is made from three things: the bound policy (one per toolset, so one
 * per cache), the request and the principal. The principal reaches a plan only through planVisibility (one
 * VisibilityPlan per model read: root and includes; the cursor scope is never printed): scopes, the bypass in
 * force, the row policies bound to the principal — principal-only parts decided to TRUE/FALSE/NULL, the rest
 * as claims holding values. The key holds every VisibilityPlan whole except the values a statement binds
 * (scope values, claim values: their JS types only), so two principals whose roles or attributes decide any
 * rule differently, or who fall under another bypass, get different keys; tenant and principal values are
 * bound, never in the key. The request is in the key whole except its comparison values and ids (their JS
 * types only), and every request value a statement prints verbatim (is_null's flag, limits) is in it.
 *
 * What is not cached: the request is parsed and the plan made for every call, by the same code as without
 * the cache, so every validation, budget, denial and error (and its text) is the slow path's by
 * construction. A statement is bound from the template only when the plan's own slot values fit it
 * (src/sql/read-template.ts checks their JS types and NULL cursor keys against the template's); otherwise the
 * executor compiles the plan as always. The facts the audit reports are a function of the key (model,
 * scopes' columns and sources, rule and bypass names, transformed fields) and are copied out per call.
 */
import type { ConditionNode, OperandNode } from '../policy/index.ts'
import {
  isSharedBinding,
  type AggregatePlan,
  type GetPlan,
  type QueryPlan,
  type SelectPlan,
  type VisibilityPlan,
} from '../planner/index.ts'
import type {
  AggregateRequest,
  FilterNode,
  GetRequest,
  IncludeRequest,
  QueryRequest,
} from '../request/index.ts'
import type { PlanExecutor } from '../executor/index.ts'

/** Distinct (request shape, visibility) pairs kept per toolset; the oldest is dropped first. */
export const MAX_READ_SHAPES = 512
/**
 * Longest key kept: a request may be up to 1 MiB, and 512 keys of that size would hold hundreds of MB. The
 * shapes calls repeat are small; a larger one takes the uncached path.
 */
export const MAX_READ_SHAPE_KEY_LENGTH = 8_192

type ReadPlan = GetPlan | QueryPlan | AggregatePlan
type ReadTemplate = NonNullable<ReturnType<PlanExecutor['readTemplate']>>

/** The audit facts of a read plan: a function of its shape. */
export interface ReadFacts {
  readonly model: string
  readonly scopesInjected: readonly string[]
  readonly rowPolicies: readonly string[]
  readonly bypass: string | null
  /** Undefined for an aggregate, which reports none. */
  readonly fieldsRedacted: readonly string[] | undefined
}

/** What calls of one shape share. */
export interface ReadShape {
  /** Undefined when the shape's statement is not templated: the executor compiles every call's plan. */
  readonly template: ReadTemplate | undefined
  readonly facts: ReadFacts
}

/** One toolset's shapes. */
export class ReadShapeCache {
  readonly #shapes = new Map<string, ReadShape>()
  readonly #executor: PlanExecutor

  constructor(executor: PlanExecutor) {
    this.#executor = executor
  }

  get size(): number {
    return this.#shapes.size
  }

  /**
   * The shape of this call's (request, plan), made from the plan on first sight; undefined when the request
   * is outside what the key describes (the call then takes the uncached path).
   */
  shapeOf(
    kind: 'get' | 'query' | 'aggregate',
    req: GetRequest | QueryRequest | AggregateRequest,
    plan: ReadPlan,
    facts: () => ReadFacts,
  ): ReadShape | undefined {
    const requestKey = requestShapeKey(kind, req)
    if (requestKey === undefined || requestKey.length > MAX_READ_SHAPE_KEY_LENGTH) return undefined
    const visibility = planVisibilityKey(plan)
    if (visibility === undefined) return undefined
    const key = `${requestKey}\u0000${visibility}`
    if (key.length > MAX_READ_SHAPE_KEY_LENGTH) return undefined
    let shape = this.#shapes.get(key)
    if (shape === undefined) {
      shape = { template: this.#executor.readTemplate(plan), facts: facts() }
      if (this.#shapes.size >= MAX_READ_SHAPES) {
        const oldest = this.#shapes.keys().next()
        if (!oldest.done) this.#shapes.delete(oldest.value)
      }
      this.#shapes.set(key, shape)
    }
    return shape
  }
}

/** Thrown inside the encoders for a request member the key does not describe. */
class Undescribed extends Error {}
const UNDESCRIBED = new Undescribed('undescribed')

function text(value: unknown): string {
  if (typeof value !== 'string') throw UNDESCRIBED
  return `${value.length}:${value}`
}

/** A JS type tag: the key keeps a value's type (the template was checked with it), never the value. */
function typeTag(value: unknown): string {
  if (value === null) return 'z'
  if (Array.isArray(value)) return 'a'
  switch (typeof value) {
    case 'string':
      return 's'
    case 'number':
      return 'n'
    case 'boolean':
      return 'b'
    default:
      throw UNDESCRIBED
  }
}

/** Members of a frozen request object, each checked against the members this key describes. */
function onlyMembers(value: object, allowed: readonly string[]): void {
  for (const key of Object.keys(value)) if (!allowed.includes(key)) throw UNDESCRIBED
}

function names(list: readonly string[] | undefined): string {
  if (list === undefined) return 'u'
  let out = `[${list.length};`
  for (const name of list) out += text(name)
  return out
}

function filterKey(f: FilterNode | undefined): string {
  if (f === undefined) return 'u'
  switch (f.kind) {
    case 'and':
    case 'or': {
      onlyMembers(f, ['kind', 'items'])
      let out = `${f.kind}[${f.items.length};`
      for (const item of f.items) out += filterKey(item)
      return out
    }
    case 'not':
      onlyMembers(f, ['kind', 'item'])
      return `not(${filterKey(f.item)})`
    case 'cmp': {
      onlyMembers(f, ['kind', 'field', 'op', 'value'])
      // is_null's flag chooses the SQL (IS NULL / IS NOT NULL): verbatim. Other values: their type only.
      const value = f.op === 'is_null' ? String(f.value) : typeTag(f.value)
      return `c${text(f.field)}${text(f.op)}${value};`
    }
    default: {
      const never: never = f
      throw new Error(`unhandled filter kind ${String(never)}`)
    }
  }
}

function orderKey(list: QueryRequest['orderBy']): string {
  if (list === undefined) return 'u'
  let out = `[${list.length};`
  for (const item of list) {
    onlyMembers(item, ['field', 'direction'])
    out += `${text(item.field)}${text(item.direction)}`
  }
  return out
}

function limitKey(limit: number | undefined): string {
  if (limit === undefined) return 'u'
  if (typeof limit !== 'number') throw UNDESCRIBED
  return `${limit};`
}

const INCLUDE_MEMBERS = ['select', 'where', 'orderBy', 'limit', 'include']

function includeKey(include: Readonly<Record<string, IncludeRequest>> | undefined): string {
  if (include === undefined) return 'u'
  const relations = Object.keys(include)
  let out = `{${relations.length};`
  for (const relation of relations) {
    const spec = include[relation] as IncludeRequest
    onlyMembers(spec, INCLUDE_MEMBERS)
    out +=
      `${text(relation)}${names(spec.select)}${filterKey(spec.where)}${orderKey(spec.orderBy)}` +
      `${limitKey(spec.limit)}${includeKey(spec.include)}`
  }
  return `${out}}`
}

function idKey(id: GetRequest['id']): string {
  if (typeof id !== 'object' || id === null) return typeTag(id)
  let out = '{'
  for (const key of Object.keys(id)) out += `${text(key)}${typeTag(id[key])}`
  return `${out}}`
}

/** The request without its values, or undefined when it holds a member this key does not describe. */
export function requestShapeKey(
  kind: 'get' | 'query' | 'aggregate',
  req: GetRequest | QueryRequest | AggregateRequest,
): string | undefined {
  try {
    switch (kind) {
      case 'get': {
        const r = req as GetRequest
        onlyMembers(r, ['model', 'id', 'select', 'include'])
        return `g${text(r.model)}${idKey(r.id)}${names(r.select)}${includeKey(r.include)}`
      }
      case 'query': {
        const r = req as QueryRequest
        onlyMembers(r, ['model', 'cursor', ...INCLUDE_MEMBERS])
        // A cursor's presence is shape (it turns the broad-query guard off and adds the keyset predicate); its
        // keys are values, and which of them are NULL is checked against the template at binding.
        const cursor = r.cursor === undefined ? 'u' : 'c'
        return (
          `q${text(r.model)}${names(r.select)}${filterKey(r.where)}${orderKey(r.orderBy)}` +
          `${limitKey(r.limit)}${cursor}${includeKey(r.include)}`
        )
      }
      case 'aggregate': {
        const r = req as AggregateRequest
        onlyMembers(r, ['model', 'op', 'field', 'where', 'groupBy'])
        const field = r.field === undefined ? 'u' : text(r.field)
        return `a${text(r.model)}${text(r.op)}${field}${filterKey(r.where)}${names(r.groupBy)}`
      }
      default: {
        const never: never = kind
        throw new Error(`unhandled read kind ${String(never)}`)
      }
    }
  } catch (error) {
    if (error === UNDESCRIBED) return undefined
    throw error
  }
}

function operandKey(o: OperandNode): string {
  switch (o.kind) {
    case 'field':
      return `f${text(o.name)}`
    case 'literal':
      // A policy literal is the policy's, not the principal's: verbatim, type-tagged (the template binds it
      // as a fixed parameter, src/sql/statement-cache.ts).
      return `l${literalKey(o.value)}`
    case 'principal':
      // Plans hold no principal operand (bindConditionToPrincipal); keyed in full should one ever appear.
      return `p${JSON.stringify(o.path)};`
    case 'claim':
      // A NULL claim is printed verbatim, any other bound: its type only.
      return `k${JSON.stringify(o.path)}${o.value === null ? 'Z' : typeTag(o.value)}`
    default: {
      const never: never = o
      throw new Error(`unhandled operand kind ${String(never)}`)
    }
  }
}

/** A policy literal whole: its type and value (-0 and NaN apart, which JSON would not keep). */
function literalKey(value: unknown): string {
  switch (typeof value) {
    case 'string':
      return `s${text(value)}`
    case 'number':
      return `n${Object.is(value, -0) ? '-0' : String(value)};`
    case 'boolean':
      return value ? 'T' : 'F'
    default:
      if (value === null) return 'Z'
      throw UNDESCRIBED
  }
}

/**
 * Keys of shared bound conditions (a rule without a principal operand, bound once for every plan: the
 * planner's isSharedBinding): deep-frozen, so their key never changes and is written once.
 */
const sharedConditionKeys = new WeakMap<ConditionNode, string>()

/** A bound row-policy condition: structure, fields, literals and decided parts verbatim; claim values typed. */
function conditionKey(node: ConditionNode): string {
  if (!isSharedBinding(node)) return writeConditionKey(node)
  let key = sharedConditionKeys.get(node)
  if (key === undefined) {
    key = writeConditionKey(node)
    sharedConditionKeys.set(node, key)
  }
  return key
}

function writeConditionKey(node: ConditionNode): string {
  switch (node.kind) {
    case 'bool':
      return `B${String(node.value)};`
    case 'is_null':
      return `N${node.negated ? '!' : ''}${operandKey(node.operand)}`
    case 'and':
    case 'or': {
      let out = `${node.kind}[${node.operands.length};`
      for (const o of node.operands) out += conditionKey(o)
      return out
    }
    case 'not':
      return `!(${conditionKey(node.operand)})`
    case 'compare':
      return `C${node.op}${operandKey(node.left)}${operandKey(node.right)}`
    case 'in': {
      const right = node.right
      let out = `I${node.negated ? '!' : ''}${operandKey(node.left)}`
      if (right.kind === 'claimList') out += `K${JSON.stringify(right.path)}`
      else if (right.kind === 'list') {
        out += `L[${right.items.length};`
        for (const item of right.items) out += operandKey(item)
      } else out += operandKey(right)
      return out
    }
    default: {
      const never: never = node
      throw new Error(`unhandled condition kind ${String(never)}`)
    }
  }
}

function rulesKey(rules: VisibilityPlan['permissive']): string {
  let out = `[${rules.length};`
  for (const r of rules) out += `${text(r.name)}${conditionKey(r.condition)}`
  return out
}

/** A VisibilityPlan without its bound values (scope and claim values: their types only). */
export function visibilityKey(v: VisibilityPlan): string {
  let out = `${text(v.model)}${v.bypass === null ? 'Z' : text(v.bypass)}`
  out += `${v.softDeleteColumn === null ? 'Z' : text(v.softDeleteColumn)}${v.shared ? 'T' : 'F'}`
  out += `[${v.scopes.length};`
  for (const s of v.scopes) out += `${text(s.column)}${text(s.source)}${typeTag(s.value)}`
  if (v.permissive.length > 0 || v.restrictive.length > 0)
    out += `${rulesKey(v.permissive)}${rulesKey(v.restrictive)}`
  return out
}

function selectVisibilityKey(p: SelectPlan): string {
  let out = visibilityKey(p.visibility)
  for (const inc of p.includes) out += `(${selectVisibilityKey(inc.select)})`
  return out
}

/** The plan's every VisibilityPlan (root and includes, depth first), keyed; undefined outside the key. */
function planVisibilityKey(plan: ReadPlan): string | undefined {
  try {
    return plan.kind === 'aggregate' ? visibilityKey(plan.visibility) : selectVisibilityKey(plan.root)
  } catch (error) {
    if (error === UNDESCRIBED) return undefined
    throw error
  }
}
