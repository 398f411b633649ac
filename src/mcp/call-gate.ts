/**
 * Admission of tool calls: token-bucket rate limits per tenant and per credential, a cap on calls in flight
 * per tenant, and a count of calls in flight so shutdown can drain them. One tenant exhausting its budget
 * never slows another: every bucket is keyed, and a refusal is a RATE_LIMITED result with a retry hint.
 */
import { TesseraError } from '../errors/index.ts'

export interface RateLimit {
  /** Calls allowed in a burst (bucket size). */
  readonly burst: number
  /** Calls added back per second. */
  readonly perSecond: number
}

export interface RateLimits {
  /** Per tenant, across all of its credentials. */
  readonly tenant?: RateLimit | undefined
  /** Per credential (API key id or token subject). */
  readonly principal?: RateLimit | undefined
  /** Calls in flight per tenant. */
  readonly tenantConcurrency?: number | undefined
}

interface Bucket {
  tokens: number
  updated: number
}

/** Buckets idle long enough to be full again are dropped, bounding memory under many distinct keys. */
const MAX_BUCKETS = 100_000

export class CallGate {
  readonly #limits: RateLimits
  readonly #overrides: ReadonlyMap<string, RateLimit>
  readonly #buckets = new Map<string, Bucket>()
  readonly #inFlightByTenant = new Map<string, number>()
  #inFlight = 0
  #drained: (() => void) | undefined
  readonly #now: () => number

  constructor(
    limits: RateLimits = {},
    overrides: ReadonlyMap<string, RateLimit> = new Map(),
    now: () => number = () => performance.now(),
  ) {
    for (const limit of [limits.tenant, limits.principal, ...overrides.values()]) {
      if (limit !== undefined) checkLimit(limit)
    }
    const cap = limits.tenantConcurrency
    if (cap !== undefined && (!Number.isSafeInteger(cap) || cap < 1)) {
      throw new TesseraError('VALIDATION_ERROR', 'tenantConcurrency must be a positive integer', {
        details: { tenantConcurrency: cap },
      })
    }
    this.#limits = limits
    this.#overrides = overrides
    this.#now = now
  }

  get inFlight(): number {
    return this.#inFlight
  }

  /** Undefined when the call may run (then `release` must follow), else the RATE_LIMITED error to return. */
  admit(tenantId: string, rateKey: string): TesseraError | undefined {
    const principalLimit = this.#overrides.get(rateKey) ?? this.#limits.principal
    const now = this.#now()
    const tenantWait = this.#wait(`t:${tenantId}`, this.#limits.tenant, now)
    const principalWait = this.#wait(`p:${rateKey}`, principalLimit, now)
    const running = this.#inFlightByTenant.get(tenantId) ?? 0
    const cap = this.#limits.tenantConcurrency
    if (tenantWait > 0 || principalWait > 0 || (cap !== undefined && running >= cap)) {
      const retryAfterMs = Math.max(
        1,
        Math.ceil(Math.max(tenantWait, principalWait, cap === undefined ? 0 : 50)),
      )
      return new TesseraError('RATE_LIMITED', 'Too many calls; slow down', {
        hints: [`Retry after ${retryAfterMs} ms`],
        details: { retryAfterMs },
      })
    }
    this.#take(`t:${tenantId}`, this.#limits.tenant)
    this.#take(`p:${rateKey}`, principalLimit)
    this.#inFlightByTenant.set(tenantId, running + 1)
    this.#inFlight += 1
    return undefined
  }

  release(tenantId: string): void {
    const running = (this.#inFlightByTenant.get(tenantId) ?? 1) - 1
    if (running <= 0) this.#inFlightByTenant.delete(tenantId)
    else this.#inFlightByTenant.set(tenantId, running)
    this.#inFlight -= 1
    if (this.#inFlight === 0) this.#drained?.()
  }

  /** Resolves once no call is in flight (or after `timeoutMs`). */
  async drain(timeoutMs: number): Promise<void> {
    if (this.#inFlight === 0) return
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, timeoutMs)
      this.#drained = () => {
        clearTimeout(timer)
        resolve()
      }
    })
  }

  /** Milliseconds until one token is available in `key`'s bucket (0: available now). Refills as a side effect. */
  #wait(key: string, limit: RateLimit | undefined, now: number): number {
    if (limit === undefined) return 0
    const bucket = this.#bucket(key, limit, now)
    return bucket.tokens >= 1 ? 0 : ((1 - bucket.tokens) / limit.perSecond) * 1000
  }

  #take(key: string, limit: RateLimit | undefined): void {
    if (limit === undefined) return
    const bucket = this.#buckets.get(key)
    if (bucket !== undefined) bucket.tokens -= 1
  }

  #bucket(key: string, limit: RateLimit, now: number): Bucket {
    let bucket = this.#buckets.get(key)
    if (bucket === undefined) {
      if (this.#buckets.size >= MAX_BUCKETS) this.#evictFull(now)
      bucket = { tokens: limit.burst, updated: now }
      this.#buckets.set(key, bucket)
      return bucket
    }
    const elapsed = Math.max(0, now - bucket.updated) / 1000
    bucket.tokens = Math.min(limit.burst, bucket.tokens + elapsed * limit.perSecond)
    bucket.updated = now
    return bucket
  }

  #evictFull(now: number): void {
    // A bucket that would be full by now holds no information: dropping it changes no decision.
    const slowest = Math.min(
      ...[this.#limits.tenant, this.#limits.principal, ...this.#overrides.values()]
        .filter((l): l is RateLimit => l !== undefined)
        .map((l) => l.perSecond),
    )
    const maxBurst = Math.max(
      ...[this.#limits.tenant, this.#limits.principal, ...this.#overrides.values()]
        .filter((l): l is RateLimit => l !== undefined)
        .map((l) => l.burst),
    )
    for (const [key, bucket] of this.#buckets) {
      if (bucket.tokens + ((now - bucket.updated) / 1000) * slowest >= maxBurst) this.#buckets.delete(key)
    }
    // Still full of busy keys: drop the oldest, which errs towards admitting a call, never towards a leak.
    while (this.#buckets.size >= MAX_BUCKETS) {
      const oldest = this.#buckets.keys().next().value
      if (oldest === undefined) break
      this.#buckets.delete(oldest)
    }
  }
}

function checkLimit(limit: RateLimit): void {
  if (
    !(limit.burst >= 1) ||
    !Number.isFinite(limit.burst) ||
    !(limit.perSecond > 0) ||
    !Number.isFinite(limit.perSecond)
  ) {
    throw new TesseraError('VALIDATION_ERROR', 'A rate limit needs burst ≥ 1 and perSecond > 0', {
      details: { burst: limit.burst, perSecond: limit.perSecond },
    })
  }
}
