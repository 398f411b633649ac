import { parseRunContext, type RunContext } from '../context/index.ts'
import type { AuditAction } from '../stores/index.ts'
import { appendAudit, auditDraft, failCall, logCall, startCall } from './call-audit.ts'
import type { CallScope, ToolRuntime } from './tool-runtime.ts'

/**
 * Runs a read-style tool (one that changes nothing): the audit record is appended after the outcome is known.
 * An audit failure turns a successful read into INTERNAL_ERROR: nothing is returned that was not recorded.
 */
export async function runReadTool<T>(
  runtime: ToolRuntime,
  tool: string,
  action: AuditAction,
  rawCtx: unknown,
  args: unknown,
  body: (scope: CallScope) => Promise<T>,
): Promise<T> {
  const call = startCall(runtime, tool, action, rawCtx, args)
  let ctx: RunContext | null = null
  let result: T
  try {
    ctx = parseRunContext(rawCtx)
    result = await body({ ctx, requestId: call.requestId, facts: call.facts })
  } catch (error) {
    throw await failCall(runtime, call, ctx, error)
  }
  const draft = auditDraft(runtime, call, ctx, null)
  await appendAudit(runtime, call, draft)
  logCall(call, draft)
  return result
}
