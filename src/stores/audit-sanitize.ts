/**
 * What of a tool call's arguments reaches the audit record (docs/contract.md §6 "sanitised inputs"): long strings cut,
 * depth and size bounded, and secrets replaced by `[REDACTED]` before anything is stored or logged:
 * - the value under any key that looks like a secret (password, token, api key, pin, iban, cvv, … — one test for
 *   inputs, images and logs: secret-key.ts);
 * - the value under a key naming a sensitive field (one the policy denies, masks or hashes), as in write data
 *   `{ password_hash: '…' }` or a shorthand filter;
 * - the operand of a filter condition `{ field, op, value }` whose field is sensitive, e.g.
 *   `{ field: 'password_hash', op: 'eq', value: 'hunter2' }` — refused by the planner, and still never stored.
 * Untrusted input: a Proxy or a getter never runs (or throws) here, and a `__proto__` key stays data.
 */
import { createHmac, hash as oneShotHash } from 'node:crypto'
import { type HmacStates, hmacStates, SHORT_HMAC_MAX, shortHmacHex } from './short-hmac.ts'
import { canonicalJson, jsonString, sortedKeys } from '../json/index.ts'
import type { BoundPolicy } from '../policy/index.ts'
import { dataKind } from './data-kind.ts'
import { isSecretKey } from './secret-key.ts'

export const REDACTED = '[REDACTED]'

export interface AuditSanitizeOptions {
  /** Field names (lower case) whose values must not be stored (denied, masked or hashed in the policy). */
  readonly sensitiveFields?: ReadonlySet<string>
  /**
   * Keep everything but secrets: no string cut, no depth or length bound. Only for a request the input guard
   * already bounded (the normalised request after parsing): cutting it let a filter three `and`s deep or a long
   * list hide what was asked (issue 9, item 9).
   */
  readonly full?: boolean
}

const NO_FIELDS: ReadonlySet<string> = new Set()

/**
 * Every field some model denies, masks or hashes: values under these names (write data, filter operands) are
 * redacted from audit inputs and from call recordings. One set for the whole policy — a name sensitive on one
 * model is redacted on all, which can hide a harmless value but never shows a secret.
 */
export function auditSensitiveFields(bound: BoundPolicy): ReadonlySet<string> {
  const names = new Set<string>()
  for (const model of Object.values(bound.models)) {
    for (const field of Object.values(model.fields))
      if (field.rule.action !== 'allow') names.add(field.name.toLowerCase())
  }
  return names
}

/** Cuts long strings and deep structures and redacts secrets, so a record never stores a payload verbatim. */
export function sanitizeAuditInput(value: unknown, options: AuditSanitizeOptions = {}): unknown {
  const sensitive = options.sensitiveFields ?? NO_FIELDS
  try {
    // A frozen request with nothing to redact is what the copy would be, and can never change: keep it as it
    // is. That is the common case (parsed requests are frozen), and copying it was most of what auditing a
    // read cost on the call path.
    if (options.full === true && storedAsIs(value, 0, sensitive)) return value
    return sanitizeValue(value, 0, { sensitive, limits: options.full === true ? FULL : BOUNDED })
  } catch {
    return '[unreadable]'
  }
}

interface Limits {
  readonly string: number
  readonly depth: number
  readonly items: number
  readonly keys: number
}

const BOUNDED: Limits = { string: 256, depth: 6, items: 50, keys: 100 }
/** A backstop only: the input guard bounds a parsed request far below these. */
const FULL: Limits = { string: Number.POSITIVE_INFINITY, depth: 256, items: 1_000_000, keys: 1_000_000 }

interface Walk {
  readonly sensitive: ReadonlySet<string>
  readonly limits: Limits
}

/**
 * A digest of the raw arguments as the caller sent them (before parsing, sanitising or redacting), so a record
 * whose `inputs` were cut or redacted still pins exactly what was submitted: HMAC-SHA256 under a key derived
 * from the toolset's secret over their canonical JSON (src/json). Keyed, because the raw arguments can hold a
 * redacted low-entropy value (a password typed into a filter) that a plain hash would let anyone reading the
 * audit guess offline. Accessors never run (an accessor is hashed as `[accessor]`); a cycle, a Proxy that
 * throws or a value that is not data gives null.
 */
export function digestAuditArgs(args: unknown, key: Uint8Array): string | null {
  return digestOfArgsText(auditArgsText(args), key)
}

/**
 * The text digestAuditArgs hashes: the raw arguments' canonical JSON, read now (so later changes to them do not
 * count), or null when they cannot be read as data (a cycle, a Proxy that throws).
 */
export function auditArgsText(args: unknown): string | null {
  try {
    return canonicalArgs(args, 0) ?? 'null'
  } catch {
    return null
  }
}

/** HMAC-SHA256 hex of an auditArgsText under the digest key; null for null. */
export function digestOfArgsText(text: string | null, key: Uint8Array): string | null {
  if (text === null) return null
  try {
    const pads = padsOf(key)
    if (pads === undefined) return createHmac('sha256', key).update(text, 'utf8').digest('hex')
    // A short text (most arguments) from the key's SHA-256 states, in JavaScript (short-hmac.ts).
    if (text.length <= SHORT_HMAC_MAX) {
      const length = shortMessage.write(text, 0, 'utf8')
      if (length <= SHORT_HMAC_MAX) return shortHmacHex(pads.states, shortMessage, length)
    }
    // HMAC-SHA256 from its definition (RFC 2104) over the key's remembered pads: two one-shot hash calls instead
    // of an Hmac object per record. test/unit/audit-sanitize.test.ts holds it to createHmac.
    // The text is written after the pad already in place (room for its longest UTF-8 form: 3 bytes per code
    // unit), so a call copies no pad and allocates no buffer; calls are synchronous and never interleave.
    const room = SHA256_BLOCK + 3 * text.length
    // An unusually long text gets a buffer of its own, so no key keeps megabytes of room for ever.
    let message: Buffer
    if (room > MAX_KEPT_ROOM) {
      message = Buffer.allocUnsafe(room)
      pads.inner.copy(message, 0, 0, SHA256_BLOCK)
    } else {
      if (pads.inner.length < room) pads.inner = grownPad(pads.inner, room)
      message = pads.inner
    }
    const end = SHA256_BLOCK + message.write(text, SHA256_BLOCK, 'utf8')
    oneShotHash('sha256', message.subarray(0, end), 'buffer').copy(pads.outer, SHA256_BLOCK)
    return oneShotHash('sha256', pads.outer, 'hex')
  } catch {
    // Not a usable key (a runtime assembled without one): no digest, as for arguments that cannot be read.
    return null
  }
}

const SHA256_BLOCK = 64

interface HmacPads {
  /** The key's bytes when the pads were made: a Uint8Array can change in place, so pads are used only while equal. */
  readonly key: Buffer
  /** K ⊕ ipad (one block), then room for the message (written by each call, synchronously). */
  inner: Buffer
  /** K ⊕ opad, then room for the inner digest (written by each call, synchronously). */
  readonly outer: Buffer
  /** SHA-256's states after K ⊕ ipad and K ⊕ opad, for short texts. */
  readonly states: HmacStates
}

/** A short text's UTF-8 (3 bytes per code unit at most), then its padding (shortHmacHex). */
const shortMessage = Buffer.alloc(3 * SHORT_HMAC_MAX + 8)

const padsByKey = new WeakMap<Uint8Array, HmacPads>()

/** Message bytes the inner pad has room for at first (most arguments' text is shorter). */
const INITIAL_MESSAGE_ROOM = 1_024
/** Most bytes of room an inner pad buffer grows to (longer texts are hashed from a buffer of their own). */
const MAX_KEPT_ROOM = 65_536

/** A larger copy of an inner pad buffer: its first block (K ⊕ ipad) kept, at least `bytes` long. */
function grownPad(inner: Buffer, bytes: number): Buffer {
  const grown = Buffer.allocUnsafe(Math.max(bytes, 2 * inner.length))
  inner.copy(grown, 0, 0, SHA256_BLOCK)
  return grown
}

/** The HMAC-SHA256 pads of `key`, remembered by identity; undefined for a key longer than a block (hashed first). */
function padsOf(key: Uint8Array): HmacPads | undefined {
  const known = padsByKey.get(key)
  if (known !== undefined && known.key.equals(key)) return known
  if (!(key instanceof Uint8Array) || key.length > SHA256_BLOCK) return undefined
  const inner = Buffer.alloc(SHA256_BLOCK + INITIAL_MESSAGE_ROOM, 0x36)
  const outer = Buffer.alloc(SHA256_BLOCK + 32, 0x5c)
  for (let i = 0; i < key.length; i++) {
    inner[i] = (inner[i] as number) ^ (key[i] as number)
    outer[i] = (outer[i] as number) ^ (key[i] as number)
  }
  const pads = { key: Buffer.from(key), inner, outer, states: hmacStates(key) }
  padsByKey.set(key, pads)
  return pads
}

/**
 * canonicalJson (src/json) of the arguments' data, written in one pass: own enumerable data properties only (an
 * accessor is the string `[accessor]` and never runs), bigints as their decimal text, a missing array item as
 * null; depth bounded (a cycle ends in the bound and throws). `undefined` for an absent value, so an object
 * member holding it is dropped as canonicalJson drops it. The same text as canonicalJson over a plain copy of
 * the data, the definition the digest was introduced with (test/unit/audit-sanitize.test.ts holds the two
 * together).
 */
function canonicalArgs(value: unknown, depth: number): string | undefined {
  switch (typeof value) {
    case 'string':
    case 'boolean':
    case 'number':
      return canonicalJson(value)
    case 'bigint':
      return jsonString(value.toString())
    case 'undefined':
      return undefined
    case 'object':
      break
    default:
      return 'null'
  }
  if (value === null) return 'null'
  if (depth > 512) throw new RangeError('too deep')
  if (Array.isArray(value)) {
    let out = '['
    const length: number = value.length
    for (let i = 0; i < length; i++) {
      if (i > 0) out += ','
      out += canonicalMember(value, String(i), depth) ?? 'null'
    }
    return `${out}]`
  }
  const keys = sortedKeys(value)
  let out = '{'
  let first = true
  for (let i = 0; i < keys.length; i++) {
    const name = keys[i] as string
    const text = canonicalMember(value, name, depth)
    if (text === undefined) continue
    out += `${first ? '' : ','}${jsonString(name)}:${text}`
    first = false
  }
  return `${out}}`
}

function canonicalMember(target: object, key: string, depth: number): string | undefined {
  const descriptor = Object.getOwnPropertyDescriptor(target, key)
  if (descriptor === undefined) return 'null'
  return 'value' in descriptor ? canonicalArgs(descriptor.value, depth + 1) : '"[accessor]"'
}

/**
 * Whether the full-mode copy of `value` would equal it: frozen all the way down (so it cannot change after the
 * call), plain JSON-like data in data properties, no hole, no `undefined`, nothing to redact.
 */
function storedAsIs(value: unknown, depth: number, sensitive: ReadonlySet<string>): boolean {
  const kind = dataKind(value)
  if (kind !== 'object') return kind === 'scalar'
  if (depth >= FULL.depth || !Object.isFrozen(value)) return false
  if (Array.isArray(value)) {
    if (Object.getPrototypeOf(value) !== Array.prototype) return false
    const length: number = value.length
    for (let i = 0; i < length; i++) {
      const descriptor = Object.getOwnPropertyDescriptor(value, i)
      if (descriptor === undefined || !('value' in descriptor)) return false
      if (!storedAsIs(descriptor.value, depth + 1, sensitive)) return false
    }
    return true
  }
  if (Object.getPrototypeOf(value) !== Object.prototype) return false
  const keys = Object.keys(value as object) // dataKind said object
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i] as string
    if (isSensitiveKey(key, sensitive)) return false
    const descriptor = Object.getOwnPropertyDescriptor(value, key)
    if (descriptor === undefined || !('value' in descriptor)) return false
    const v: unknown = descriptor.value
    // A condition on a sensitive field keeps its field but not its operand: that is a copy, not this value.
    if (key === 'field' && typeof v === 'string' && isSensitiveKey(v, sensitive)) return false
    if (!storedAsIs(v, depth + 1, sensitive)) return false
  }
  return true
}

/** Whether `key` names a secret or a sensitive field (a dotted path counts by its last segment). */
export function isSensitiveKey(key: string, sensitive: ReadonlySet<string>): boolean {
  const facts = keyFacts(key)
  // Case-insensitive: `PASSWORD_HASH` names no field, but what a caller put beside it is just as secret.
  return facts.secret || sensitive.has(facts.name) || (facts.last !== null && sensitive.has(facts.last))
}

/** What of a key does not depend on the policy: the secret-name test and the lower-case names looked up. */
interface KeyFacts {
  readonly secret: boolean
  readonly name: string
  /** The last segment of a dotted path, else null. */
  readonly last: string | null
}

/** The same few keys recur on every call (`model`, `where`, `field`…), so their facts are remembered. */
const knownKeys = new Map<string, KeyFacts>()
/** Keys come from callers: what is remembered is bounded. */
const MAX_REMEMBERED_KEYS = 1_024

function keyFacts(key: string): KeyFacts {
  let facts = knownKeys.get(key)
  if (facts === undefined) {
    const name = key.toLowerCase()
    const dot = name.lastIndexOf('.')
    facts = { secret: isSecretKey(key), name, last: dot >= 0 ? name.slice(dot + 1) : null }
    if (knownKeys.size >= MAX_REMEMBERED_KEYS) knownKeys.clear()
    knownKeys.set(key, facts)
  }
  return facts
}

function sanitizeValue(value: unknown, depth: number, walk: Walk): unknown {
  const { limits } = walk
  if (typeof value === 'string')
    return value.length > limits.string ? `${value.slice(0, limits.string)}…[${value.length} chars]` : value
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) return value
  if (typeof value === 'bigint') return value.toString()
  if (depth >= limits.depth) return '[…]'
  if (typeof value !== 'object' || value === undefined) return null
  if (Array.isArray(value)) {
    const out: unknown[] = []
    for (let i = 0; i < Math.min(value.length, limits.items); i++)
      out.push(readOwn(value, String(i), depth, walk))
    if (value.length > limits.items) out.push(`…[${value.length - limits.items} more]`)
    return out
  }
  // A condition on a sensitive field: keep which field and operator (and the parsed form's `kind: 'cmp'`),
  // never the operand.
  const field = dataOf(value, 'field')
  const conditionOnSensitive = typeof field === 'string' && isSensitiveKey(field, walk.sensitive)
  const keep = (key: string): boolean =>
    key === 'field' || key === 'op' || (key === 'kind' && dataOf(value, 'kind') === 'cmp')
  const out: Record<string, unknown> = {}
  for (const key of Object.keys(value).slice(0, limits.keys)) {
    const operand = conditionOnSensitive && !keep(key)
    const redact = isSensitiveKey(key, walk.sensitive) || operand
    Object.defineProperty(out, key, {
      value: redact
        ? operand
          ? redactedOperand(dataOf(value, key), walk.limits)
          : REDACTED
        : readOwn(value, key, depth, walk),
      enumerable: true,
      writable: true,
      configurable: true,
    })
  }
  return out
}

/**
 * A list operand (`in`, `between`) becomes a list of `[REDACTED]` of the same length: a recorded call replays
 * with the operand's shape, so a refused call is refused for the same reason (call-recording.ts).
 */
function redactedOperand(operand: unknown, limits: Limits): unknown {
  return Array.isArray(operand)
    ? Array.from({ length: Math.min(operand.length, limits.items) }, () => REDACTED)
    : REDACTED
}

function dataOf(target: object, key: string): unknown {
  const descriptor = Object.getOwnPropertyDescriptor(target, key)
  return descriptor !== undefined && 'value' in descriptor ? descriptor.value : undefined
}

/** A data property's value, sanitised; an accessor is never invoked. */
function readOwn(target: object, key: string, depth: number, walk: Walk): unknown {
  const descriptor = Object.getOwnPropertyDescriptor(target, key)
  if (descriptor === undefined) return null
  if (!('value' in descriptor)) return '[accessor]'
  return sanitizeValue(descriptor.value, depth + 1, walk)
}

/**
 * A write's before/after image with the value under every secret-looking key replaced by `[REDACTED]`, at any
 * depth (a jsonb column `{ "apiKey": … }`, a column named `api_token`). Inputs are redacted by the same key
 * test, so without this the record's `inputs` hid a secret its `after` kept verbatim (docs/decisions.md,
 * "Audit images"). Field policy already shaped the image (masks, hashes, no denied fields); this only adds the
 * policy-independent secret test. Runs before bounding, so no digest of a secret is kept either.
 */
export function redactImageSecrets(image: unknown): unknown {
  return redactSecretsAt(image, 0)
}

/** Deeper than any image the input guard or a row lets through: a cycle (a host's log object) ends here. */
const MAX_REDACT_DEPTH = 64

function redactSecretsAt(image: unknown, depth: number): unknown {
  if (typeof image !== 'object' || image === null) return image
  if (depth >= MAX_REDACT_DEPTH) return '[…]'
  if (Array.isArray(image)) return image.map((item) => redactSecretsAt(item, depth + 1))
  if (Object.getPrototypeOf(image) !== Object.prototype && Object.getPrototypeOf(image) !== null) return image
  const out: Record<string, unknown> = {}
  for (const key of Object.keys(image)) {
    const value = dataOf(image, key)
    Object.defineProperty(out, key, {
      // A null under a secret's name hides nothing: kept, so an image still says the column was empty.
      value: keyFacts(key).secret && value !== null ? REDACTED : redactSecretsAt(value, depth + 1),
      enumerable: true,
      writable: true,
      configurable: true,
    })
  }
  return out
}
