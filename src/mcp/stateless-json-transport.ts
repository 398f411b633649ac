/**
 * One stateless Streamable HTTP POST, answered with JSON, on node's own request and response objects.
 *
 * The SDK's `StreamableHTTPServerTransport` converts every node request into a web `Request` and every answer
 * into a web `Response` (through @hono/node-server, twice per request) and classifies each message with
 * several zod parses; profiled in `bench/mcp-bench.ts` that was most of the per-request cost of the HTTP
 * server besides the tool call itself. This transport keeps the protocol behaviour the SDK's stateless JSON
 * mode has (docs/mcp.md "Streamable HTTP"): 406 unless the client accepts both `application/json` and
 * `text/event-stream`, 415 for another content type, 400 for a message that is not JSON-RPC, a batch over 100
 * messages or with two requests under one id, a second message beside `initialize`, or an unsupported `MCP-Protocol-Version`; 202 for a body of
 * notifications and responses only; otherwise 200 with the responses to the body's requests, in the shape
 * they came (one object or an array), once all of them are ready. Messages the server sends that are not
 * responses (a progress notification, an elicitation request) have no channel in JSON mode and are dropped,
 * as in the SDK. One transport serves exactly one request; the protocol server owning it is built for that
 * request's verified principal (http-handler.ts).
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js'
import {
  JSONRPCMessageSchema,
  SUPPORTED_PROTOCOL_VERSIONS,
  type JSONRPCMessage,
  type MessageExtraInfo,
  type RequestId,
} from '@modelcontextprotocol/sdk/types.js'

/** The SDK's batch limit (MAX_BATCH_SIZE in its server transport). */
export const MAX_BATCH_MESSAGES = 100

type Outcome = { readonly status: number; readonly body: unknown }

export class StatelessJsonTransport implements Transport {
  onclose?: () => void
  onerror?: (error: Error) => void
  onmessage?: (message: JSONRPCMessage, extra?: MessageExtraInfo) => void

  private readonly pending = new Map<RequestId, JSONRPCMessage | undefined>()
  private order: RequestId[] = []
  private batch = false
  private closed = false
  #answered = false

  constructor(
    private readonly req: IncomingMessage,
    private readonly res: ServerResponse,
  ) {}

  async start(): Promise<void> {}

  /** Whether the HTTP answer has been written (then nothing of this request is left in flight). */
  get answered(): boolean {
    return this.#answered
  }

  /**
   * Checks the request and hands its messages to the protocol server. `body` is the parsed JSON the HTTP
   * handler read (after authentication, within its size limit).
   */
  handle(body: unknown): void {
    const refusal = this.refusal(body)
    if (refusal !== undefined) return this.answer(refusal)
    const raw = Array.isArray(body) ? (body as unknown[]) : [body]
    const messages: JSONRPCMessage[] = []
    for (const item of raw) {
      const parsed = JSONRPCMessageSchema.safeParse(item)
      if (!parsed.success)
        return this.answer(jsonRpcError(400, -32700, 'Parse error: Invalid JSON-RPC message'))
      messages.push(parsed.data)
    }
    // Two requests of one batch under one id would share one answer slot: the second call would still run (a
    // write too) while its answer showed the first call's result twice. Refused before anything runs.
    const ids = messages.filter(isRequest).map((m) => m.id)
    if (new Set(ids).size !== ids.length) {
      return this.answer(jsonRpcError(400, -32600, 'Invalid Request: request ids in a batch must be unique'))
    }
    const initialize = messages.some((m) => 'method' in m && m.method === 'initialize')
    if (initialize && messages.length > 1) {
      return this.answer(
        jsonRpcError(400, -32600, 'Invalid Request: Only one initialization request is allowed'),
      )
    }
    if (!initialize) {
      const version = this.req.headers['mcp-protocol-version']
      if (
        version !== undefined &&
        (typeof version !== 'string' || !SUPPORTED_PROTOCOL_VERSIONS.includes(version))
      ) {
        return this.answer(
          jsonRpcError(
            400,
            -32000,
            `Bad Request: Unsupported protocol version: ${String(version)} (supported versions: ${SUPPORTED_PROTOCOL_VERSIONS.join(', ')})`,
          ),
        )
      }
    }
    this.batch = Array.isArray(body)
    for (const m of messages) {
      if (isRequest(m)) {
        this.pending.set(m.id, undefined)
        this.order.push(m.id)
      }
    }
    // Only notifications and responses: accepted, nothing to wait for.
    if (this.order.length === 0) this.answer({ status: 202, body: undefined })
    const extra: MessageExtraInfo = { requestInfo: { headers: this.req.headers } }
    for (const m of messages) this.onmessage?.(m, extra)
  }

  async send(message: JSONRPCMessage): Promise<void> {
    if (this.closed || !('id' in message) || !('result' in message || 'error' in message)) return
    const id = message.id
    if (id === undefined || id === null || !this.pending.has(id)) return
    this.pending.set(id, message)
    for (const id of this.order) if (this.pending.get(id) === undefined) return
    const responses = this.order.map((id) => this.pending.get(id))
    this.answer({ status: 200, body: this.batch ? responses : responses[0] })
  }

  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    this.pending.clear()
    this.order = []
    this.onclose?.()
  }

  private refusal(body: unknown): Outcome | undefined {
    const accept = this.req.headers.accept ?? ''
    // Accept is a list: a substring check is the intended test (the SDK does the same).
    if (!accept.includes('application/json') || !accept.includes('text/event-stream')) {
      return jsonRpcError(
        406,
        -32000,
        'Not Acceptable: Client must accept both application/json and text/event-stream',
      )
    }
    if (!isJsonContentType(this.req.headers['content-type'])) {
      return jsonRpcError(415, -32000, 'Unsupported Media Type: Content-Type must be application/json')
    }
    if (Array.isArray(body) && body.length > MAX_BATCH_MESSAGES) {
      return jsonRpcError(
        400,
        -32600,
        `Invalid Request: Batch must not exceed ${MAX_BATCH_MESSAGES} messages`,
      )
    }
    return undefined
  }

  private answer(outcome: Outcome): void {
    if (this.#answered || this.res.headersSent) return
    this.#answered = true
    if (outcome.body === undefined) {
      this.res.writeHead(outcome.status)
      this.res.end()
      return
    }
    const text = JSON.stringify(outcome.body)
    this.res.writeHead(outcome.status, {
      'Content-Type': 'application/json',
      'Content-Length': Buffer.byteLength(text),
    })
    this.res.end(text)
  }
}

function isRequest(m: JSONRPCMessage): m is JSONRPCMessage & { id: RequestId; method: string } {
  return 'method' in m && 'id' in m
}

function jsonRpcError(status: number, code: number, message: string): Outcome {
  return { status, body: { jsonrpc: '2.0', error: { code, message }, id: null } }
}

/** `application/json`, optionally with parameters (`; charset=utf-8`), case-insensitive; nothing else. */
function isJsonContentType(header: string | undefined): boolean {
  if (header === undefined) return false
  if (header === 'application/json') return true
  const essence = header.split(';', 1)[0]?.trim().toLowerCase()
  return essence === 'application/json'
}
