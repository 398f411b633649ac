/**
 * Hand-written validation of the request shapes nearly every call uses — `{ model, id, select? }`,
 * `{ model, select?, where?, orderBy?, limit?, cursor? }` and `{ model, op, field?, where?, groupBy? }` with a
 * comparison, a flat AND of comparisons (object or array) or no filter — for input that already passed the input
 * guard (so it is plain JSON-like data).
 *
 * The zod schemas stay the definition. These functions either return exactly what the schema path returns
 * (zod, then normalisation) or `undefined`, never an error: anything unusual or invalid goes through the
 * schema path, which produces the error. A differential property test holds the two paths to the same answers.
 * Like zod, a member is looked up with `key in input` / `input[key]` and unknown keys are found with for…in.
 */
import {
  FILTER_OPS,
  IDENTIFIER_PATTERN,
  type FilterNode,
  type FilterOp,
  type Scalar,
} from './filter-schema.ts'

type Input = Record<string, unknown>

// The normalised shapes this file produces: structurally request-schema.ts's GetRequest and QueryRequest
// (restated here because request-schema.ts imports this file).
type IdValue = string | number

interface OrderByItem {
  readonly field: string
  readonly direction: 'asc' | 'desc'
}

export interface SimpleGetRequest {
  readonly model: string
  readonly id: IdValue
  readonly select?: readonly string[]
}

/** request-schema.ts's AGGREGATE_OPS (restated: that file imports this one); an op missing here takes zod. */
type SimpleAggregateOp = 'count' | 'sum' | 'avg' | 'min' | 'max'

export interface SimpleAggregateRequest {
  readonly model: string
  readonly op: SimpleAggregateOp
  readonly field?: string
  readonly where?: FilterNode
  readonly groupBy?: readonly string[]
}

export interface SimpleQueryRequest {
  readonly model: string
  readonly select?: readonly string[]
  readonly where?: FilterNode
  readonly orderBy?: readonly OrderByItem[]
  readonly limit?: number
  readonly cursor?: string
}

const FILTER_OP_SET: ReadonlySet<string> = new Set(FILTER_OPS)
const AGGREGATE_OP_SET: ReadonlySet<string> = new Set<SimpleAggregateOp>([
  'count',
  'sum',
  'avg',
  'min',
  'max',
])

function isObject(value: unknown): value is Input {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function isIdentifier(value: unknown): value is string {
  return typeof value === 'string' && IDENTIFIER_PATTERN.test(value)
}

function isScalar(value: unknown): value is Scalar {
  return (
    value === null || typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean'
  )
}

/** Only `allowed` keys (for…in, as zod's strict objects check). */
function onlyKeys(
  input: Input,
  a: string,
  b?: string,
  c?: string,
  d?: string,
  e?: string,
  f?: string,
): boolean {
  for (const key in input) {
    if (key !== a && key !== b && key !== c && key !== d && key !== e && key !== f) return false
  }
  return true
}

/** A present member that is not undefined (zod's optional members accept an explicit undefined). */
function given(input: Input, key: string): boolean {
  return key in input && input[key] !== undefined
}

/** `select`: a non-empty array of identifiers, copied and frozen; undefined when invalid. */
function simpleSelect(value: unknown): readonly string[] | undefined {
  if (!Array.isArray(value) || value.length === 0) return undefined
  const items: readonly unknown[] = value
  const out: string[] = []
  for (let i = 0; i < items.length; i++) {
    const item = items[i]
    if (!isIdentifier(item)) return undefined
    out.push(item)
  }
  return Object.freeze(out)
}

function simpleComparison(value: unknown): FilterNode | undefined {
  if (!isObject(value) || !onlyKeys(value, 'field', 'op', 'value')) return undefined
  const field = value['field']
  const op = value['op']
  if (!isIdentifier(field) || typeof op !== 'string' || !FILTER_OP_SET.has(op)) return undefined
  const v = value['value']
  let normalized: Scalar | readonly Scalar[]
  switch (op as FilterOp) {
    case 'eq':
    case 'ne':
    case 'lt':
    case 'lte':
    case 'gt':
    case 'gte':
      if (!isScalar(v)) return undefined
      normalized = v
      break
    case 'contains':
    case 'startswith':
    case 'endswith':
      if (typeof v !== 'string') return undefined
      normalized = v
      break
    case 'in':
    case 'not_in': {
      if (!Array.isArray(v)) return undefined
      const items: readonly unknown[] = v
      const out: Scalar[] = []
      for (let i = 0; i < items.length; i++) {
        const item = items[i]
        if (!isScalar(item)) return undefined
        out.push(item)
      }
      normalized = Object.freeze(out)
      break
    }
    case 'between': {
      if (!Array.isArray(v) || v.length !== 2) return undefined
      const [lo, hi] = v as readonly unknown[]
      if (!isScalar(lo) || !isScalar(hi)) return undefined
      normalized = Object.freeze([lo, hi])
      break
    }
    case 'is_null':
      if (v === undefined) normalized = true
      else if (typeof v === 'boolean') normalized = v
      else return undefined
      break
    default: {
      const never: never = op as never
      throw new Error(`unhandled filter op ${String(never)}`)
    }
  }
  return Object.freeze({ kind: 'cmp', field, op: op as FilterOp, value: normalized })
}

/** AND of comparisons, normalised like normalizeFilter's group (one item stands alone). */
function simpleAnd(items: readonly unknown[]): FilterNode | undefined {
  const nodes: FilterNode[] = []
  for (let i = 0; i < items.length; i++) {
    const node = simpleComparison(items[i])
    if (node === undefined) return undefined
    nodes.push(node)
  }
  if (nodes.length === 1) return nodes[0]
  return Object.freeze({ kind: 'and', items: Object.freeze(nodes) })
}

/** A comparison, `{ and: [comparisons] }` or `[comparisons]`. */
function simpleFilter(value: unknown): FilterNode | undefined {
  if (Array.isArray(value)) return simpleAnd(value)
  if (!isObject(value)) return undefined
  if ('op' in value) return simpleComparison(value)
  if (!onlyKeys(value, 'and')) return undefined
  const items = value['and']
  return Array.isArray(items) ? simpleAnd(items) : undefined
}

function simpleOrderBy(value: unknown): readonly OrderByItem[] | undefined {
  if (!Array.isArray(value)) return undefined
  const items: readonly unknown[] = value
  const out: OrderByItem[] = []
  for (let i = 0; i < items.length; i++) {
    const item = items[i]
    if (isIdentifier(item)) {
      out.push(Object.freeze({ field: item, direction: 'asc' }))
      continue
    }
    if (!isObject(item) || !onlyKeys(item, 'field', 'direction')) return undefined
    const field = item['field']
    const direction = item['direction']
    if (!isIdentifier(field)) return undefined
    if (direction !== undefined && direction !== 'asc' && direction !== 'desc') return undefined
    out.push(Object.freeze({ field, direction: direction ?? 'asc' }))
  }
  return Object.freeze(out)
}

/** parseGetRequest's answer for a simple get request (after the input guard), or undefined. */
export function parseSimpleGetRequest(input: unknown): SimpleGetRequest | undefined {
  if (!isObject(input) || !onlyKeys(input, 'model', 'id', 'select', 'include')) return undefined
  if (given(input, 'include')) return undefined
  const model = input['model']
  const id = input['id']
  if (!isIdentifier(model)) return undefined
  let idValue: IdValue
  if (typeof id === 'string' && id.length > 0) idValue = id
  else if (typeof id === 'number' && Number.isSafeInteger(id)) idValue = id
  else return undefined
  if (!given(input, 'select')) return Object.freeze({ model, id: idValue })
  const select = simpleSelect(input['select'])
  return select === undefined ? undefined : Object.freeze({ model, id: idValue, select })
}

/** parseQueryRequest's answer for a simple query request (after the input guard), or undefined. */
export function parseSimpleQueryRequest(input: unknown): SimpleQueryRequest | undefined {
  if (!isObject(input)) return undefined
  if (!onlyKeys(input, 'model', 'select', 'where', 'orderBy', 'limit', 'cursor')) {
    // `include` is the only other key the schema knows; it takes the schema path.
    return undefined
  }
  const model = input['model']
  if (!isIdentifier(model)) return undefined
  const out: {
    model: string
    select?: readonly string[]
    where?: FilterNode
    orderBy?: readonly OrderByItem[]
    limit?: number
    cursor?: string
  } = { model }
  if (given(input, 'select')) {
    const select = simpleSelect(input['select'])
    if (select === undefined) return undefined
    out.select = select
  }
  if (given(input, 'where')) {
    const where = simpleFilter(input['where'])
    if (where === undefined) return undefined
    out.where = where
  }
  if (given(input, 'orderBy')) {
    const orderBy = simpleOrderBy(input['orderBy'])
    if (orderBy === undefined) return undefined
    out.orderBy = orderBy
  }
  if (given(input, 'limit')) {
    const limit = input['limit']
    if (typeof limit !== 'number' || !Number.isSafeInteger(limit) || limit < 1) return undefined
    out.limit = limit
  }
  if (given(input, 'cursor')) {
    const cursor = input['cursor']
    if (typeof cursor !== 'string' || cursor.length === 0) return undefined
    out.cursor = cursor
  }
  return Object.freeze(out)
}

/** parseAggregateRequest's answer for an aggregate request with a simple filter (after the guard), or undefined. */
export function parseSimpleAggregateRequest(input: unknown): SimpleAggregateRequest | undefined {
  if (!isObject(input) || !onlyKeys(input, 'model', 'op', 'field', 'where', 'groupBy')) return undefined
  const model = input['model']
  const op = input['op']
  if (!isIdentifier(model) || typeof op !== 'string' || !AGGREGATE_OP_SET.has(op)) return undefined
  const out: {
    model: string
    op: SimpleAggregateOp
    field?: string
    where?: FilterNode
    groupBy?: readonly string[]
  } = { model, op: op as SimpleAggregateOp }
  if (given(input, 'field')) {
    const field = input['field']
    if (!isIdentifier(field)) return undefined
    out.field = field
  } else if (op !== 'count') {
    // The schema's refinement: every op but count needs a field (its error comes from the schema path).
    return undefined
  }
  if (given(input, 'where')) {
    const where = simpleFilter(input['where'])
    if (where === undefined) return undefined
    out.where = where
  }
  if (given(input, 'groupBy')) {
    const groupBy = simpleSelect(input['groupBy'])
    if (groupBy === undefined) return undefined
    out.groupBy = groupBy
  }
  return Object.freeze(out)
}
