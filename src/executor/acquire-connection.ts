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
 */
import { PoolExhaustedError } from './pool-exhausted-error.ts'

/** What is needed of a pool here (tessera-dialect.ts's TesseraPool is one). */
interface AcquirePool<C extends { release(): void }> {
  connect(): Promise<C>
  readonly options?: { readonly connectionTimeoutMillis?: number | undefined }
}

/** A function that takes a connection from `pool`, failing with PoolExhaustedError after `timeoutMs`. */
export function boundedConnect<C extends { release(): void }>(
  pool: AcquirePool<C>,
  timeoutMs: number,
): () => Promise<C> {
  // The pool bounds the wait itself: hand its promise on as it is (no extra layer on every query).
  if (pool.options?.connectionTimeoutMillis) return () => pool.connect()
  const waits = new AcquireWaits<C>(timeoutMs)
  return () => waits.connect(pool)
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

  connect(pool: AcquirePool<C>): Promise<C> {
    let wait: Wait<C> | undefined
    const answer = new Promise<C>((resolve, reject) => {
      wait = { deadline: performance.now() + this.#timeoutMs, resolve, reject, expired: false }
    })
    const w = wait as Wait<C>
    this.#waits.add(w)
    if (this.#timer === undefined) this.#arm(this.#timeoutMs)
    else if (this.#waits.size === 1) this.#timer.ref()
    pool.connect().then(
      (client) => {
        if (w.expired) {
          client.release()
          return
        }
        this.#leave(w)
        w.resolve(client)
      },
      (err: unknown) => {
        if (w.expired) return
        this.#leave(w)
        w.reject(err)
      },
    )
    return answer
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
