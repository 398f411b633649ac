/**
 * Opaque keyset cursors (docs/contract.md §4, docs/threats.md "Cursor tampering"). A cursor carries only the last row's
 * order-key values and is bound to a hash of everything that decides which rows the next page may contain
 * (principal, model, filter, order, selection, policy version). An edited, truncated, forged or transplanted
 * cursor (other principal, model, filter or order) is rejected with one and the same INVALID_CURSOR error,
 * whatever the reason.
 *
 * Token: base64url of the seal of the JSON of the order keys (src/planner/cursor-seal.ts: HMAC-SHA256 in
 * counter mode for secrecy, HMAC-SHA256 over format ‖ binding ‖ nonce ‖ ciphertext for integrity). The keys are
 * encrypted because the primary key is always an order key and may be a denied, masked or hashed field.
 */
import { hash as oneShotHash } from 'node:crypto'
import { internalError, invalidCursor } from '../errors/index.ts'
import { canonicalJson } from '../json/index.ts'
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
const MAX_RECENT_BINDINGS = 1_024

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

/**
 * Bindings of recently seen canonical texts: a principal paging through a query hashes the same text twice per
 * page (decode, then the next cursor), and a busy server sees the same query shapes again and again.
 */
const recentBindings = new Map<string, string>()

/**
 * sha256 hex of the canonical JSON of everything a page depends on. Roles are a set (sorted, deduplicated;
 * absent = empty); an absent, undefined or null userId are the same; other absent and undefined members are
 * the same. Pass the normalised filter and orderBy.
 */
export function cursorBinding(input: CursorBindingInput): string {
  const roles = [...new Set(input.roles ?? [])].sort()
  const canonical = canonicalJson({
    tenantId: input.tenantId,
    userId: input.userId ?? null,
    roles,
    metadata: input.metadata,
    model: input.model,
    where: input.where,
    orderBy: input.orderBy,
    select: input.select,
    include: input.include,
    policyVersion: input.policyVersion,
  })
  let binding = recentBindings.get(canonical)
  if (binding === undefined) {
    binding = oneShotHash('sha256', canonical, 'hex')
    if (recentBindings.size >= MAX_RECENT_BINDINGS) recentBindings.clear()
    recentBindings.set(canonical, binding)
  }
  return binding
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
