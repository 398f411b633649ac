/**
 * A toolset result as an MCP `CallToolResult`: `structuredContent` carries the data as plain JSON (no bigint,
 * Date or Buffer survives — the SDK's JSON encoder would throw or change them), and the text rendering shared
 * with the provider converters (src/tools/result-text.ts: `untrusted` fields delimited) serves clients that
 * read only text. Errors are `isError` results with the stable code, message and hints only.
 */
import type { SerializedError } from '../errors/index.ts'
import type { BoundPolicy } from '../policy/index.ts'
import { errorText, renderResult, type ToolResult } from '../tools/index.ts'

export interface CallToolResult {
  [key: string]: unknown
  content: { type: 'text'; text: string }[]
  structuredContent?: Record<string, unknown>
  isError?: boolean
}

export function toCallToolResult(
  bound: BoundPolicy,
  toolName: string,
  args: unknown,
  result: ToolResult,
): CallToolResult {
  if (!result.ok) return errorResult(result.error)
  const { structured, text } = renderResult(bound, toolName, args, result.data)
  return { content: [{ type: 'text', text }], structuredContent: structured }
}

/**
 * Errors carry no `structuredContent`: an SDK client validates structured content against the tool's
 * output schema even on errors.
 */
export function errorResult(error: SerializedError): CallToolResult {
  return { content: [{ type: 'text', text: errorText(error) }], isError: true }
}
