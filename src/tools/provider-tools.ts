/**
 * Converters for agent frameworks, without depending on them: each takes a toolset and the caller's context and
 * returns the provider's own tool definitions — `toolset.tools(ctx)`, so the same per-principal narrowed JSON
 * Schemas the MCP server lists, domain tools included — and an executor bound to that context. The model picks a
 * tool and its arguments; whom the call acts as was fixed when the tools were converted, and every call goes
 * through `toolset.call` (validated, enforced, audited; it never throws).
 *
 * Shapes are each provider's documented plain objects: OpenAI function tools (Chat Completions and Responses),
 * Anthropic Messages `tools` / `tool_use` / `tool_result`, and the AI SDK's tool set (`jsonSchema()`-style
 * schema object, marked with the AI SDK's global symbol, `execute` and `toModelOutput`). What the model reads is
 * the text the MCP server renders (src/tools/result-text.ts): data as JSON with `untrusted` fields inside a
 * nonce delimiter, errors as the stable code, message, hints and approval preview, flagged as errors where the
 * provider has a flag.
 */
import type { RunContext } from '../context/index.ts'
import { TesseraError } from '../errors/index.ts'
import { toJsonSafe } from '../executor/index.ts'
import type { Toolset, ToolResult } from './create-toolset.ts'
import { renderResult, resultText } from './result-text.ts'
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
): Promise<string> {
  if (typeof text !== 'string')
    return resultText(toolset.bound, name, {}, invalidArguments('Tool arguments must be a JSON string'))
  let args: unknown
  try {
    args = text.trim() === '' ? {} : JSON.parse(text)
  } catch {
    return resultText(toolset.bound, name, {}, invalidArguments('Tool arguments are not valid JSON'))
  }
  return resultText(toolset.bound, name, args, await toolset.call(ctx, name, args))
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
      const output = await callWithJsonArguments(toolset, ctx, call.name, call.arguments)
      return { type: 'function_call_output', call_id: call.call_id, output }
    }
    const content = await callWithJsonArguments(toolset, ctx, call.function.name, call.function.arguments)
    return { role: 'tool', tool_call_id: call.id, content }
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
      const input = block.input ?? {}
      const result = await toolset.call(ctx, block.name, input)
      return {
        type: 'tool_result',
        tool_use_id: block.id,
        content: resultText(toolset.bound, block.name, input, result),
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
  /**
   * What the model reads for an `execute` output: the shared text rendering, with `untrusted` fields delimited.
   * AI SDK 6 passes `{ toolCallId, input, output }`, AI SDK 5 the output itself; both are accepted.
   */
  toModelOutput(arg: unknown): VercelAIModelOutput
}

/** The AI SDK's `ToolResultOutput` members this converter produces. */
export type VercelAIModelOutput =
  { readonly type: 'text'; readonly value: string } | { readonly type: 'error-text'; readonly value: string }

export function toVercelAITools(toolset: Toolset, ctx: RunContext): Record<string, VercelAITool> {
  const out: Record<string, VercelAITool> = {}
  // The rendering of each output `execute` returned, looked up by identity when the SDK asks for the model's view.
  const rendered = new WeakMap<object, VercelAIModelOutput>()
  const toModelOutput = (arg: unknown): VercelAIModelOutput => {
    const known = typeof arg === 'object' && arg !== null ? rendered.get(arg) : undefined
    if (known !== undefined) return known
    const output = sdk6Output(arg)
    const again = typeof output === 'object' && output !== null ? rendered.get(output) : undefined
    // An output this converter did not produce (or a primitive) has no model to read the policy from: all of it
    // is wrapped as untrusted data, as a domain tool's output is.
    return again ?? { type: 'text', value: renderResult(toolset.bound, '', undefined, output).text }
  }
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
          const args = input ?? {}
          const result = await toolset.call(ctx, name, args)
          if (!result.ok) {
            const output = { error: toJsonSafe(result.error) }
            rendered.set(output, { type: 'error-text', value: resultText(toolset.bound, name, args, result) })
            return output
          }
          const data = toJsonSafe(result.data)
          const value = renderResult(toolset.bound, name, args, data).text
          if (typeof data === 'object' && data !== null) rendered.set(data, { type: 'text', value })
          return data
        },
        toModelOutput,
      } satisfies VercelAITool,
    })
  }
  return out
}

/** AI SDK 6 hands `toModelOutput` an object holding the output; AI SDK 5 hands the output itself. */
function sdk6Output(arg: unknown): unknown {
  if (typeof arg !== 'object' || arg === null) return arg
  const callId = Object.getOwnPropertyDescriptor(arg, 'toolCallId')?.value
  const output = Object.getOwnPropertyDescriptor(arg, 'output')
  return typeof callId === 'string' && output !== undefined ? output.value : arg
}
