/**
 * Converters for agent frameworks, without depending on them: each takes a toolset and the caller's context and
 * returns the provider's own tool definitions — `toolset.tools(ctx)`, so the same per-principal narrowed JSON
 * Schemas the MCP server lists, domain tools included — and an executor bound to that context. The model picks a
 * tool and its arguments; whom the call acts as was fixed when the tools were converted, and every call goes
 * through `toolset.call` (validated, enforced, audited; it never throws).
 *
 * Shapes are each provider's documented plain objects: OpenAI function tools (Chat Completions and Responses),
 * Anthropic Messages `tools` / `tool_use` / `tool_result`, and the AI SDK's tool set (`jsonSchema()`-style
 * schema object, marked with the AI SDK's global symbol, and `execute`). Results go back as JSON text; errors
 * as the stable code, message and hints, flagged as errors where the provider has a flag.
 */
import type { RunContext } from '../context/index.ts'
import { TesseraError, type SerializedError } from '../errors/index.ts'
import { toJsonSafe } from '../executor/index.ts'
import type { Toolset, ToolResult } from './create-toolset.ts'
import type { ToolDefinition } from './tool-definitions.ts'

/** What every provider accepts as a tool name. */
export const PROVIDER_TOOL_NAME = /^[a-zA-Z0-9_-]{1,64}$/

function definitions(toolset: Toolset, ctx: RunContext): ToolDefinition[] {
  const defs = toolset.tools(ctx)
  for (const def of defs) {
    // Generic and domain tool names already match; a definition that did not would be refused by the provider.
    if (!PROVIDER_TOOL_NAME.test(def.name)) throw new TesseraError('INTERNAL_ERROR', 'Internal error')
  }
  return defs
}

/** The text a model reads for a result: the data as JSON, or the error's code, message and hints. */
export function resultText(result: ToolResult): string {
  if (result.ok) return JSON.stringify(toJsonSafe(result.data))
  return errorText(result.error)
}

function errorText(error: SerializedError): string {
  const lines = [`${error.code}: ${error.message}`, ...error.hints.map((h) => `hint: ${h}`)]
  lines.push(JSON.stringify({ error: toJsonSafe(error) }))
  return lines.join('\n')
}

function invalidArguments(message: string): ToolResult {
  return {
    ok: false,
    error: new TesseraError('VALIDATION_ERROR', message, {
      hints: ['Send the tool arguments as one JSON object'],
    }).toJSON(),
  }
}

/** Runs a call whose arguments arrive as JSON text (OpenAI), refusing text that is not one JSON object. */
async function callWithJsonArguments(
  toolset: Toolset,
  ctx: RunContext,
  name: string,
  text: unknown,
): Promise<ToolResult> {
  if (typeof text !== 'string') return invalidArguments('Tool arguments must be a JSON string')
  let args: unknown
  try {
    args = text.trim() === '' ? {} : JSON.parse(text)
  } catch {
    return invalidArguments('Tool arguments are not valid JSON')
  }
  return toolset.call(ctx, name, args)
}

// OpenAI ---------------------------------------------------------------------------------------------------

/** A Chat Completions function tool (`tools: [...]` of `chat.completions.create`). */
export interface OpenAIChatTool {
  type: 'function'
  function: { name: string; description: string; parameters: Record<string, unknown> }
}

/** A Responses API function tool (`tools: [...]` of `responses.create`). */
export interface OpenAIResponsesTool {
  type: 'function'
  name: string
  description: string
  parameters: Record<string, unknown>
  /** The narrowed schemas use optional members and unions, which strict mode refuses. */
  strict: false
}

/** A Chat Completions `tool_calls[]` entry. */
export interface OpenAIChatToolCall {
  id: string
  type?: 'function'
  function: { name: string; arguments: string }
}

/** A Responses API `function_call` output item. */
export interface OpenAIFunctionCall {
  type: 'function_call'
  call_id: string
  name: string
  arguments: string
}

/** The message that answers a Chat Completions tool call. */
export interface OpenAIToolMessage {
  role: 'tool'
  tool_call_id: string
  content: string
}

/** The input item that answers a Responses API function call. */
export interface OpenAIFunctionCallOutput {
  type: 'function_call_output'
  call_id: string
  output: string
}

export interface OpenAITools<T> {
  readonly tools: T[]
  /** Runs one tool call as the bound context; answers in the shape of the call (chat or responses). */
  execute(call: OpenAIChatToolCall): Promise<OpenAIToolMessage>
  execute(call: OpenAIFunctionCall): Promise<OpenAIFunctionCallOutput>
}

export function toOpenAITools(toolset: Toolset, ctx: RunContext): OpenAITools<OpenAIChatTool>
export function toOpenAITools(
  toolset: Toolset,
  ctx: RunContext,
  options: { readonly api: 'chat' },
): OpenAITools<OpenAIChatTool>
export function toOpenAITools(
  toolset: Toolset,
  ctx: RunContext,
  options: { readonly api: 'responses' },
): OpenAITools<OpenAIResponsesTool>
export function toOpenAITools(
  toolset: Toolset,
  ctx: RunContext,
  options: { readonly api: 'chat' | 'responses' } = { api: 'chat' },
): OpenAITools<OpenAIChatTool> | OpenAITools<OpenAIResponsesTool> {
  const defs = definitions(toolset, ctx)
  const execute = async (
    call: OpenAIChatToolCall | OpenAIFunctionCall,
  ): Promise<OpenAIToolMessage | OpenAIFunctionCallOutput> => {
    if ('call_id' in call) {
      const result = await callWithJsonArguments(toolset, ctx, call.name, call.arguments)
      return { type: 'function_call_output', call_id: call.call_id, output: resultText(result) }
    }
    const result = await callWithJsonArguments(toolset, ctx, call.function.name, call.function.arguments)
    return { role: 'tool', tool_call_id: call.id, content: resultText(result) }
  }
  if (options.api === 'responses') {
    const tools: OpenAIResponsesTool[] = defs.map((d) => ({
      type: 'function',
      name: d.name,
      description: d.description,
      parameters: d.inputSchema,
      strict: false,
    }))
    return { tools, execute } as OpenAITools<OpenAIResponsesTool>
  }
  const tools: OpenAIChatTool[] = defs.map((d) => ({
    type: 'function',
    function: { name: d.name, description: d.description, parameters: d.inputSchema },
  }))
  return { tools, execute } as OpenAITools<OpenAIChatTool>
}

// Anthropic ------------------------------------------------------------------------------------------------

/** A Messages API client tool (`tools: [...]` of `messages.create`). */
export interface AnthropicTool {
  name: string
  description: string
  input_schema: Record<string, unknown>
}

/** A `tool_use` content block of an assistant message. */
export interface AnthropicToolUse {
  type?: 'tool_use'
  id: string
  name: string
  input: unknown
}

/** The `tool_result` content block that answers it (sent in the next user message). */
export interface AnthropicToolResult {
  type: 'tool_result'
  tool_use_id: string
  content: string
  is_error?: true
}

export interface AnthropicTools {
  readonly tools: AnthropicTool[]
  execute(block: AnthropicToolUse): Promise<AnthropicToolResult>
}

export function toAnthropicTools(toolset: Toolset, ctx: RunContext): AnthropicTools {
  const tools = definitions(toolset, ctx).map((d) => ({
    name: d.name,
    description: d.description,
    input_schema: d.inputSchema,
  }))
  return {
    tools,
    async execute(block) {
      const result = await toolset.call(ctx, block.name, block.input ?? {})
      return {
        type: 'tool_result',
        tool_use_id: block.id,
        content: resultText(result),
        ...(result.ok ? {} : { is_error: true as const }),
      }
    },
  }
}

// AI SDK (Vercel) ------------------------------------------------------------------------------------------

/** The AI SDK marks its schema objects (`jsonSchema()`) with this global symbol. */
export const AI_SDK_SCHEMA = Symbol.for('vercel.ai.schema')

/** What the AI SDK's `jsonSchema(schema)` returns, as a plain object. */
export interface VercelAISchema {
  readonly [AI_SDK_SCHEMA]: true
  readonly _type: unknown
  readonly jsonSchema: Record<string, unknown>
  /** No client-side validation: `toolset.call` validates (and audits) every call itself. */
  readonly validate: undefined
}

/** One tool of an AI SDK tool set (`tools: { name: tool }` of `generateText` / `streamText`). */
export interface VercelAITool {
  type: 'function'
  description: string
  /** AI SDK 5 and later. */
  inputSchema: VercelAISchema
  /** The same schema under the name AI SDK 4 reads. */
  parameters: VercelAISchema
  /** Returns the data, or `{ error }` with the stable code, message and hints (never throws). */
  execute(input: unknown, options?: unknown): Promise<unknown>
}

export function toVercelAITools(toolset: Toolset, ctx: RunContext): Record<string, VercelAITool> {
  const out: Record<string, VercelAITool> = {}
  for (const d of definitions(toolset, ctx)) {
    const schema: VercelAISchema = Object.freeze({
      [AI_SDK_SCHEMA]: true as const,
      _type: undefined,
      jsonSchema: d.inputSchema,
      validate: undefined,
    })
    const name = d.name
    Object.defineProperty(out, name, {
      enumerable: true,
      value: {
        type: 'function',
        description: d.description,
        inputSchema: schema,
        parameters: schema,
        async execute(input: unknown) {
          const result = await toolset.call(ctx, name, input ?? {})
          return result.ok ? toJsonSafe(result.data) : { error: toJsonSafe(result.error) }
        },
      } satisfies VercelAITool,
    })
  }
  return out
}
