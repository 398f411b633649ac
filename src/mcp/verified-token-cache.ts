/**
 * Verified JWTs remembered for a short while, so a client that sends the same bearer token on every
 * stateless HTTP request does not pay a signature verification (~80–140 µs of CPU for RS256/ES256/HS256 with
 * jose on the 2-core bench machine) on each of them.
 *
 * - Keyed by HMAC-SHA256 of the token under a random key of this process: the cache holds no bearer token,
 *   and its keys are worthless outside this process.
 * - An entry lives until the earliest of: the TTL (default 30 s) after it was verified, the token's `exp`,
 *   and `iat + maxTokenAge` when configured — never longer than verification itself would accept it.
 * - Only successes are remembered; a failing token is verified (and refused) every time.
 * - Bounded: when full, the oldest entry goes. The file authenticator builds a new authenticator, and with
 *   it a new cache, whenever the auth file changes (docs/mcp.md, "The auth file").
 * The price (docs/decisions.md, "MCP server"): a key removed from a remote JWKS stops authenticating tokens
 * already seen within the TTL, not at once.
 */
import { createHmac, randomBytes } from 'node:crypto'

export const DEFAULT_TOKEN_TTL_MS = 30_000
export const DEFAULT_TOKEN_CACHE_SIZE = 10_000

interface Entry<T> {
  readonly identity: T
  readonly until: number
}

/** `T`: what a verified token proves (the authenticator's `Authenticated`), kept as it was verified. */
export class VerifiedTokenCache<T> {
  readonly #key = randomBytes(32)
  readonly #entries = new Map<string, Entry<T>>()

  constructor(
    private readonly ttlMs = DEFAULT_TOKEN_TTL_MS,
    private readonly maxEntries = DEFAULT_TOKEN_CACHE_SIZE,
    private readonly now: () => number = Date.now,
  ) {}

  #keyOf(token: string): string {
    return createHmac('sha256', this.#key).update(token, 'utf8').digest('base64url')
  }

  get(token: string): T | undefined {
    const key = this.#keyOf(token)
    const entry = this.#entries.get(key)
    if (entry === undefined) return undefined
    if (this.now() >= entry.until) {
      this.#entries.delete(key)
      return undefined
    }
    return entry.identity
  }

  /** `expiresAtMs`: the latest instant verification would still accept the token (its `exp`, its max age). */
  remember(token: string, identity: T, expiresAtMs: number): void {
    const until = Math.min(this.now() + this.ttlMs, expiresAtMs)
    if (!(until > this.now())) return
    if (this.#entries.size >= this.maxEntries) {
      const oldest = this.#entries.keys().next()
      if (oldest.done !== true) this.#entries.delete(oldest.value)
    }
    this.#entries.set(this.#keyOf(token), { identity, until })
  }

  get size(): number {
    return this.#entries.size
  }
}
