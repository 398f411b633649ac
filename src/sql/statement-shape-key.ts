/**
 * The shape key of a probe read plan (statement-cache.ts): a compact text that identifies everything of the
 * plan the SQL builder may read, and the guard that makes the builder fail when it reads anything else.
 *
 * Both derive from one description of the plan (SELECT_SPEC and friends). The key is written for every read,
 * so it is built by walking only the described members — cheaper than JSON.stringify of the whole plan — with
 * strings length-prefixed and every value type-tagged, so two different shapes never share a key. The guard is
 * applied once per shape, when its template is compiled: every object of the probe becomes a proxy that throws
 * when the builder reads (or tests for) an own or absent member the description does not list. So the builder's
 * every decision depends only on described members, and equal keys compile to equal SQL.
 */
import { isPlanConstant, type FilterPlan } from '../planner/index.ts'

/** How one member is described (and so encoded and guarded). */
type Spec =
  | 'string'
  | 'string?'
  | 'string|null'
  | 'number'
  | 'boolean'
  /** A bound position: a slot, or a verbatim scalar or array of such (is_null's flag, between's pair). */
  | 'value'
  | 'filter|null'
  /**
   * Bound row-policy rules (plain data the planner built: names and conditions with claim slots): encoded
   * whole, every own member of every object, so the builder may read any of them; not guarded.
   */
  | 'rules'
  | { readonly array: Spec }
  | { readonly object: ObjectSpec }
  /** An object of this description, or null. */
  | { readonly objectOrNull: ObjectSpec }

type ObjectSpec = readonly (readonly [string, Spec])[]

/** Thrown inside the encoder for a plan outside the description; the plan is then built directly. */
const UNENCODABLE = Symbol('unencodable')

const RULE: ObjectSpec = [
  ['action', 'string'],
  ['pattern', 'string?'],
  ['style', 'string?'],
]
const FIELD: ObjectSpec = [
  ['name', 'string'],
  ['typeClass', 'string'],
  ['transform', 'string'],
  ['rule', { object: RULE }],
]
const SCOPE: ObjectSpec = [
  ['column', 'string'],
  ['source', 'string'],
  ['value', 'value'],
]
const VISIBILITY: ObjectSpec = [
  ['model', 'string'],
  ['scopes', { array: { object: SCOPE } }],
  ['permissive', 'rules'],
  ['restrictive', 'rules'],
  ['bypass', 'string|null'],
  ['softDeleteColumn', 'string|null'],
  ['shared', 'boolean'],
]
const TABLE: ObjectSpec = [
  ['schema', 'string'],
  ['name', 'string'],
]
const ORDER_KEY: ObjectSpec = [
  ['column', 'string'],
  ['direction', 'string'],
  ['nullable', 'boolean'],
]
const PAIR: ObjectSpec = [
  ['local', 'string'],
  ['remote', 'string'],
]
// SELECT_SPEC and INCLUDE refer to each other; the array is filled right below.
const SELECT_SPEC: [string, Spec][] = []
const INCLUDE: ObjectSpec = [
  ['relation', 'string'],
  ['cardinality', 'string'],
  ['pairs', { array: { object: PAIR } }],
  ['select', { object: SELECT_SPEC }],
]
SELECT_SPEC.push(
  ['model', 'string'],
  ['table', { object: TABLE }],
  ['fields', { array: { object: FIELD } }],
  ['visibility', { object: VISIBILITY }],
  ['filter', 'filter|null'],
  ['orderBy', { array: { object: ORDER_KEY } }],
  ['fetchLimit', 'number'],
  ['includes', { array: { object: INCLUDE } }],
)

const FILTER_GROUP: ObjectSpec = [
  ['kind', 'string'],
  ['items', { array: 'filter|null' }],
]
const FILTER_NOT: ObjectSpec = [
  ['kind', 'string'],
  ['item', 'filter|null'],
]
const FILTER_CMP: ObjectSpec = [
  ['kind', 'string'],
  ['column', 'string'],
  ['op', 'string'],
  ['value', 'value'],
]

function filterSpec(f: FilterPlan): ObjectSpec {
  switch (f.kind) {
    case 'and':
    case 'or':
      return FILTER_GROUP
    case 'not':
      return FILTER_NOT
    case 'cmp':
      return FILTER_CMP
    default: {
      const never: never = f
      throw new Error(`unhandled filter kind ${String(never)}`)
    }
  }
}

/** The described members of the three probe kinds. */
/** The one budget a read statement prints (print-result-budget.ts): a literal, so part of the shape. */
const BUDGET: ObjectSpec = [['maxResultBytes', 'number']]
const AGGREGATE_COLUMN: ObjectSpec = [
  ['name', 'string'],
  ['typeClass', 'string'],
]
const AGGREGATE_PROBE: ObjectSpec = [
  ['kind', 'string'],
  ['table', { object: TABLE }],
  ['op', 'string'],
  ['column', { objectOrNull: AGGREGATE_COLUMN }],
  ['groupBy', { array: { object: AGGREGATE_COLUMN } }],
  ['visibility', { object: VISIBILITY }],
  ['filter', 'filter|null'],
  ['maxGroups', 'number'],
  ['budget', { object: BUDGET }],
]
const GET_PROBE: ObjectSpec = [
  ['kind', 'string'],
  ['root', { object: SELECT_SPEC }],
  ['budget', { object: BUDGET }],
]
const QUERY_PROBE: ObjectSpec = [
  ['kind', 'string'],
  ['root', { object: SELECT_SPEC }],
  ['after', 'value'],
  ['budget', { object: BUDGET }],
]

function probeSpec(probe: { readonly kind: string }): ObjectSpec {
  return probe.kind === 'get' ? GET_PROBE : probe.kind === 'aggregate' ? AGGREGATE_PROBE : QUERY_PROBE
}

/** Index of a slot marker, or -1 for anything else. */
export type SlotIndexOf = (value: unknown) => number

function text(value: unknown): string {
  if (typeof value !== 'string') throw UNENCODABLE
  return `${value.length}:${value}`
}

function encodeValue(value: unknown, slotIndex: SlotIndexOf): string {
  switch (typeof value) {
    case 'string':
      return `s${value.length}:${value}`
    case 'number':
      // -0 apart from 0: a verbatim value is a fixed parameter of the template (statement-cache.ts).
      return `n${Object.is(value, -0) ? '-0' : String(value)};`
    case 'boolean':
      return value ? 'T' : 'F'
    case 'object': {
      if (value === null) return 'Z'
      const slot = slotIndex(value)
      if (slot >= 0) return `$${slot};`
      if (!Array.isArray(value)) throw UNENCODABLE
      const items: readonly unknown[] = value
      let out = `[${items.length};`
      for (let i = 0; i < items.length; i++) out += encodeValue(items[i], slotIndex)
      return out
    }
    default:
      throw UNENCODABLE
  }
}

/** Any plain data, whole: type-tagged values, arrays with their length, objects with their sorted own keys. */
function encodeData(value: unknown, slotIndex: SlotIndexOf): string {
  if (typeof value !== 'object' || value === null) return encodeValue(value, slotIndex)
  if (slotIndex(value) >= 0) return encodeValue(value, slotIndex)
  if (Array.isArray(value)) {
    const items: readonly unknown[] = value
    let out = `[${items.length};`
    for (let i = 0; i < items.length; i++) out += encodeData(items[i], slotIndex)
    return out
  }
  const proto: unknown = Object.getPrototypeOf(value)
  if (proto !== Object.prototype && proto !== null) throw UNENCODABLE
  const record = value as Record<string, unknown>
  const keys = Object.keys(record).sort()
  let out = `{${keys.length};`
  for (const key of keys)
    out += `${text(key)}${record[key] === undefined ? 'u' : encodeData(record[key], slotIndex)}`
  return `${out}}`
}

function encode(value: unknown, spec: Spec, slotIndex: SlotIndexOf): string {
  switch (spec) {
    case 'string':
      return text(value)
    case 'string?':
      return value === undefined ? 'u' : text(value)
    case 'string|null':
      return value === null ? 'Z' : text(value)
    case 'number':
      if (typeof value !== 'number') throw UNENCODABLE
      return `${String(value)};`
    case 'boolean':
      if (typeof value !== 'boolean') throw UNENCODABLE
      return value ? 'T' : 'F'
    case 'value':
      return encodeValue(value, slotIndex)
    case 'filter|null':
      if (value === null) return 'Z'
      if (typeof value !== 'object') throw UNENCODABLE
      return encodeObject(value, filterSpec(value as FilterPlan), slotIndex)
    case 'rules':
      if (!Array.isArray(value)) throw UNENCODABLE
      return encodeData(value, slotIndex)
    default:
      break
  }
  if (typeof value === 'object' && value !== null && isPlanConstant(value)) {
    return encodeConstant(value, spec, slotIndex)
  }
  return encodeComposite(value, spec, slotIndex)
}

/**
 * A shared plan part (src/planner plan-constants.ts: deep-frozen, so its encoding never changes) is encoded once;
 * afterwards a token unique to that object (and description) stands for its text. Equal keys still mean equal
 * encodings: a token is never given to two objects, and `#` starts no other encoded value.
 */
function encodeConstant(value: object, spec: Exclude<Spec, string>, slotIndex: SlotIndexOf): string {
  const known = constantTokens.get(value)
  // Only the first description a part is met under gets a token (every part has one in practice).
  if (known !== undefined) return known.spec === spec ? known.token : encodeComposite(value, spec, slotIndex)
  // Encoded whole once, so a part outside the description still makes the plan unencodable.
  encodeComposite(value, spec, slotIndex)
  const token = `#${nextConstantToken++};`
  constantTokens.set(value, { spec, token })
  return token
}

const constantTokens = new WeakMap<object, { readonly spec: Spec; readonly token: string }>()
let nextConstantToken = 0

function encodeComposite(value: unknown, spec: Exclude<Spec, string>, slotIndex: SlotIndexOf): string {
  if ('array' in spec) {
    if (!Array.isArray(value)) throw UNENCODABLE
    const items: readonly unknown[] = value
    let out = `[${items.length};`
    for (let i = 0; i < items.length; i++) out += encode(items[i], spec.array, slotIndex)
    return out
  }
  if ('objectOrNull' in spec) {
    if (value === null) return 'Z'
    if (typeof value !== 'object') throw UNENCODABLE
    return encodeObject(value, spec.objectOrNull, slotIndex)
  }
  if (typeof value !== 'object' || value === null) throw UNENCODABLE
  return encodeObject(value, spec.object, slotIndex)
}

function encodeObject(value: object, spec: ObjectSpec, slotIndex: SlotIndexOf): string {
  const record = value as Record<string, unknown>
  let out = '{'
  for (let i = 0; i < spec.length; i++) {
    const entry = spec[i] as readonly [string, Spec]
    out += encode(record[entry[0]], entry[1], slotIndex)
  }
  return `${out}}`
}

/** The shape key of a probe plan, or undefined when the plan is outside the description. */
export function shapeKeyOf(probe: { readonly kind: string }, slotIndex: SlotIndexOf): string | undefined {
  try {
    return encodeObject(probe, probeSpec(probe), slotIndex)
  } catch (error) {
    if (error === UNENCODABLE) return undefined
    throw error
  }
}

function described(spec: ObjectSpec): ReadonlySet<PropertyKey> {
  return new Set(spec.map(([member]) => member))
}

/** Reading a member the description does not list (an own one, or one that is absent altogether). */
function undescribed(prop: PropertyKey): Error {
  return new Error(
    `statement-shape-key: the builder read '${String(prop)}', which the shape key does not cover`,
  )
}

function guardValue(value: unknown, spec: Spec, slotIndex: SlotIndexOf): unknown {
  if (spec === 'rules' || typeof value !== 'object' || value === null || slotIndex(value) >= 0) return value
  if (typeof spec === 'string') {
    if (spec === 'filter|null') return guardObject(value, filterSpec(value as FilterPlan), slotIndex)
    // A verbatim value array (between's pair, cursor keys): fully encoded, items guarded as values.
    return Array.isArray(value) ? guardArray(value, 'value', slotIndex) : value
  }
  if ('array' in spec) return Array.isArray(value) ? guardArray(value, spec.array, slotIndex) : value
  return guardObject(value, 'objectOrNull' in spec ? spec.objectOrNull : spec.object, slotIndex)
}

function guardArray(items: readonly unknown[], spec: Spec, slotIndex: SlotIndexOf): readonly unknown[] {
  // Items are guarded up front; an array's own length, indices and methods are all covered by the key.
  return Object.freeze(items.map((item) => guardValue(item, spec, slotIndex)))
}

function guardObject(value: object, spec: ObjectSpec, slotIndex: SlotIndexOf): object {
  const allowed = described(spec)
  const copy: Record<string, unknown> = {}
  for (const [member, memberSpec] of spec) {
    const v = (value as Record<string, unknown>)[member]
    if (v !== undefined || Object.hasOwn(value, member)) copy[member] = guardValue(v, memberSpec, slotIndex)
  }
  return new Proxy(copy, {
    // Only described members may be looked at, not even inherited ones or the list of keys: a plan could
    // carry an own member of any name, which the key would not cover.
    get(target, prop, receiver) {
      if (allowed.has(prop)) return Reflect.get(target, prop, receiver) as unknown
      throw undescribed(prop)
    },
    has(target, prop) {
      if (allowed.has(prop)) return Reflect.has(target, prop)
      throw undescribed(prop)
    },
    ownKeys() {
      throw undescribed('(its keys)')
    },
    getOwnPropertyDescriptor(target, prop) {
      if (allowed.has(prop)) return Reflect.getOwnPropertyDescriptor(target, prop)
      throw undescribed(prop)
    },
  })
}

/**
 * A copy of the probe for compiling its template: every described object becomes a proxy that throws when the
 * builder reads a member the shape key does not cover.
 */
export function guardedProbe<T extends { readonly kind: string }>(probe: T, slotIndex: SlotIndexOf): T {
  return guardObject(probe, probeSpec(probe), slotIndex) as T
}
