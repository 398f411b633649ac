/**
 * Taking a connection from the pool within a bounded time (docs/threats.md fact 8): pg's default waits forever
 * when the pool was built without `connectionTimeoutMillis`.
 *
 * Every query takes a connection, and nearly always gets one at once, so the bound must cost next to nothing
 * when it is not needed: instead of a timer (and a Promise.race) per acquisition, the acquisitions of one pool
 * wait in arrival order — all with the same timeout, so the first to arrive is the first to expire — under one
 * timer armed for the earliest deadline. A waiter that gets its client leaves the queue; the timer, when it
 * fires, fails the waiters whose deadline passed and re-arms for the next. While nobody waits the timer does
 * not keep the process alive (it is unref'd), as a cleared per-acquisition timer would not.
 *
 * A node-postgres pool (pg-pool, of any copy of pg) is asked with its callback form, `connect(callback)`, as pg's
 * own `pool.query` asks it: its promise form wraps every acquisition in two promises and three closures more
 * (promisify and a `.catch` that rewrites the stack of a failure), on every query.
 */
import { PoolExhaustedError } from './pool-exhausted-error.ts'

/** What is needed of a pool here (tessera-dialect.ts's TesseraPool is one). */
interface AcquirePool<C extends { release(): void }> {
  connect(): Promise<C>
  readonly options?: { readonly connectionTimeoutMillis?: number | undefined }
}

/** node-postgres' pg-pool: `connect(callback)` answers through the callback and returns nothing. */
type ConnectCallback<C> = (err: Error | undefined, client: C | undefined) => void
interface CallbackPool<C> {
  connect(callback: ConnectCallback<C>): void
}

/**
 * Whether `pool` is a pg-pool: its documented surface — `connect(callback)` (one declared parameter) and the
 * `totalCount`, `idleCount` and `waitingCount` counters — duck-typed, not `instanceof`, so a pool from another
 * copy of pg counts too. Anything else is asked for a promise.
 */
function takesCallback(pool: object): boolean {
  const p = pool as { connect?: unknown; totalCount?: unknown; idleCount?: unknown; waitingCount?: unknown }
  return (
    typeof p.connect === 'function' &&
    p.connect.length === 1 &&
    typeof p.totalCount === 'number' &&
    typeof p.idleCount === 'number' &&
    typeof p.waitingCount === 'number'
  )
}

/** A function that takes a connection from `pool`, failing with PoolExhaustedError after `timeoutMs`. */
export function boundedConnect<C extends { release(): void }>(
  pool: AcquirePool<C>,
  timeoutMs: number,
): () => Promise<C> {
  const callbackPool = takesCallback(pool) ? (pool as unknown as CallbackPool<C>) : undefined
  // The pool bounds the wait itself: no layer of ours on every query.
  if (pool.options?.connectionTimeoutMillis) {
    if (callbackPool === undefined) return () => pool.connect()
    return () =>
      new Promise<C>((resolve, reject) => {
        callbackPool.connect((err, client) => {
          if (err !== undefined && err !== null) reject(err)
          else resolve(client as C)
        })
      })
  }
  const waits = new AcquireWaits<C>(timeoutMs)
  return () => waits.connect(pool, callbackPool)
}

interface Wait<C> {
  readonly deadline: number
  resolve(client: C): void
  reject(err: unknown): void
  /** Failed by the timer: a client the pool hands over later goes straight back. */
  expired: boolean
}

class AcquireWaits<C extends { release(): void }> {
  readonly #timeoutMs: number
  /** Acquisitions not answered yet, in arrival order (so in deadline order). */
  readonly #waits = new Set<Wait<C>>()
  #timer: NodeJS.Timeout | undefined

  constructor(timeoutMs: number) {
    this.#timeoutMs = timeoutMs
  }

  connect(pool: AcquirePool<C>, callbackPool: CallbackPool<C> | undefined): Promise<C> {
    let wait: Wait<C> | undefined
    const answer = new Promise<C>((resolve, reject) => {
      wait = { deadline: performance.now() + this.#timeoutMs, resolve, reject, expired: false }
    })
    const w = wait as Wait<C>
    this.#waits.add(w)
    if (this.#timer === undefined) this.#arm(this.#timeoutMs)
    else if (this.#waits.size === 1) this.#timer.ref()
    if (callbackPool !== undefined) {
      // pg-pool may answer at once (a pool that is ending): the wait is registered already.
      callbackPool.connect((err, client) => {
        if (err !== undefined && err !== null) this.#failed(w, err)
        else this.#got(w, client as C)
      })
    } else {
      pool.connect().then(
        (client) => this.#got(w, client),
        (err: unknown) => this.#failed(w, err),
      )
    }
    return answer
  }

  #got(w: Wait<C>, client: C): void {
    if (w.expired) {
      client.release()
      return
    }
    this.#leave(w)
    w.resolve(client)
  }

  #failed(w: Wait<C>, err: unknown): void {
    if (w.expired) return
    this.#leave(w)
    w.reject(err)
  }

  #leave(w: Wait<C>): void {
    this.#waits.delete(w)
    // Nobody waits: the armed timer must not hold the process open (it fires later and finds nothing due).
    if (this.#waits.size === 0) this.#timer?.unref()
  }

  #arm(ms: number): void {
    this.#timer = setTimeout(() => this.#expire(), Math.max(1, Math.ceil(ms)))
  }

  #expire(): void {
    this.#timer = undefined
    const now = performance.now()
    for (const w of this.#waits) {
      if (w.deadline > now) {
        this.#arm(w.deadline - now)
        return
      }
      this.#waits.delete(w)
      w.expired = true
      w.reject(new PoolExhaustedError(this.#timeoutMs))
    }
  }
}
