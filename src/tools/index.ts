/**
 * Tool exposure: createToolset binds the policy to the live schema and exposes the tools as typed methods,
 * through `call` (never throws) and as per-principal definitions (`tools(ctx)`); every call is audited.
 */
export { createToolset } from './create-toolset.ts'
export type {
  RlsPostureGate,
  Toolset,
  ToolsetOptions,
  ToolResult,
  TypedToolset,
  TypedToolsetOptions,
} from './create-toolset.ts'
export type {
  AggregatableField,
  AggregateValue,
  AllowedField,
  GroupableField,
  IncludedRows,
  IncludedValue,
  ReadableField,
  RelationName,
  TypedAggregateArgs,
  TypedAggregateResult,
  TypedInclude,
  TypedIncludeOptions,
  TypedOrderBy,
  TypedResultRow,
  TypedFilter,
  TypedGetArgs,
  TypedQueryArgs,
  TypedReads,
  TypedRow,
  TypedBulkUpdateArgs,
  TypedCreateArgs,
  TypedDeleteArgs,
  TypedUpdateArgs,
  TypedWriteData,
  TypedWrites,
  WritableField,
} from './typed-toolset.ts'
export type { ToolDefinition, ToolAnnotations } from './tool-definitions.ts'
export { TOOL_NAMES, TOOL_KEYS, GENERIC_TOOL_PREFIX, toolKeyOf } from './tool-names.ts'
export type { ToolKey, ToolName } from './tool-names.ts'
export { TOOLS, TOOL_RECORDS, toolRecordOf, toolDefinitions } from './tool-registry.ts'
export type { NarrowedInput, ToolMethods, ToolRecord, Tools } from './tool-registry.ts'
export { toolView } from './narrow-input.ts'
export type { ToolView } from './narrow-input.ts'
export type { SchemaDescription, DescribedModel, DescribedField, FieldAccess } from './describe-schema.ts'
export type { QueryResult, GetResult, AggregateResult } from './read-tools.ts'
export type { BulkUpdateResult, DeleteResult, RowResult, WriteResult } from './write-tools.ts'
export { approvalPayloadHash, writesCheckReferencedRows } from './write-tools.ts'
export { createTesseraLogger, LOG_REDACT_PATHS } from './create-logger.ts'
export type { TesseraLoggerOptions } from './create-logger.ts'
export type { AuditFailureMode } from './tool-runtime.ts'
export type { DataApi, DomainToolSpec } from './domain-tool.ts'
export { errorText, renderResult, resultText } from './result-text.ts'
export type { RenderedResult } from './result-text.ts'
export { describeWrite } from './write-preview.ts'
export {
  toOpenAITools,
  toAnthropicTools,
  toVercelAITools,
  AI_SDK_SCHEMA,
  PROVIDER_TOOL_NAME,
} from './provider-tools.ts'
export type {
  AnthropicTool,
  AnthropicToolResult,
  AnthropicTools,
  AnthropicToolUse,
  OpenAIChatTool,
  OpenAIChatToolCall,
  OpenAIFunctionCall,
  OpenAIFunctionCallOutput,
  OpenAIResponsesTool,
  OpenAIToolMessage,
  OpenAITools,
  VercelAISchema,
  VercelAITool,
} from './provider-tools.ts'
