/**
 * The cursor token's seal (docs/decisions.md, "Pagination"): the order-key text encrypted and authenticated
 * with HMAC as the only primitive, encrypt-then-MAC.
 *
 *   token      = format ‖ nonce ‖ ciphertext ‖ tag
 *   nonce      = 16 fresh random bytes (equal page positions never give equal tokens)
 *   ciphertext = text ⊕ (HMAC-SHA512(Kenc, nonce ‖ 0) ‖ HMAC-SHA512(Kenc, nonce ‖ 1) ‖ …)   (a PRF in counter mode)
 *   tag        = first 16 bytes of HMAC-SHA256(Kmac, format ‖ len32(binding) ‖ binding ‖ nonce ‖ ciphertext)
 *
 * The tag is checked (in constant time) before anything is decrypted or parsed. Kenc and Kmac are derived from
 * the secret under their own labels, so neither is ever a field-hash key or the other's key.
 *
 * Why not AES-256-GCM (the previous format): Node has no reusable cipher context, and creating one per token
 * (OpenSSL 3 algorithm fetch, key schedule, GCM set-up) cost 40–60 µs of a 20-row page in situ, more than the
 * rest of the query pipeline. HMAC is computed here from two one-shot hash calls over precomputed key pads
 * (RFC 2104: H(K⊕opad ‖ H(K⊕ipad ‖ m))), which needs no per-call context; a test holds it to node's createHmac.
 * The fixed cost of a hash call dominates at these sizes, so the keystream uses SHA-512: one HMAC covers the
 * 64 bytes most cursors carry (a timestamp and a key).
 */
import { createHmac, hash as oneShotHash, randomBytes, timingSafeEqual } from 'node:crypto'
import { internalError } from '../errors/index.ts'

/** First byte of every token (3 = HMAC encrypt-then-MAC; 2 was AES-256-GCM; 1 JSON body + HMAC). */
export const TOKEN_FORMAT = 3
const NONCE_BYTES = 16
const TAG_BYTES = 16
/** Bytes around the sealed text: format byte, nonce, tag. */
export const SEAL_OVERHEAD = 1 + NONCE_BYTES + TAG_BYTES
/** Keystream messages: nonce ‖ counter32. */
const STREAM_MESSAGE_BYTES = NONCE_BYTES + 4
/**
 * Key labels. The secret is shared with field hashing (and possibly other features); each use derives its own
 * key, so a value hashed by `hash` fields can never double as a cursor key. New labels for this format: no key
 * of an older format is reused.
 */
export const CURSOR_MAC_LABEL = 'tessera/cursor/v3/mac'
export const CURSOR_ENC_LABEL = 'tessera/cursor/v3/enc'

type HmacHash = 'sha256' | 'sha512'
const BLOCK_BYTES: Record<HmacHash, number> = { sha256: 64, sha512: 128 }
const DIGEST_BYTES: Record<HmacHash, number> = { sha256: 32, sha512: 64 }

/**
 * One HMAC key, ready to use: `inner` is K⊕ipad followed by room for the message (so a call writes only the
 * message), `outer` is K⊕opad followed by room for the inner digest. Each key owns its buffers and a call
 * uses them synchronously, so no two calls interleave.
 */
interface HmacKey {
  readonly hash: HmacHash
  readonly block: number
  inner: Buffer
  readonly outer: Buffer
}

interface CursorKeys {
  readonly mac: HmacKey
  readonly enc: HmacKey
}

function hmacKeyOf(hash: HmacHash, key: Uint8Array, messageRoom: number): HmacKey {
  const block = BLOCK_BYTES[hash]
  // RFC 2104 hashes a longer key first; every key here (derived, 32 bytes) is shorter and is zero-padded.
  if (key.length > block) throw new RangeError('hmac: keys longer than the hash block are not supported')
  const inner = Buffer.alloc(block + messageRoom, 0x36)
  const outer = Buffer.alloc(block + DIGEST_BYTES[hash], 0x5c)
  for (let i = 0; i < key.length; i++) {
    inner[i] = (inner[i] as number) ^ (key[i] as number)
    outer[i] = (outer[i] as number) ^ (key[i] as number)
  }
  return { hash, block, inner, outer }
}

/** Room for `bytes` of message after the inner pad (a new, larger buffer when needed). */
function ensureRoom(key: HmacKey, bytes: number): void {
  if (key.block + bytes <= key.inner.length) return
  const grown = Buffer.alloc(key.block + Math.max(bytes, 2 * (key.inner.length - key.block)))
  key.inner.copy(grown, 0, 0, key.block)
  key.inner = grown
}

/** HMAC of key.inner[block, end), as a binary string (one char per byte). */
function hmacOfMessage(key: HmacKey, end: number): string {
  const message = end === key.inner.length ? key.inner : key.inner.subarray(0, end)
  key.outer.write(oneShotHash(key.hash, message, 'binary'), key.block, 'binary')
  return oneShotHash(key.hash, key.outer, 'binary')
}

/**
 * HMAC of `message` under `key` (at most one hash block), computed the way tokens are: what
 * createHmac(hash, key) gives (a test holds it to that).
 */
export function hmac(hash: HmacHash, key: Uint8Array, message: Uint8Array): Buffer {
  const k = hmacKeyOf(hash, key, message.length)
  k.inner.set(message, k.block)
  return Buffer.from(hmacOfMessage(k, k.block + message.length), 'binary')
}

function computeKeys(raw: Buffer): CursorKeys {
  if (raw.length === 0) throw internalError(undefined, new Error('cursor secret is empty'))
  return {
    mac: hmacKeyOf('sha256', createHmac('sha256', raw).update(CURSOR_MAC_LABEL).digest(), 448),
    enc: hmacKeyOf(
      'sha512',
      createHmac('sha256', raw).update(CURSOR_ENC_LABEL).digest(),
      STREAM_MESSAGE_BYTES,
    ),
  }
}

/** Keys of recent string secrets (strings compare by value); the cache starts over beyond 16. */
const stringKeys = new Map<string, CursorKeys>()
const MAX_CACHED_SECRETS = 16

/**
 * Keys of byte secrets, by the secret's identity. A Uint8Array can be changed in place, so an entry also holds
 * a copy of the bytes it was derived from and is used only while the secret still equals them.
 */
const byteKeys = new WeakMap<Uint8Array, { readonly bytes: Buffer; readonly keys: CursorKeys }>()

/** The cursor keys of a secret, remembered: deriving them costs two HMAC set-ups. Throws on an empty secret. */
export function cursorKeys(secret: Uint8Array | string): CursorKeys {
  if (typeof secret === 'string') {
    let keys = stringKeys.get(secret)
    if (keys === undefined) {
      keys = computeKeys(Buffer.from(secret, 'utf8'))
      if (stringKeys.size >= MAX_CACHED_SECRETS) stringKeys.clear()
      stringKeys.set(secret, keys)
    }
    return keys
  }
  let entry = byteKeys.get(secret)
  if (entry === undefined || !entry.bytes.equals(secret)) {
    const bytes = Buffer.from(secret)
    entry = { bytes, keys: computeKeys(bytes) }
    byteKeys.set(secret, entry)
  }
  return entry.keys
}

/** Bytes drawn from the CSPRNG at once for nonces: one draw per cursor costs more than the sealing itself. */
const NONCE_POOL_BYTES = NONCE_BYTES * 256
let noncePool: Buffer = Buffer.alloc(0)
let nonceOffset = 0

/** Copies a fresh random nonce (the next unused bytes of the pool; bytes are never reused) into `out` at `at`. */
function writeNonce(out: Buffer, at: number): void {
  if (nonceOffset + NONCE_BYTES > noncePool.length) {
    noncePool = randomBytes(NONCE_POOL_BYTES)
    nonceOffset = 0
  }
  noncePool.copy(out, at, nonceOffset, nonceOffset + NONCE_BYTES)
  nonceOffset += NONCE_BYTES
}

/** XORs data[at, at + length) with the keystream of the nonce at data[nonceAt]. */
function applyKeystream(key: HmacKey, data: Buffer, nonceAt: number, at: number, length: number): void {
  const message = key.inner
  const digest = DIGEST_BYTES[key.hash]
  data.copy(message, key.block, nonceAt, nonceAt + NONCE_BYTES)
  for (let block = 0; block * digest < length; block++) {
    message.writeUInt32BE(block, key.block + NONCE_BYTES)
    const stream = hmacOfMessage(key, key.block + STREAM_MESSAGE_BYTES)
    const start = at + block * digest
    const n = Math.min(digest, length - block * digest)
    for (let i = 0; i < n; i++) data[start + i] = (data[start + i] as number) ^ stream.charCodeAt(i)
  }
}

/** The tag of token[0, tagAt) for `binding`: HMAC of format ‖ len32(binding) ‖ binding ‖ nonce ‖ ciphertext. */
function tagOf(key: HmacKey, binding: string, token: Buffer, tagAt: number): string {
  const bindingBytes = Buffer.byteLength(binding, 'utf8')
  const sealedBytes = tagAt - 1
  ensureRoom(key, 1 + 4 + bindingBytes + sealedBytes)
  const message = key.inner
  let end = key.block
  message[end++] = token[0] as number
  message.writeUInt32BE(bindingBytes, end)
  end += 4
  end += message.write(binding, end, 'utf8')
  token.copy(message, end, 1, tagAt)
  end += sealedBytes
  return hmacOfMessage(key, end).slice(0, TAG_BYTES)
}

/** Seals `text` (the JSON of the order keys) for the query whose binding is `binding`; returns the token bytes. */
export function sealText(text: string, binding: string, secret: Uint8Array | string): Buffer {
  const keys = cursorKeys(secret)
  const textBytes = Buffer.byteLength(text, 'utf8')
  const tagAt = 1 + NONCE_BYTES + textBytes
  const token = Buffer.allocUnsafe(tagAt + TAG_BYTES)
  token[0] = TOKEN_FORMAT
  writeNonce(token, 1)
  token.write(text, 1 + NONCE_BYTES, 'utf8')
  applyKeystream(keys.enc, token, 1, 1 + NONCE_BYTES, textBytes)
  token.write(tagOf(keys.mac, binding, token, tagAt), tagAt, 'binary')
  return token
}

/**
 * The sealed text of a token for `binding`, or undefined when it is not a token of this format, fails
 * authentication (another key, binding or format, or any changed byte) or is too short. `token` is decrypted
 * in place once its tag has been verified.
 */
export function openText(token: Buffer, binding: string, secret: Uint8Array | string): string | undefined {
  const keys = cursorKeys(secret)
  if (token.length < SEAL_OVERHEAD || token[0] !== TOKEN_FORMAT) return undefined
  const tagAt = token.length - TAG_BYTES
  const expected = Buffer.from(tagOf(keys.mac, binding, token, tagAt), 'binary')
  if (!timingSafeEqual(expected, token.subarray(tagAt))) return undefined
  applyKeystream(keys.enc, token, 1, 1 + NONCE_BYTES, tagAt - 1 - NONCE_BYTES)
  return token.toString('utf8', 1 + NONCE_BYTES, tagAt)
}
