/**
 * Taking a connection from the pool within a bounded time (docs/threats.md fact 8): pg's default waits forever
 * when the pool was built without `connectionTimeoutMillis`.
 */
import { PoolExhaustedError } from './pool-exhausted-error.ts'

/** What is needed of a pool here (tessera-dialect.ts's TesseraPool is one). */
interface AcquirePool<C extends { release(): void }> {
  connect(): Promise<C>
  readonly options?: { readonly connectionTimeoutMillis?: number | undefined }
}

export function connectWithin<C extends { release(): void }>(
  pool: AcquirePool<C>,
  timeoutMs: number,
): Promise<C> {
  // The pool bounds the wait itself: hand its promise on as it is (no extra async layer on every query).
  if (pool.options?.connectionTimeoutMillis) return pool.connect()
  return connectWithTimer(pool, timeoutMs)
}

async function connectWithTimer<C extends { release(): void }>(
  pool: AcquirePool<C>,
  timeoutMs: number,
): Promise<C> {
  const pending = pool.connect()
  let timer: NodeJS.Timeout | undefined
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new PoolExhaustedError(timeoutMs)), timeoutMs)
  })
  try {
    return await Promise.race([pending, expired])
  } catch (err) {
    if (err instanceof PoolExhaustedError) {
      // The pool still owes us a client: give it straight back when it arrives.
      pending.then(
        (client) => client.release(),
        () => undefined,
      )
    }
    throw err
  } finally {
    clearTimeout(timer)
  }
}
