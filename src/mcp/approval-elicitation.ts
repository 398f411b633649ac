/**
 * Approvals through MCP elicitation: when a write needs approval, the server is configured to let the
 * caller's own user approve (`elicitApprovals`), the principal has a user, and the client declared the
 * elicitation capability, the server asks the person at the client — showing the exact preview of what will
 * change — instead of leaving a pending approval for `tessera approvals`. Accepted: the approval is granted in
 * the approval store under that user's name and the same call runs once with its approvalId (checked, bound
 * and audited by the toolset as any approved write). Declined: the approval is rejected and the call returns
 * the toolset's refusal. Cancelled, timed out, or a client that cannot answer (stateless HTTP carries no
 * server-to-client request): the ordinary pending-approval result, so `tessera approvals approve` still works.
 */
import type { Server } from '@modelcontextprotocol/sdk/server/index.js'
import type { RunContext } from '../context/index.ts'
import type { SerializedError } from '../errors/index.ts'
import type { Toolset, ToolResult } from '../tools/index.ts'

/** How long a person has to answer before the call falls back to a pending approval. */
export const ELICITATION_TIMEOUT_MS = 5 * 60_000

/** A constant: the server's shared validator compiles it once (the preview travels in the message). */
const APPROVAL_SCHEMA: {
  type: 'object'
  properties: { approve: { type: 'boolean'; title: string } }
  required: string[]
} = {
  type: 'object',
  properties: { approve: { type: 'boolean', title: 'Approve this change' } },
  required: ['approve'],
}

export interface ElicitationOutcome {
  /** The result to return instead of the approval-required error, or undefined to return that error. */
  readonly result: ToolResult | undefined
}

/** True when this call may be approved by asking the client. */
export function canElicit(server: Server, ctx: RunContext, enabled: boolean): boolean {
  return (
    enabled &&
    ctx.principal.userId !== undefined &&
    server.getClientCapabilities()?.elicitation?.form !== undefined
  )
}

export async function approveByElicitation(
  server: Server,
  ctx: RunContext,
  toolset: Toolset,
  tool: string,
  args: unknown,
  error: SerializedError,
): Promise<ElicitationOutcome> {
  const approvalId = error.details['approvalId']
  const userId = ctx.principal.userId
  if (typeof approvalId !== 'string' || userId === undefined) return { result: undefined }
  // The tools layer owns the preview (worded from the stored, redacted arguments the approver sees everywhere
  // else); without one there is nothing safe to show, so the ordinary pending result comes back.
  const preview = error.details['preview']
  if (typeof preview !== 'string') return { result: undefined }
  let answer: Awaited<ReturnType<Server['elicitInput']>>
  try {
    answer = await server.elicitInput(
      {
        mode: 'form',
        message: `Your agent wants to make a change that needs your approval:\n${preview}`,
        requestedSchema: APPROVAL_SCHEMA,
      },
      { timeout: ELICITATION_TIMEOUT_MS },
    )
  } catch {
    return { result: undefined }
  }
  const approver = `${userId} (MCP elicitation)`
  if (answer.action === 'accept' && answer.content?.['approve'] === true) {
    if ((await toolset.approvals.approve(approvalId, approver)) === null) return { result: undefined }
  } else if (answer.action === 'decline' || answer.action === 'accept') {
    if ((await toolset.approvals.reject(approvalId, approver)) === null) return { result: undefined }
  } else {
    return { result: undefined }
  }
  const withId = typeof args === 'object' && args !== null ? { ...args, approvalId } : args
  return { result: await toolset.call(ctx, tool, withId) }
}
