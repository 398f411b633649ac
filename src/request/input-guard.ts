/**
 * First line of defence for every tool request (docs/threats.md: DSL injection, resource exhaustion, prototype
 * pollution). Runs on the raw input BEFORE zod, so zod never walks a 10,000-deep or 70,000-item structure and
 * never copies a `__proto__` key into a fresh object. The walk uses an explicit stack: a hostile nesting depth
 * cannot overflow the call stack, and every limit is checked before the work it would cost is done.
 */
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
 */
export function guardInput(value: unknown, limits: Partial<InputLimits> = {}): void {
  const max: InputLimits = limitsWith(limits)
  const stack: Frame[] = [{ value, depth: 0, path: null, inArray: false }]
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
      if (items.length > max.maxArrayLength) {
        reject(link, `an array has more than ${max.maxArrayLength} items`)
      }
      counted += items.length
      if (counted > max.maxNodes) reject(link, `the request holds more than ${max.maxNodes} values`)
      if (Object.getOwnPropertySymbols(items).length > 0) reject(link, 'arrays may not carry symbol keys')
      for (let i = items.length - 1; i >= 0; i--) {
        const child: PathLink = { parent: link, segment: i }
        const descriptor = Object.getOwnPropertyDescriptor(items, i)
        if (descriptor === undefined) reject(child, 'arrays may not have holes')
        if (!('value' in descriptor)) reject(child, 'accessor properties are not accepted')
        stack.push({ value: descriptor.value, depth, path: child, inArray: true })
      }
      // Every index is present (checked above), so anything beyond the indices and `length` is extra.
      if (Object.getOwnPropertyNames(items).length !== items.length + 1) {
        reject(link, 'arrays may not carry extra properties')
      }
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
    for (let i = keys.length - 1; i >= 0; i--) {
      const key = keys[i] as string
      const child: PathLink = { parent: link, segment: key }
      const descriptor = Object.getOwnPropertyDescriptor(current, key)
      if (descriptor === undefined || !('value' in descriptor)) {
        reject(child, 'accessor properties are not accepted')
      }
      stack.push({ value: descriptor.value, depth, path: child, inArray: false })
    }
  }
}
