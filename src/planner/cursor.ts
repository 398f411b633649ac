/**
 * Opaque keyset cursors (docs/contract.md §4, docs/threats.md "Cursor tampering"). A cursor carries only the last row's
 * order-key values and is bound to the canonical text of everything that decides which rows the next page may contain
 * (principal, model, filter, order, selection, policy version). An edited, truncated, forged or transplanted
 * cursor (other principal, model, filter or order) is rejected with one and the same INVALID_CURSOR error,
 * whatever the reason.
 *
 * Token: base64url of the seal of the JSON of the order keys (src/planner/cursor-seal.ts: HMAC-SHA512 in
 * counter mode for secrecy, HMAC-SHA256 over format ‖ binding ‖ nonce ‖ ciphertext for integrity). The keys are
 * encrypted because the primary key is always an order key and may be a denied, masked or hashed field.
 */
import { internalError, invalidCursor } from '../errors/index.ts'
import { canonicalJson, jsonString } from '../json/index.ts'
import { cursorKeys, openText, SEAL_OVERHEAD, sealText } from './cursor-seal.ts'

/** Version of the cursor payload (the `v` of CursorPayload). */
export const CURSOR_VERSION = 1
/** Longest token accepted (and produced): 4 KB. */
export const MAX_CURSOR_LENGTH = 4_096
/** Most order-key values one cursor may carry. */
export const MAX_CURSOR_KEYS = 32

/** Smallest well-formed token: the seal around at least "[]" (2 bytes). */
const MIN_TOKEN_BYTES = SEAL_OVERHEAD + 2
const BASE64URL = /^[A-Za-z0-9_-]+$/

/** One order-key value. Timestamps must be sent as text (e.g. selected as `col::text`), not as Date. */
export type CursorKeyValue = string | number | boolean | null

export interface CursorPayload {
  readonly v: typeof CURSOR_VERSION
  /** `cursorBinding(...)` of the query that produced the cursor. */
  readonly b: string
  /** The last returned row's order-key values, in orderBy order (primary-key tiebreakers included). */
  readonly k: readonly CursorKeyValue[]
}

export interface CursorBindingInput {
  readonly tenantId: string
  readonly userId?: string | null | undefined
  readonly roles?: readonly string[] | null | undefined
  /** Principal metadata, when scoping or row policies read it (a changed hierarchy invalidates cursors). */
  readonly metadata?: unknown
  readonly model: string
  readonly where?: unknown
  readonly orderBy: unknown
  readonly select?: unknown
  readonly include?: unknown
  readonly policyVersion: string
}

/** The decrypted JSON of a token's keys, or undefined when it fails authentication or is not JSON. */
function open(bytes: Buffer, secret: Uint8Array | string, binding: string): unknown {
  if (bytes.length < MIN_TOKEN_BYTES) return undefined
  const text = openText(bytes, binding, secret)
  if (text === undefined) return undefined
  try {
    return JSON.parse(text) as unknown
  } catch {
    return undefined
  }
}

/** A role list as a set: sorted, deduplicated, absent = empty. */
function rolesText(roles: readonly string[] | null | undefined): string {
  if (roles === null || roles === undefined || roles.length === 0) return '[]'
  if (roles.length === 1) return JSON.stringify(roles)
  return JSON.stringify([...new Set(roles)].sort())
}

/**
 * The binding of a query: the canonical text of everything a page depends on, as a JSON array of the parts
 * in a fixed order (JSON values delimit themselves, so different inputs give different texts). It is not
 * hashed: the seal's tag is an HMAC over it. Roles are a set (sorted, deduplicated; absent = empty); absent,
 * undefined and null are the same for every optional member. Pass the normalised filter and orderBy.
 */
export function cursorBinding(input: CursorBindingInput): string {
  const userId = input.userId == null ? 'null' : stringified(input.userId)
  const principal = `${stringified(input.tenantId)},${userId},${rolesText(input.roles)}`
  const metadata = canonicalJson(input.metadata ?? null)
  const where = canonicalJson(input.where ?? null)
  const orderBy = orderByText(input.orderBy)
  const shape = `${canonicalJson(input.select ?? null)},${canonicalJson(input.include ?? null)}`
  return `[${principal},${metadata},${stringified(input.model)},${where},${orderBy},${shape},${stringified(input.policyVersion)}]`
}

/** `JSON.stringify(value)`, by jsonString for a string (the common case, several times cheaper). */
function stringified(value: unknown): string {
  return typeof value === 'string' ? jsonString(value) : (JSON.stringify(value) as string)
}

/**
 * `canonicalJson(orderBy)`, written directly for the planner's order keys — plain objects with exactly
 * `column`, `direction` (strings) and `nullable` (a boolean), whose canonical text is fixed but for the two
 * strings; anything else goes to canonicalJson. The same text either way (test/unit/cursor.test.ts).
 */
function orderByText(orderBy: unknown): string {
  if (!Array.isArray(orderBy)) return canonicalJson(orderBy)
  const items: readonly unknown[] = orderBy
  let out = '['
  for (let i = 0; i < items.length; i++) {
    if (i > 0) out += ','
    if (!(i in items)) return canonicalJson(orderBy)
    out += orderKeyText(items[i])
  }
  return `${out}]`
}

function orderKeyText(item: unknown): string {
  if (typeof item !== 'object' || item === null || Object.getPrototypeOf(item) !== Object.prototype)
    return canonicalJson(item)
  // Exactly these three enumerable own keys (what canonicalJson writes), whatever their order.
  const keys = Object.keys(item)
  if (keys.length !== 3) return canonicalJson(item)
  for (const k of keys)
    if (k !== 'column' && k !== 'direction' && k !== 'nullable') return canonicalJson(item)
  const { column, direction, nullable } = item as { column: unknown; direction: unknown; nullable: unknown }
  if (typeof column !== 'string' || typeof direction !== 'string' || typeof nullable !== 'boolean')
    return canonicalJson(item)
  return `{"column":${jsonString(column)},"direction":${jsonString(direction)},"nullable":${nullable ? 'true' : 'false'}}`
}

function isKeyValue(value: unknown): value is CursorKeyValue {
  return (
    value === null ||
    typeof value === 'string' ||
    typeof value === 'boolean' ||
    (typeof value === 'number' && Number.isFinite(value))
  )
}

export function encodeCursor(payload: CursorPayload, key: Uint8Array | string): string {
  if (payload.k.length > MAX_CURSOR_KEYS || !payload.k.every(isKeyValue)) {
    throw internalError(undefined, new Error('cursor keys must be at most 32 JSON scalars'))
  }
  const token = sealText(JSON.stringify(payload.k), payload.b, key).toString('base64url')
  if (token.length > MAX_CURSOR_LENGTH) {
    // An order key too long to carry (e.g. ordering by a long text column): the planner must not hand out
    // a cursor that could never be accepted.
    throw internalError(undefined, new Error('cursor would exceed the maximum length'))
  }
  return token
}

/** Decodes base64url only in its canonical form, so two different texts never carry the same bytes. */
function strictBase64url(text: string): Buffer | undefined {
  if (!BASE64URL.test(text)) return undefined
  const bytes = Buffer.from(text, 'base64url')
  return bytes.toString('base64url') === text ? bytes : undefined
}

/**
 * Verifies and decodes a cursor for the query whose binding is `expectedBinding`. The tag authenticates the
 * format byte, the binding and the sealed keys before any of them is decrypted or parsed; every failure throws
 * the same INVALID_CURSOR error.
 */
export function decodeCursor(
  token: unknown,
  key: Uint8Array | string,
  expectedBinding: string,
): CursorPayload {
  // Derive first, so an empty secret is the same programming error whatever the token.
  cursorKeys(key)
  if (typeof token !== 'string' || token.length === 0 || token.length > MAX_CURSOR_LENGTH)
    throw invalidCursor()
  const bytes = strictBase64url(token)
  if (bytes === undefined) throw invalidCursor()
  const opened = open(bytes, key, expectedBinding)
  if (!Array.isArray(opened) || opened.length > MAX_CURSOR_KEYS) throw invalidCursor()
  const values: readonly unknown[] = opened
  if (!values.every(isKeyValue)) throw invalidCursor()
  return Object.freeze({ v: CURSOR_VERSION, b: expectedBinding, k: Object.freeze([...values]) })
}
