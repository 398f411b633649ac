/**
 * HMAC-SHA256 (RFC 2104) of a short message from the key's precomputed states: SHA-256's state after the block
 * K ⊕ ipad and after K ⊕ opad, computed once per key. A message of at most SHORT_HMAC_MAX bytes then costs two or
 * three SHA-256 compressions here, in JavaScript, instead of two calls into node:crypto that each hash the pad
 * block again (node's Hash objects can be copied from a saved state, but a copy costs more than that block).
 * Most audit records' argsDigest is of a short text (a get's arguments are ~30 bytes), and the digest is one of
 * the three hashes sealing a record costs (bench/README.md). Longer messages take node:crypto (the caller's
 * path). test/unit/short-hmac.test.ts holds the result to createHmac for every message length up to the bound
 * and for keys of any length up to a block.
 *
 * SHA-256 as FIPS 180-4 defines it; no branch depends on the key or the message, only on its length.
 */

/** Longest message (bytes) hashed here: the inner hash's padding then fits in two blocks. */
export const SHORT_HMAC_MAX = 119

const BLOCK = 64

// prettier-ignore
const K = new Int32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
])

// prettier-ignore
const IV = new Int32Array([
  0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
])

/** The message schedule, reused by every compression (calls are synchronous and never interleave). */
const W = new Int32Array(64)

/** SHA-256's compression of the 64-byte block at `offset` of `bytes` into `state` (eight words, in place). */
function compress(state: Int32Array, bytes: Uint8Array, offset: number): void {
  const w = W
  for (let t = 0; t < 16; t++) {
    const o = offset + 4 * t
    w[t] =
      ((bytes[o] as number) << 24) |
      ((bytes[o + 1] as number) << 16) |
      ((bytes[o + 2] as number) << 8) |
      (bytes[o + 3] as number)
  }
  for (let t = 16; t < 64; t++) {
    const x = w[t - 15] as number
    const y = w[t - 2] as number
    const s0 = ((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3)
    const s1 = ((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10)
    w[t] = ((w[t - 16] as number) + s0 + (w[t - 7] as number) + s1) | 0
  }
  let a = state[0] as number
  let b = state[1] as number
  let c = state[2] as number
  let d = state[3] as number
  let e = state[4] as number
  let f = state[5] as number
  let g = state[6] as number
  let h = state[7] as number
  for (let t = 0; t < 64; t++) {
    const s1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7))
    const ch = (e & f) ^ (~e & g)
    const t1 = (h + s1 + ch + (K[t] as number) + (w[t] as number)) | 0
    const s0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10))
    const maj = (a & b) ^ (a & c) ^ (b & c)
    const t2 = (s0 + maj) | 0
    h = g
    g = f
    f = e
    e = (d + t1) | 0
    d = c
    c = b
    b = a
    a = (t1 + t2) | 0
  }
  state[0] = ((state[0] as number) + a) | 0
  state[1] = ((state[1] as number) + b) | 0
  state[2] = ((state[2] as number) + c) | 0
  state[3] = ((state[3] as number) + d) | 0
  state[4] = ((state[4] as number) + e) | 0
  state[5] = ((state[5] as number) + f) | 0
  state[6] = ((state[6] as number) + g) | 0
  state[7] = ((state[7] as number) + h) | 0
}

/** SHA-256 states of a key after its first block: K ⊕ ipad (inner) and K ⊕ opad (outer). */
export interface HmacStates {
  readonly inner: Int32Array
  readonly outer: Int32Array
}

/** The states of `key` (at most one block long; a longer key is hashed first, which the caller does elsewhere). */
export function hmacStates(key: Uint8Array): HmacStates {
  if (key.length > BLOCK) throw new RangeError('an HMAC-SHA256 key longer than a block is hashed first')
  const pad = new Uint8Array(BLOCK)
  const inner = IV.slice()
  const outer = IV.slice()
  for (let i = 0; i < BLOCK; i++) pad[i] = (key[i] ?? 0) ^ 0x36
  compress(inner, pad, 0)
  for (let i = 0; i < BLOCK; i++) pad[i] = (key[i] ?? 0) ^ 0x5c
  compress(outer, pad, 0)
  return { inner, outer }
}

/** Working state and blocks (the message is written into `message` by the caller, then padded here). */
const state = new Int32Array(8)
const digestBlock = Buffer.alloc(BLOCK)

/**
 * HMAC-SHA256, lowercase hex, of the first `length` bytes of `message` (at most SHORT_HMAC_MAX) under the key
 * whose states are `states`. `message` must have room for two blocks: its bytes past `length` are overwritten
 * with the padding.
 */
export function shortHmacHex(states: HmacStates, message: Uint8Array, length: number): string {
  if (length > SHORT_HMAC_MAX || message.length < 2 * BLOCK)
    throw new RangeError('message too long for shortHmac')
  // Inner: H(K ⊕ ipad ‖ m), from the state after the pad block; its length counts that block.
  state.set(states.inner)
  const blocks = length + 9 <= BLOCK ? 1 : 2
  const end = blocks * BLOCK
  message[length] = 0x80
  message.fill(0, length + 1, end - 4)
  writeUint32(message, end - 4, (BLOCK + length) * 8)
  compress(state, message, 0)
  if (blocks === 2) compress(state, message, BLOCK)
  // Outer: H(K ⊕ opad ‖ inner digest): the 32-byte digest, padding and the length (96 bytes) in one block.
  for (let i = 0; i < 8; i++) writeUint32(digestBlock, 4 * i, state[i] as number)
  digestBlock[32] = 0x80
  digestBlock.fill(0, 33, BLOCK - 4)
  writeUint32(digestBlock, BLOCK - 4, (BLOCK + 32) * 8)
  state.set(states.outer)
  compress(state, digestBlock, 0)
  for (let i = 0; i < 8; i++) writeUint32(digestBlock, 4 * i, state[i] as number)
  return digestBlock.toString('hex', 0, 32)
}

function writeUint32(bytes: Uint8Array, at: number, value: number): void {
  bytes[at] = value >>> 24
  bytes[at + 1] = (value >>> 16) & 0xff
  bytes[at + 2] = (value >>> 8) & 0xff
  bytes[at + 3] = value & 0xff
}
