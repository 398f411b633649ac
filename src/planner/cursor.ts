/**
 * Opaque keyset cursors (docs/contract.md §4, docs/threats.md "Cursor tampering"). A cursor carries only the last row's
 * order-key values and is bound to a hash of everything that decides which rows the next page may contain
 * (principal, model, filter, order, selection, policy version). An edited, truncated, forged or transplanted
 * cursor (other principal, model, filter or order) is rejected with one and the same INVALID_CURSOR error,
 * whatever the reason.
 *
 * Token: base64url(version ‖ iv ‖ ciphertext ‖ tag), AES-256-GCM over the JSON of the order keys with
 * associated data = version ‖ binding. GCM is the only authenticated primitive: the tag covers the version,
 * the binding and the sealed keys, so a separate MAC would only cost time. The keys are encrypted because the
 * primary key is always an order key and may be a denied, masked or hashed field.
 */
import { createCipheriv, createDecipheriv, createHmac, hash as oneShotHash, randomBytes } from 'node:crypto'
import { internalError, invalidCursor } from '../errors/index.ts'
import { canonicalJson } from '../json/index.ts'

/** Version of the cursor payload (the `v` of CursorPayload). */
export const CURSOR_VERSION = 1
/** First byte of every token: the token format (2 = GCM-only; 1 was JSON body + sealed keys + HMAC). */
const TOKEN_FORMAT = 2
/** Longest token accepted (and produced): 4 KB. */
export const MAX_CURSOR_LENGTH = 4_096
/** Most order-key values one cursor may carry. */
export const MAX_CURSOR_KEYS = 32

/**
 * The secret is shared with field hashing (and possibly other features). Each use gets its own key derived
 * with this label, so a value hashed by `hash` fields can never double as a cursor key. The label is new for
 * this token format, so no key of the old format is reused.
 */
const CURSOR_KEY_LABEL = 'tessera/cursor/v2-gcm'
const SEAL_IV_BYTES = 12
const SEAL_TAG_BYTES = 16
/** Smallest well-formed token: format byte, IV, at least "[]" (2 bytes) and the tag. */
const MIN_TOKEN_BYTES = 1 + SEAL_IV_BYTES + 2 + SEAL_TAG_BYTES
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

/** Derived keys of recent string secrets, by secret then label (strings compare by value). */
const stringKeyCache = new Map<string, Map<string, Buffer>>()
/** At most this many distinct string secrets are remembered; the cache starts over beyond it. */
const MAX_CACHED_SECRETS = 16

/**
 * Derived keys of byte secrets, by the secret's identity. A Uint8Array can be changed in place, so an entry
 * also holds a copy of the bytes it was derived from and is used only while the secret still equals them.
 */
const byteKeyCache = new WeakMap<Uint8Array, { readonly bytes: Buffer; readonly keys: Map<string, Buffer> }>()

function computeKey(raw: Buffer, label: string): Buffer {
  if (raw.length === 0) throw internalError(undefined, new Error('cursor secret is empty'))
  return createHmac('sha256', raw).update(label).digest()
}

/**
 * HMAC(secret, label), remembered per secret: a call would otherwise pay two HMAC key set-ups for it. The
 * returned buffer is shared; callers only read it.
 */
function deriveKey(secret: Uint8Array | string, label = CURSOR_KEY_LABEL): Buffer {
  let keys: Map<string, Buffer>
  if (typeof secret === 'string') {
    let cached = stringKeyCache.get(secret)
    if (cached === undefined) {
      if (stringKeyCache.size >= MAX_CACHED_SECRETS) stringKeyCache.clear()
      cached = new Map()
      stringKeyCache.set(secret, cached)
    }
    keys = cached
  } else {
    let entry = byteKeyCache.get(secret)
    if (entry === undefined || !entry.bytes.equals(secret)) {
      entry = { bytes: Buffer.from(secret), keys: new Map() }
      byteKeyCache.set(secret, entry)
    }
    keys = entry.keys
  }
  let key = keys.get(label)
  if (key === undefined) {
    key = computeKey(typeof secret === 'string' ? Buffer.from(secret, 'utf8') : Buffer.from(secret), label)
    keys.set(label, key)
  }
  return key
}

/** Bytes drawn from the CSPRNG at once for IVs: one draw per cursor costs more than the sealing itself. */
const IV_POOL_BYTES = SEAL_IV_BYTES * 256
let ivPool: Buffer = Buffer.alloc(0)
let ivOffset = 0

/** A fresh random IV: the next unused bytes of the pool (a new pool once it is spent; bytes are never reused). */
function nextIv(): Buffer {
  if (ivOffset + SEAL_IV_BYTES > ivPool.length) {
    ivPool = randomBytes(IV_POOL_BYTES)
    ivOffset = 0
  }
  const iv = ivPool.subarray(ivOffset, ivOffset + SEAL_IV_BYTES)
  ivOffset += SEAL_IV_BYTES
  return iv
}

/** Associated data of recent bindings (format byte ‖ binding text); bindings repeat page after page. */
const recentAad = new Map<string, Buffer>()

function associatedData(binding: string): Buffer {
  let aad = recentAad.get(binding)
  if (aad === undefined) {
    aad = Buffer.concat([Buffer.of(TOKEN_FORMAT), Buffer.from(binding, 'utf8')])
    if (recentAad.size >= MAX_RECENT_BINDINGS) recentAad.clear()
    recentAad.set(binding, aad)
  }
  return aad
}

/** AES-256-GCM over the JSON of the keys, bound to the query binding: format ‖ iv ‖ ciphertext ‖ tag. */
function seal(keys: readonly CursorKeyValue[], secret: Uint8Array | string, binding: string): Buffer {
  const iv = nextIv()
  const cipher = createCipheriv('aes-256-gcm', deriveKey(secret), iv)
  cipher.setAAD(associatedData(binding))
  const first = cipher.update(JSON.stringify(keys), 'utf8')
  const last = cipher.final()
  return Buffer.concat([Buffer.of(TOKEN_FORMAT), iv, first, last, cipher.getAuthTag()])
}

/** The decrypted JSON of a token's keys, or undefined when it fails authentication or is not JSON. */
function open(bytes: Buffer, secret: Uint8Array | string, binding: string): unknown {
  if (bytes.length < MIN_TOKEN_BYTES || bytes[0] !== TOKEN_FORMAT) return undefined
  try {
    const decipher = createDecipheriv('aes-256-gcm', deriveKey(secret), bytes.subarray(1, 1 + SEAL_IV_BYTES))
    decipher.setAAD(associatedData(binding))
    decipher.setAuthTag(bytes.subarray(bytes.length - SEAL_TAG_BYTES))
    const text = Buffer.concat([
      decipher.update(bytes.subarray(1 + SEAL_IV_BYTES, bytes.length - SEAL_TAG_BYTES)),
      decipher.final(),
    ]).toString('utf8')
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
  const token = seal(payload.k, key, payload.b).toString('base64url')
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
 * Verifies and decodes a cursor for the query whose binding is `expectedBinding`. GCM authenticates the
 * format byte, the binding (as associated data) and the keys before any of them is parsed; every failure
 * throws the same INVALID_CURSOR error.
 */
export function decodeCursor(
  token: unknown,
  key: Uint8Array | string,
  expectedBinding: string,
): CursorPayload {
  // Derive first, so an empty secret is the same programming error whatever the token.
  deriveKey(key)
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
