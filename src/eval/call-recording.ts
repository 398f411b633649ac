/**
 * Recording a session's tool calls (issue "record and replay"): a toolset wrapper that writes every `call` —
 * principal, tool, arguments and what came back — as one JSON line, so the session can be replayed under
 * another policy (replay-calls.ts). The outcome is stored as the error code or, for a success, one digest per
 * returned row keyed by the row's primary key when it was returned (else by the digest itself), which is
 * enough to say which rows a policy change adds, removes or alters without keeping the rows' values.
 * Arguments go through the audit's sanitiser first (docs/evals.md "Record and replay"): secrets (a key that
 * looks like one, `api_token`) and values aimed at a field the policy denies, masks or hashes (write data, a
 * filter's operand) are stored as `[REDACTED]`, exactly as the audit store keeps them; nothing is cut, so
 * everything else replays as sent. A recording still holds data the agent wrote; treat it like an audit log.
 */
import { closeSync, openSync, writeSync } from 'node:fs'
import { z } from 'zod'
import { principalSchema, type Principal, type RunContext } from '../context/index.ts'
import { toJsonSafe, type JsonValue } from '../executor/index.ts'
import { canonicalJson, sha256Hex } from '../json/index.ts'
import type { BoundPolicy } from '../policy/index.ts'
import { auditSensitiveFields, sanitizeAuditInput } from '../stores/index.ts'
import type { Toolset, ToolResult } from '../tools/index.ts'
import { resultRows } from './run-suite.ts'

export const RECORDING_VERSION = 1

/** What a call returned, reduced to what a policy change can alter. */
export type RecordedOutcome =
  | {
      readonly ok: true
      /** Row key → digest of the row as returned. */
      readonly rows: Readonly<Record<string, string>>
      /** Digest of the whole result apart from its rows and cursor (counts, describe_schema, …). */
      readonly digest: string
    }
  | { readonly ok: false; readonly code: string }

export interface RecordedCall {
  readonly type: 'call'
  readonly seq: number
  readonly at: string
  readonly principal: Principal
  readonly tool: string
  readonly args: JsonValue
  readonly outcome: RecordedOutcome
}

export interface RecordingHeader {
  readonly type: 'session'
  readonly version: typeof RECORDING_VERSION
  readonly startedAt: string
  /** versionHash of the policy the session ran under. */
  readonly policyVersion: string
}

const outcomeSchema = z.union([
  z.strictObject({ ok: z.literal(true), rows: z.record(z.string(), z.string()), digest: z.string() }),
  z.strictObject({ ok: z.literal(false), code: z.string() }),
])

export const recordedCallSchema = z.strictObject({
  type: z.literal('call'),
  seq: z.int().nonnegative(),
  at: z.string(),
  principal: principalSchema,
  tool: z.string().min(1),
  args: z.json(),
  outcome: outcomeSchema,
})

export const recordingHeaderSchema = z.strictObject({
  type: z.literal('session'),
  version: z.literal(RECORDING_VERSION),
  startedAt: z.string(),
  policyVersion: z.string(),
})

function digest(value: JsonValue): string {
  return sha256Hex(canonicalJson(value)).slice(0, 16)
}

function modelOf(bound: BoundPolicy, args: unknown): BoundPolicy['models'][string] | undefined {
  if (typeof args !== 'object' || args === null) return undefined
  const model = Object.getOwnPropertyDescriptor(args, 'model')?.value
  return typeof model === 'string' && Object.hasOwn(bound.models, model) ? bound.models[model] : undefined
}

/** The outcome of a call as recorded and as compared on replay. */
export function outcomeOf(bound: BoundPolicy, args: unknown, result: ToolResult): RecordedOutcome {
  if (!result.ok) return { ok: false, code: result.error.code }
  const model = modelOf(bound, args)
  const pk = model?.primaryKey ?? []
  const rows: Record<string, string> = {}
  for (const row of resultRows(result.data)) {
    const safe = toJsonSafe(row) as Record<string, JsonValue>
    const rowDigest = digest(safe)
    let key =
      pk.length > 0 && pk.every((c) => Object.hasOwn(safe, c))
        ? JSON.stringify(pk.map((c) => safe[c] ?? null))
        : `row ${rowDigest}`
    // Equal rows without a key: number them, so a multiset of rows stays one.
    for (let n = 2; Object.hasOwn(rows, key); n++) key = `${key.replace(/ #\d+$/, '')} #${n}`
    rows[key] = rowDigest
  }
  const data = toJsonSafe(result.data)
  const rest =
    typeof data === 'object' && data !== null && !Array.isArray(data)
      ? Object.fromEntries(
          // Rows are compared one by one; a cursor is sealed with a fresh IV every time.
          Object.entries(data).filter(([k]) => !['rows', 'row', 'groups', 'nextCursor'].includes(k)),
        )
      : data
  return { ok: true, rows, digest: digest(rest) }
}

/**
 * The arguments as the recording keeps them: JSON-safe, then redacted like audit inputs. `full`, because a
 * recording must replay what was asked — cutting a long filter would change the call (the sanitiser's
 * backstop bounds still apply).
 */
export function recordedArgs(args: unknown, sensitiveFields: ReadonlySet<string>): JsonValue {
  return sanitizeAuditInput(toJsonSafe(args ?? {}), { sensitiveFields, full: true }) as JsonValue
}

/** Where recorded calls go: a JSONL file (`recordingFile`), or a function of your own. */
export interface CallSink {
  record(call: RecordedCall): void
}

/**
 * The toolset with `call` recorded (the path every MCP call takes); everything else is the toolset's own.
 * A Proxy rather than a copy, so members the toolset gains later pass through untouched.
 */
export function recordingToolset(inner: Toolset, sink: CallSink): Toolset {
  let seq = 0
  const sensitiveFields = auditSensitiveFields(inner.bound)
  const call = async (ctx: RunContext, tool: string, args: unknown): Promise<ToolResult> => {
    const result = await inner.call(ctx, tool, args)
    seq += 1
    sink.record({
      type: 'call',
      seq,
      at: new Date().toISOString(),
      principal: ctx.principal,
      tool,
      args: recordedArgs(args, sensitiveFields),
      outcome: outcomeOf(inner.bound, args, result),
    })
    return result
  }
  return new Proxy(inner, {
    get(target, prop) {
      if (prop === 'call') return call
      const value: unknown = Reflect.get(target, prop, target)
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value
    },
  })
}

/** Appends calls to a JSONL file, after a header line naming the policy version. Synchronous: order is kept. */
export function recordingFile(path: string, bound: BoundPolicy): CallSink & { close(): void } {
  const fd = openSync(path, 'a')
  const header: RecordingHeader = {
    type: 'session',
    version: RECORDING_VERSION,
    startedAt: new Date().toISOString(),
    policyVersion: bound.policy.versionHash,
  }
  writeSync(fd, `${JSON.stringify(header)}\n`)
  let open = true
  return {
    record(call) {
      if (open) writeSync(fd, `${JSON.stringify(call)}\n`)
    },
    close() {
      if (!open) return
      open = false
      closeSync(fd)
    },
  }
}
