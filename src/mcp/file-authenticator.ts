/**
 * An authenticator over an auth file that follows the file: before each authentication it compares the file's
 * modification stamp (one `stat`), and when the file changed it is read, validated and swapped in whole. So a
 * key revoked with `tessera api-key revoke` is refused on its next call, and a new key works, with no restart.
 * A file that no longer loads refuses every credential until it loads again (fail closed): a broken edit must
 * not leave a revoked key working.
 */
import { statSync } from 'node:fs'
import { loadAuthConfig, type AuthConfig } from './auth-config.ts'
import {
  authenticationRequired,
  createAuthenticator,
  type Authenticated,
  type Authenticator,
} from './authenticator.ts'
import type { RateLimit } from './call-gate.ts'

export interface FileAuthenticator extends Authenticator {
  /** The configuration as last loaded successfully. */
  readonly config: AuthConfig
}

/**
 * Synchronous on purpose: the stamp is read on every authentication, and a promise `stat` costs ~20 µs of
 * main-thread CPU plus a thread-pool round trip (profiled at 8% of the HTTP server's time in
 * bench/mcp-bench.ts) where a local file's metadata read costs ~2 µs.
 */
function stampOf(path: string): string {
  try {
    const s = statSync(path, { bigint: true, throwIfNoEntry: false })
    return s === undefined ? 'missing' : `${s.ino}:${s.size}:${s.mtimeNs}:${s.ctimeNs}`
  } catch {
    return 'missing'
  }
}

export async function createFileAuthenticator(
  path: string,
  options: { baseDir?: string; onReload?: (error: unknown) => void } = {},
): Promise<FileAuthenticator> {
  let stamp = stampOf(path)
  let config = await loadAuthConfig(path)
  let current: Authenticator | undefined = await createAuthenticator(config, options.baseDir)
  // One map, updated in place: the call gate holds on to it.
  const rateOverrides = new Map<string, RateLimit>(current.rateOverrides)
  let reloading: Promise<void> | undefined

  const reload = async (seen: string): Promise<void> => {
    try {
      const next = await loadAuthConfig(path)
      const authenticator = await createAuthenticator(next, options.baseDir)
      config = next
      current = authenticator
      rateOverrides.clear()
      for (const [key, limit] of authenticator.rateOverrides) rateOverrides.set(key, limit)
      options.onReload?.(undefined)
    } catch (error) {
      current = undefined
      options.onReload?.(error)
    } finally {
      // The stamp read before loading: a write during the load changes it again and triggers another reload.
      stamp = seen
    }
  }

  return {
    rateOverrides,
    get config() {
      return config
    },
    async authenticate(token: string): Promise<Authenticated> {
      const seen = stampOf(path)
      if (seen !== stamp) {
        reloading ??= reload(seen).finally(() => {
          reloading = undefined
        })
        await reloading
      }
      if (current === undefined) throw authenticationRequired()
      return current.authenticate(token)
    },
  }
}
