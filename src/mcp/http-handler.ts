/**
 * The HTTP face of the MCP server: stateless Streamable HTTP at `/mcp` (JSON responses, a fresh protocol
 * server per request, bound to the principal the request's credentials prove, on the node-native transport
 * in stateless-json-transport.ts), OAuth protected-resource
 * metadata, `/healthz` and `/readyz`. Authentication happens before the body is read; a body larger than the
 * limit is refused without buffering it; no response ever carries a stack or database text.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Logger } from 'pino'
import { isTesseraError, type TesseraError } from '../errors/index.ts'
import type { Authenticated, Authenticator } from './authenticator.ts'
import { authenticationRequired } from './authenticator.ts'
import { StatelessJsonTransport } from './stateless-json-transport.ts'
import type { ProtocolServerFactory } from './stdio-transport.ts'

export const MCP_PATH = '/mcp'
export const RESOURCE_METADATA_PATH = '/.well-known/oauth-protected-resource'
export const DEFAULT_MAX_BODY_BYTES = 1024 * 1024

export interface HttpHandlerOptions {
  readonly protocolServer: ProtocolServerFactory
  /** Undefined only in dev mode, where `devIdentity` is used for every request. */
  readonly authenticator: Authenticator | undefined
  readonly devIdentity: Authenticated | undefined
  readonly resource: { url?: string; authorizationServers: readonly string[]; scopes: readonly string[] }
  readonly maxBodyBytes: number
  readonly ready: () => Promise<boolean>
  readonly logger: Logger
  readonly isClosing: () => boolean
}

export type HttpHandler = (req: IncomingMessage, res: ServerResponse) => Promise<void>

export function createHttpHandler(options: HttpHandlerOptions): HttpHandler {
  return async (req, res) => {
    try {
      await route(options, req, res)
    } catch (error) {
      options.logger.error({ err: error }, 'http request failed')
      if (!res.headersSent) sendJson(res, 500, { error: 'internal_error' })
      else res.end()
    }
  }
}

async function route(options: HttpHandlerOptions, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://localhost')
  const path = url.pathname
  if (path === '/healthz') return sendJson(res, 200, { status: 'ok' })
  if (path === '/readyz') {
    const ok = !options.isClosing() && (await options.ready().catch(() => false))
    return sendJson(res, ok ? 200 : 503, { status: ok ? 'ready' : 'unavailable' })
  }
  if (path === RESOURCE_METADATA_PATH || path === `${RESOURCE_METADATA_PATH}${MCP_PATH}`) {
    return sendJson(res, 200, {
      resource: options.resource.url ?? `${baseUrl(req)}${MCP_PATH}`,
      authorization_servers: options.resource.authorizationServers,
      scopes_supported: options.resource.scopes,
      bearer_methods_supported: ['header'],
    })
  }
  if (path !== MCP_PATH) return sendJson(res, 404, { error: 'not_found' })
  if (options.isClosing()) return sendJson(res, 503, { error: 'shutting_down' })
  if (req.method !== 'POST') {
    // Stateless: no server-initiated stream (GET) and no session to delete (DELETE).
    res.setHeader('Allow', 'POST')
    return sendJson(res, 405, {
      jsonrpc: '2.0',
      error: { code: -32000, message: 'Method not allowed' },
      id: null,
    })
  }

  // Dev mode answers without credentials, so a web page must not reach it: through DNS rebinding a page on
  // attacker.example talks to 127.0.0.1 as a same-origin site. Only loopback Host and Origin get through.
  if (options.authenticator === undefined && !fromLoopback(req)) {
    return sendJson(res, 403, {
      jsonrpc: '2.0',
      error: { code: -32000, message: 'Forbidden: a dev server answers loopback hosts and origins only' },
      id: null,
    })
  }

  let identity: Authenticated
  try {
    identity = await authenticate(options, req)
  } catch (error) {
    const refused = isTesseraError(error) ? error : authenticationRequired()
    return unauthorized(options, req, res, refused, req.headers.authorization !== undefined)
  }

  const body = await readBody(req, options.maxBodyBytes)
  if (body === 'too-large') {
    res.setHeader('Connection', 'close')
    return sendJson(res, 413, {
      jsonrpc: '2.0',
      error: { code: -32600, message: 'Request body too large' },
      id: null,
    })
  }
  let parsed: unknown
  try {
    parsed = JSON.parse(body)
  } catch {
    return sendJson(res, 400, { jsonrpc: '2.0', error: { code: -32700, message: 'Parse error' }, id: null })
  }

  // Stateless: every request stands alone with its own credentials and its own protocol server.
  const server = options.protocolServer({ principal: identity.principal }, identity.rateKey)
  const transport = new StatelessJsonTransport(req, res)
  res.on('close', () => {
    // The client went away before its answer: abort the handlers still running. After an answer nothing is
    // in flight, and closing would only build the SDK's "Connection closed" error (a stack trace) per request.
    if (!transport.answered) void server.close()
  })
  await server.connect(transport)
  transport.handle(parsed)
}

async function authenticate(options: HttpHandlerOptions, req: IncomingMessage): Promise<Authenticated> {
  if (options.authenticator === undefined) {
    if (options.devIdentity === undefined) throw authenticationRequired()
    return options.devIdentity
  }
  const header = req.headers.authorization
  const match = typeof header === 'string' ? /^Bearer ([^\s]+)$/i.exec(header) : null
  if (match?.[1] === undefined) throw authenticationRequired()
  return options.authenticator.authenticate(match[1])
}

function unauthorized(
  options: HttpHandlerOptions,
  req: IncomingMessage,
  res: ServerResponse,
  error: TesseraError,
  presented: boolean,
): void {
  // RFC 6750 + MCP authorization: point the client at the protected-resource metadata.
  const parts = [`resource_metadata="${baseUrl(req)}${RESOURCE_METADATA_PATH}"`]
  if (presented) parts.push('error="invalid_token"')
  if (options.resource.scopes.length > 0) parts.push(`scope="${options.resource.scopes.join(' ')}"`)
  res.setHeader('WWW-Authenticate', `Bearer ${parts.join(', ')}`)
  sendJson(res, 401, {
    jsonrpc: '2.0',
    error: { code: -32001, message: error.message, data: { code: error.code } },
    id: null,
  })
}

const LOOPBACK_HOSTS: ReadonlySet<string> = new Set(['localhost', '127.0.0.1', '[::1]'])

/** Host (and Origin, when a browser sends one) name this machine's loopback interface. */
function fromLoopback(req: IncomingMessage): boolean {
  const host = req.headers.host
  if (typeof host !== 'string' || !isLoopbackUrl(`http://${host}`)) return false
  const origin = req.headers.origin
  return origin === undefined || isLoopbackUrl(origin)
}

function isLoopbackUrl(text: string): boolean {
  try {
    const url = new URL(text)
    return (url.protocol === 'http:' || url.protocol === 'https:') && LOOPBACK_HOSTS.has(url.hostname)
  } catch {
    return false
  }
}

function baseUrl(req: IncomingMessage): string {
  // The Host header is the client's own view of this server; it only shapes a URL handed back to that client.
  const host =
    typeof req.headers.host === 'string' && /^[A-Za-z0-9.:[\]-]+$/.test(req.headers.host)
      ? req.headers.host
      : 'localhost'
  return `http://${host}`
}

function readBody(req: IncomingMessage, limit: number): Promise<string | 'too-large'> {
  const declared = Number(req.headers['content-length'])
  if (Number.isFinite(declared) && declared > limit) {
    req.resume()
    return Promise.resolve('too-large')
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    let done = false
    req.on('data', (chunk: Buffer) => {
      if (done) return
      size += chunk.length
      if (size > limit) {
        done = true
        chunks.length = 0
        resolve('too-large')
        return
      }
      chunks.push(chunk)
    })
    req.on('end', () => {
      if (!done) resolve(Buffer.concat(chunks).toString('utf8'))
    })
    req.on('error', (err) => {
      if (!done) reject(err)
    })
  })
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body)
  res.writeHead(status, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' })
  res.end(text)
}
