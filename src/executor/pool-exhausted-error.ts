/**
 * Raised by the Tessera dialect when no connection could be acquired in time. It is an internal condition:
 * the executor maps it to INTERNAL_ERROR (the caller learns nothing about the pool), and logs it.
 */
export class PoolExhaustedError extends Error {
  override readonly name = 'PoolExhaustedError'
  readonly reason = 'pool exhausted'
  readonly timeoutMs: number

  constructor(timeoutMs: number) {
    super(`pool exhausted: no connection within ${timeoutMs} ms`)
    this.timeoutMs = timeoutMs
  }
}

export function isPoolExhaustedError(err: unknown): err is PoolExhaustedError {
  return err instanceof PoolExhaustedError
}
