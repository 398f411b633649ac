/**
 * First line of defence for every tool request (docs/threats.md: DSL injection, resource exhaustion, prototype
 * pollution). Runs on the raw input BEFORE zod, so zod never walks a 10,000-deep or 70,000-item structure and
 * never copies a `__proto__` key into a fresh object. The walk uses an explicit stack: a hostile nesting depth
 * cannot overflow the call stack, and every limit is checked before the work it would cost is done.
 */
import { types } from 'node:util'
import { validationError } from '../errors/index.ts'
import { describePath, formatPath, type PathSegment } from './request-path.ts'

export interface InputLimits {
  /** Deepest allowed nesting of objects and arrays (`{}` is depth 1). */
  readonly maxDepth: number
  /** Most values (objects, arrays, scalars) in one request. */
  readonly maxNodes: number
  readonly maxArrayLength: number
  /** Longest string value or object key, in UTF-16 code units. */
  readonly maxStringLength: number
  /**
   * The whole request, measured as its JSON text would be: UTF-8 bytes of every string and key plus a few
   * bytes per value. Each other limit alone still let ~50 MB through (5,000 strings of 10,000 characters).
   */
  readonly maxRequestBytes: number
}

export const DEFAULT_INPUT_LIMITS: InputLimits = Object.freeze({
  maxDepth: 32,
  maxNodes: 5_000,
  maxArrayLength: 10_000,
  maxStringLength: 10_000,
  maxRequestBytes: 1_048_576,
})

/** JSON punctuation a value costs beyond its text (quotes, separators, a short scalar). */
const VALUE_OVERHEAD_BYTES = 4

/** Keys that reach or replace prototypes when copied with `Object.assign` or `obj[key] = …` (docs/threats.md fact 11). */
const FORBIDDEN_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype'])

/** A path is built only when an error is reported: each frame links to its parent. */
interface PathLink {
  readonly parent: PathLink | null
  readonly segment: PathSegment
}

interface Frame {
  readonly value: unknown
  /** Containers enclosing this value; the root has 0. */
  readonly depth: number
  readonly path: PathLink | null
  readonly inArray: boolean
  /** The snapshot's container this value's own snapshot goes into (at `path.segment`); null for the root. */
  readonly into: Record<string, unknown> | unknown[] | null
}

function pathOf(link: PathLink | null): string {
  const segments: PathSegment[] = []
  for (let at = link; at !== null; at = at.parent) segments.push(at.segment)
  return formatPath(segments.reverse())
}

function reject(link: PathLink | null, problem: string): never {
  const path = pathOf(link)
  throw validationError(`Request rejected at ${describePath(path)}: ${problem}`, [{ path, message: problem }])
}

function checkString(text: string, link: PathLink | null, what: string, limits: InputLimits): void {
  if (text.length > limits.maxStringLength) {
    reject(link, `${what} is longer than ${limits.maxStringLength} characters`)
  }
  if (text.includes('\u0000')) reject(link, `${what} contains a NUL character`)
  // A lone surrogate is valid JSON but not UTF-8: PostgreSQL would get U+FFFD (a text column stores, and a
  // filter compares, another value than the one sent) or refuse it (jsonb), so it is refused here, like NUL.
  if (LONE_SURROGATE.test(text)) reject(link, `${what} is not well-formed Unicode (a lone surrogate)`)
}

const LONE_SURROGATE = /\p{Cs}/u

const isProxy = types.isProxy

/** The defaults overridden by `limits` (the defaults themselves, unchanged, when it overrides nothing). */
function limitsWith(limits: Partial<InputLimits>): InputLimits {
  for (const key in limits) {
    if (Object.hasOwn(limits, key)) return { ...DEFAULT_INPUT_LIMITS, ...limits }
  }
  return DEFAULT_INPUT_LIMITS
}

/**
 * Throws VALIDATION_ERROR (with the path in `details.issues`) unless `value` is plain JSON-like data within
 * the limits: null, booleans, finite numbers, strings without NUL or lone surrogates, arrays without holes, and objects whose
 * prototype is Object.prototype or null, with no accessor properties, no symbol keys and none of the keys
 * `__proto__`, `constructor`, `prototype`. `undefined` is tolerated only as an object property value (an
 * omitted optional field in a programmatic call).
 *
 * Returns what the caller must parse in place of `value`: `value` itself when the quick check accepts it (plain
 * objects and arrays of data properties, no proxy anywhere: reading them again gives what was checked), else
 * the walk's snapshot — a copy built from the very members the walk read and checked, once each. A Proxy
 * answers each read as it likes (a `model` that reads 'Order' for the guard and something else for the
 * parser), so what is parsed must not be read from it again (check-then-use).
 */
export function guardInput(value: unknown, limits: Partial<InputLimits> = {}): unknown {
  const max: InputLimits = limitsWith(limits)
  if (acceptsQuickly(value, max)) return value
  return guardInputByWalk(value, max)
}

/**
 * guardInput's walk, which decides every request the quick check does not accept (and is its reference).
 * Returns its snapshot of `value`: plain objects (null-prototype ones stay so) and arrays holding the values
 * each member's one descriptor read gave, with each key's enumerability; an array's length is read once.
 */
export function guardInputByWalk(value: unknown, max: InputLimits): unknown {
  let snapshot: unknown = value
  const stack: Frame[] = [{ value, depth: 0, path: null, inArray: false, into: null }]
  let counted = 1
  let bytes = 0
  const addBytes = (text: string, link: PathLink | null): void => {
    bytes += VALUE_OVERHEAD_BYTES + Buffer.byteLength(text, 'utf8')
    if (bytes > max.maxRequestBytes) reject(link, `the request is larger than ${max.maxRequestBytes} bytes`)
  }

  for (let frame = stack.pop(); frame !== undefined; frame = stack.pop()) {
    const { value: current, path: link } = frame
    switch (typeof current) {
      case 'string':
        checkString(current, link, 'string', max)
        addBytes(current, link)
        continue
      case 'number':
        if (!Number.isFinite(current)) reject(link, 'numbers must be finite (no NaN or Infinity)')
        bytes += VALUE_OVERHEAD_BYTES + 20
        continue
      case 'boolean':
        bytes += VALUE_OVERHEAD_BYTES
        continue
      case 'undefined':
        if (frame.inArray || link === null) reject(link, 'undefined is not a JSON value')
        continue
      case 'bigint':
      case 'function':
      case 'symbol':
        return reject(link, `a ${typeof current} is not a JSON value`)
      case 'object':
        if (current === null) continue
        break
      default:
        return reject(link, 'unsupported value')
    }

    const depth = frame.depth + 1
    if (depth > max.maxDepth) reject(link, `nesting is deeper than ${max.maxDepth} levels (or circular)`)

    if (Array.isArray(current)) {
      if (Object.getPrototypeOf(current) !== Array.prototype) reject(link, 'only plain arrays are accepted')
      const items: readonly unknown[] = current
      // Read once: a Proxy's `length` may answer differently at each read.
      const length = items.length
      if (length > max.maxArrayLength) {
        reject(link, `an array has more than ${max.maxArrayLength} items`)
      }
      counted += length
      if (counted > max.maxNodes) reject(link, `the request holds more than ${max.maxNodes} values`)
      if (Object.getOwnPropertySymbols(items).length > 0) reject(link, 'arrays may not carry symbol keys')
      const copy: unknown[] = new Array<unknown>(length)
      for (let i = length - 1; i >= 0; i--) {
        const child: PathLink = { parent: link, segment: i }
        const descriptor = Object.getOwnPropertyDescriptor(items, i)
        if (descriptor === undefined) reject(child, 'arrays may not have holes')
        if (!('value' in descriptor)) reject(child, 'accessor properties are not accepted')
        copy[i] = descriptor.value
        stack.push({ value: descriptor.value, depth, path: child, inArray: true, into: copy })
      }
      // Every index is present (checked above), so anything beyond the indices and `length` is extra.
      if (Object.getOwnPropertyNames(items).length !== length + 1) {
        reject(link, 'arrays may not carry extra properties')
      }
      snapshot = place(frame, copy, snapshot)
      continue
    }

    const proto: unknown = Object.getPrototypeOf(current)
    if (proto !== Object.prototype && proto !== null) {
      reject(link, 'only plain objects are accepted (no class instances, dates, maps or buffers)')
    }
    if (Object.getOwnPropertySymbols(current).length > 0) reject(link, 'objects may not carry symbol keys')
    // getOwnPropertyNames is a superset of Object.keys (it also lists non-enumerable keys) and reports the
    // own `__proto__` key JSON.parse creates; `'__proto__' in obj` would be true for every object instead.
    const keys = Object.getOwnPropertyNames(current)
    if (keys.length > max.maxNodes) reject(link, `the request holds more than ${max.maxNodes} values`)
    for (const key of keys) {
      const child: PathLink = { parent: link, segment: key }
      if (FORBIDDEN_KEYS.has(key)) reject(child, `the key '${key}' is not allowed`)
      checkString(key, child, 'key', max)
      addBytes(key, child)
    }
    counted += keys.length
    if (counted > max.maxNodes) reject(link, `the request holds more than ${max.maxNodes} values`)
    // The copy's keys in the original's order (the descriptors are read last to first, as frames are pushed).
    const copy: Record<string, unknown> = proto === null ? Object.create(null) : {}
    for (const key of keys) copy[key] = undefined
    for (let i = keys.length - 1; i >= 0; i--) {
      const key = keys[i] as string
      const child: PathLink = { parent: link, segment: key }
      const descriptor = Object.getOwnPropertyDescriptor(current, key)
      if (descriptor === undefined || !('value' in descriptor)) {
        reject(child, 'accessor properties are not accepted')
      }
      // A non-enumerable key stays one: the parsers treat unknown keys by enumerating them.
      Object.defineProperty(copy, key, {
        value: descriptor.value,
        enumerable: descriptor.enumerable === true,
        writable: true,
        configurable: true,
      })
      stack.push({ value: descriptor.value, depth, path: child, inArray: false, into: copy })
    }
    snapshot = place(frame, copy, snapshot)
  }
  return snapshot
}

/**
 * Puts a container's snapshot where its frame's value sits in the parent's snapshot (which holds the original
 * until then), or returns it as the new root; returns the root either way.
 */
function place(frame: Frame, copy: unknown, root: unknown): unknown {
  const into = frame.into
  const segment = frame.path?.segment
  if (into === null || segment === undefined) return copy
  if (Array.isArray(into)) into[segment as number] = copy
  else Object.defineProperty(into, segment, { value: copy })
  return root
}

/** Values (as the guard counts them) a request may hold for the quick check; larger ones take the walk. */
const QUICK_MAX_NODES = 256

/** The quick check's running totals. */
interface QuickTally {
  nodes: number
  /** An upper bound of the guard's byte count: 3 UTF-8 bytes per UTF-16 code unit (surrogates excluded). */
  bytes: number
}

/**
 * True only when guardInput's walk would accept `value` (a request of the common small kind): a recursion
 * without frames, paths or UTF-8 encoding, for the calls every tool makes. It answers false — never an error —
 * for anything it is not sure of: proxies, surrogate code units (well-formed pairs included), a request
 * beyond QUICK_MAX_NODES values, or any value the walk refuses; the walk then decides, with its own error.
 * Each condition is the walk's (depth, values, array length, string length, NUL, bytes, prototypes, accessors,
 * symbol keys, forbidden keys, holes, extra array properties); held to it by test/unit/input-guard-quick.test.ts.
 */
export function acceptsQuickly(value: unknown, max: InputLimits): boolean {
  const tally: QuickTally = { nodes: 1, bytes: 0 }
  return (
    quickValue(value, 0, false, true, max, tally) &&
    tally.nodes <= max.maxNodes &&
    tally.bytes <= max.maxRequestBytes
  )
}

function quickText(text: string, max: InputLimits, tally: QuickTally): boolean {
  if (text.length > max.maxStringLength) return false
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    // NUL is refused by the walk; a surrogate may be lone (refused) or paired (accepted): let the walk judge.
    if (c === 0 || (c >= 0xd800 && c <= 0xdfff)) return false
  }
  tally.bytes += VALUE_OVERHEAD_BYTES + 3 * text.length
  return true
}

function quickValue(
  value: unknown,
  depth: number,
  inArray: boolean,
  root: boolean,
  max: InputLimits,
  tally: QuickTally,
): boolean {
  switch (typeof value) {
    case 'string':
      return quickText(value, max, tally)
    case 'number':
      tally.bytes += VALUE_OVERHEAD_BYTES + 20
      return Number.isFinite(value)
    case 'boolean':
      tally.bytes += VALUE_OVERHEAD_BYTES
      return true
    case 'undefined':
      return !inArray && !root
    case 'object':
      if (value === null) return true
      break
    default:
      return false
  }
  const inner = depth + 1
  if (inner > max.maxDepth || isProxy(value)) return false
  if (Array.isArray(value)) {
    if (Object.getPrototypeOf(value) !== Array.prototype) return false
    const items: readonly unknown[] = value
    if (items.length > max.maxArrayLength) return false
    tally.nodes += items.length
    if (tally.nodes > QUICK_MAX_NODES) return false
    if (Object.getOwnPropertySymbols(items).length > 0) return false
    if (Object.getOwnPropertyNames(items).length !== items.length + 1) return false
    for (let i = 0; i < items.length; i++) {
      const descriptor = Object.getOwnPropertyDescriptor(items, i)
      if (descriptor === undefined || !('value' in descriptor)) return false
      if (!quickValue(descriptor.value, inner, true, false, max, tally)) return false
    }
    return true
  }
  const proto: unknown = Object.getPrototypeOf(value)
  if (proto !== Object.prototype && proto !== null) return false
  if (Object.getOwnPropertySymbols(value).length > 0) return false
  const keys = Object.getOwnPropertyNames(value)
  tally.nodes += keys.length
  if (tally.nodes > QUICK_MAX_NODES) return false
  for (const key of keys) {
    if (FORBIDDEN_KEYS.has(key) || !quickText(key, max, tally)) return false
    const descriptor = Object.getOwnPropertyDescriptor(value, key)
    if (descriptor === undefined || !('value' in descriptor)) return false
    if (!quickValue(descriptor.value, inner, false, false, max, tally)) return false
  }
  return true
}
