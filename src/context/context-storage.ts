/**
 * AsyncLocalStorage helpers for middleware and domain tools. Toolset methods still take `ctx` explicitly:
 * an ambient context is convenient, but a security decision must never depend on which async chain ran.
 */
import { AsyncLocalStorage } from 'node:async_hooks'
import { TesseraError } from '../errors/index.ts'
import { parseRunContext, type RunContext } from './principal.ts'

const storage = new AsyncLocalStorage<RunContext>()

export function runWithContext<T>(ctx: RunContext, fn: () => T): T {
  return storage.run(parseRunContext(ctx), fn)
}

export function currentContext(): RunContext | undefined {
  return storage.getStore()
}

export function requireContext(): RunContext {
  const ctx = storage.getStore()
  if (!ctx) {
    throw new TesseraError('TENANT_SCOPE_REQUIRED', 'No run context is active', {
      hints: ['Wrap the call in runWithContext(ctx, fn)'],
    })
  }
  return ctx
}
