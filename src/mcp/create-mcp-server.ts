/**
 * createMcpServer (`tessera-db/mcp`): the toolset over MCP, on stdio and on stateless Streamable HTTP.
 * Production mode (the default) refuses HTTP without verified auth; `dev` serves one fixed principal and says
 * so loudly on every start. Logs go to stderr through pino, never to stdout (stdio's protocol channel).
 */
import { createServer, type Server as HttpServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Server } from '@modelcontextprotocol/sdk/server/index.js'
import { pino, type Logger } from 'pino'
import { parseRunContext, type Principal, type RunContext } from '../context/index.ts'
import { TesseraError } from '../errors/index.ts'
import { serverVersion } from '../executor/index.ts'
import type { AnyDatabase } from '../schema/index.ts'
import type { Toolset } from '../tools/index.ts'
import type { AuthConfig } from './auth-config.ts'
import { createAuthenticator, type Authenticated, type Authenticator } from './authenticator.ts'
import { createFileAuthenticator } from './file-authenticator.ts'
import { CallGate, type RateLimits } from './call-gate.ts'
import { createHttpHandler, DEFAULT_MAX_BODY_BYTES, MCP_PATH, type HttpHandler } from './http-handler.ts'
import { createProtocolServer } from './protocol-server.ts'
import { serveStdio, type RunningStdio, type StdioOptions } from './stdio-transport.ts'

export interface McpServerOptions {
  readonly toolset: Toolset
  /** Verified credentials for HTTP: the parsed auth file, or your own Authenticator. */
  readonly auth?: AuthConfig | Authenticator
  /**
   * An auth file instead of `auth`: re-read whenever it changes, so a revoked API key is refused on its next
   * call without a restart (rate limits and resource metadata are read once, at start).
   */
  readonly authFile?: string
  /** Development only: HTTP without credentials, every request acting as this principal. */
  readonly dev?: { readonly principal: Principal }
  /**
   * When a write needs approval and the client supports elicitation, ask the caller's own user to approve it
   * (default false: approvals wait for `tessera approvals` or `toolset.approvals`). See approval-elicitation.ts.
   */
  readonly elicitApprovals?: boolean
  /** Rate limits; an AuthConfig's `rateLimits` is used when this is absent. */
  readonly rateLimits?: RateLimits
  /** Database probed by `/readyz`. */
  readonly db?: AnyDatabase
  /**
   * Default: pino at `info` on stderr, written asynchronously (lines written while a write is in flight go out
   * together; pino flushes what is left when the process exits). A synchronous write per tool call cost one
   * system call and a wake-up of the log reader per call.
   */
  readonly logger?: Logger
  readonly name?: string
  readonly version?: string
  /** Largest accepted HTTP request body (default 1 MiB). */
  readonly maxBodyBytes?: number
  /** How long `close()` waits for calls in flight (default 10 s). */
  readonly drainTimeoutMs?: number
  /** Directory relative key files in an AuthConfig are resolved against (default: the working directory). */
  readonly baseDir?: string
}

export interface ListeningServer {
  readonly url: string
  readonly port: number
  close(): Promise<void>
}

export interface TesseraMcpServer {
  /** A protocol server for one context, for transports of your own. */
  protocolServer(ctx: RunContext, rateKey?: string): Server
  /** Serves one principal (from your configuration, never from the client) over stdio. */
  serveStdio(principal: Principal, io?: StdioOptions): Promise<RunningStdio>
  /** Starts a node HTTP server; port 0 picks a free port. */
  listen(options?: { host?: string; port?: number }): Promise<ListeningServer>
  /** The HTTP request handler, to mount on a server of your own. */
  readonly handler: HttpHandler
  /** Stops accepting requests, waits for calls in flight, and closes the HTTP servers it started. */
  close(): Promise<void>
}

export async function createMcpServer(options: McpServerOptions): Promise<TesseraMcpServer> {
  const logger =
    options.logger ??
    pino({ level: 'info', base: { service: 'tessera-mcp' } }, pino.destination({ dest: 2, sync: false }))
  if (options.auth !== undefined && options.authFile !== undefined) {
    throw new TesseraError('VALIDATION_ERROR', 'Give either auth or authFile, not both')
  }
  const fileAuth =
    options.authFile === undefined
      ? undefined
      : await createFileAuthenticator(options.authFile, {
          ...(options.baseDir === undefined ? {} : { baseDir: options.baseDir }),
          onReload: (error) => {
            if (error === undefined) logger.info({ file: options.authFile }, 'auth file reloaded')
            else
              logger.error(
                { file: options.authFile, error: error instanceof Error ? error.message : String(error) },
                'auth file no longer loads: every credential is refused until it does',
              )
          },
        })
  const authConfig =
    fileAuth?.config ??
    (options.auth !== undefined && !isAuthenticator(options.auth) ? options.auth : undefined)
  const authenticator =
    fileAuth ??
    (options.auth === undefined
      ? undefined
      : isAuthenticator(options.auth)
        ? options.auth
        : await createAuthenticator(options.auth, options.baseDir))
  const devIdentity: Authenticated | undefined =
    options.dev === undefined
      ? undefined
      : { principal: parseRunContext({ principal: options.dev.principal }).principal, rateKey: 'dev' }
  if (authenticator !== undefined && devIdentity !== undefined) {
    throw new TesseraError('VALIDATION_ERROR', 'Give either auth or dev, not both')
  }
  const gate = new CallGate(options.rateLimits ?? authConfig?.rateLimits ?? {}, authenticator?.rateOverrides)
  const name = options.name ?? 'tessera'
  const version = options.version ?? '0.1.0'
  const protocolServer = (ctx: RunContext, rateKey = 'local'): Server =>
    createProtocolServer(parseRunContext(ctx), {
      toolset: options.toolset,
      name,
      version,
      gate,
      rateKey,
      elicitApprovals: options.elicitApprovals === true,
    })
  let closing = false
  const httpServers = new Set<HttpServer>()
  const db = options.db
  const handler = createHttpHandler({
    protocolServer,
    authenticator,
    devIdentity,
    resource: {
      ...(authConfig?.resource?.url === undefined ? {} : { url: authConfig.resource.url }),
      authorizationServers: authConfig?.resource?.authorizationServers ?? [],
      scopes: authConfig?.resource?.scopes ?? [],
    },
    maxBodyBytes: options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES,
    ready: async () => {
      if (db !== undefined) await serverVersion(db)
      return Object.keys(options.toolset.bound.models).length > 0
    },
    logger,
    isClosing: () => closing,
  })

  return {
    protocolServer,
    handler,
    async serveStdio(principal, io) {
      const ctx = parseRunContext({ principal })
      logger.info({ tenantId: ctx.principal.tenantId }, 'serving MCP over stdio')
      return serveStdio(protocolServer, ctx, io)
    },
    async listen(listenOptions = {}) {
      if (authenticator === undefined && devIdentity === undefined) {
        throw new TesseraError('AUTHENTICATION_REQUIRED', 'Refusing to serve HTTP without authentication', {
          hints: [
            'Pass auth (API keys or JWT; `tessera serve --auth FILE`), or dev for local development only',
          ],
        })
      }
      if (devIdentity !== undefined) {
        logger.warn(
          { tenantId: devIdentity.principal.tenantId },
          'DEV MODE: HTTP without authentication, every request acts as one fixed principal. Never expose this server.',
        )
      }
      const http = createServer((req, res) => void handler(req, res))
      // Slow or idle clients must not hold sockets forever.
      http.requestTimeout = 30_000
      http.headersTimeout = 10_000
      await new Promise<void>((resolve, reject) => {
        http.once('error', reject)
        http.listen(listenOptions.port ?? 0, listenOptions.host ?? '127.0.0.1', () => resolve())
      })
      httpServers.add(http)
      const address = http.address() as AddressInfo
      const host = address.family === 'IPv6' ? `[${address.address}]` : address.address
      const url = `http://${host}:${address.port}${MCP_PATH}`
      logger.info({ url }, 'serving MCP over Streamable HTTP')
      return {
        url,
        port: address.port,
        close: () => closeHttp(http, httpServers),
      }
    },
    async close() {
      closing = true
      await Promise.all([...httpServers].map((h) => closeHttp(h, httpServers)))
      await gate.drain(options.drainTimeoutMs ?? 10_000)
    },
  }
}

function isAuthenticator(auth: AuthConfig | Authenticator): auth is Authenticator {
  return typeof (auth as { authenticate?: unknown }).authenticate === 'function'
}

async function closeHttp(http: HttpServer, servers: Set<HttpServer>): Promise<void> {
  if (!servers.delete(http)) return
  await new Promise<void>((resolve) => {
    http.close(() => resolve())
    // Keep-alive sockets with no request in flight would hold close() open.
    http.closeIdleConnections()
  })
}
