/**
 * Tessera's public API. Explicit named exports only: anything not listed here is internal and may change.
 * Optional parts live at subpaths (see package.json "exports").
 */
export { createToolset } from './create-toolset-with-rls.ts'
export { createTesseraLogger, toOpenAITools, toAnthropicTools, toVercelAITools } from './tools/index.ts'
export type {
  Toolset,
  ToolsetOptions,
  ToolResult,
  ToolDefinition,
  DataApi,
  DomainToolSpec,
  SchemaDescription,
  DescribedModel,
  DescribedField,
  QueryResult,
  GetResult,
  AggregateResult,
  BulkUpdateResult,
  DeleteResult,
  RowResult,
  AuditFailureMode,
  TesseraLoggerOptions,
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
} from './tools/index.ts'
export type {
  AggregatableField,
  AllowedField,
  GroupableField,
  IncludedValue,
  ReadableField,
  TypedAggregateArgs,
  TypedAggregateResult,
  TypedInclude,
  TypedResultRow,
  TypedFilter,
  TypedGetArgs,
  TypedQueryArgs,
  TypedRow,
  TypedToolset,
  TypedToolsetOptions,
  TypedBulkUpdateArgs,
  TypedCreateArgs,
  TypedDeleteArgs,
  TypedUpdateArgs,
  TypedWriteData,
  WritableField,
} from './tools/index.ts'
export type { EnforcementMode } from './executor/index.ts'
export {
  MemoryApprovalStore,
  PostgresApprovalStore,
  ensureApprovalTable,
  approvalTableSql,
  DEFAULT_APPROVAL_TTL_MS,
} from './stores/index.ts'
export type {
  ApprovalStore,
  Approval,
  ApprovalFilter,
  ApprovalStatus,
  ConsumeResult,
} from './stores/index.ts'

export {
  definePolicy,
  loadPolicyFile,
  bindPolicy,
  PolicyBuilder,
  profiles,
  policyInputSchema,
} from './policy/index.ts'
export type { Policy, PolicyInput, BoundPolicy, Budget, FieldAction, Profile } from './policy/index.ts'
export type { ColumnOf, TableOf, TypedPolicy, TypedPolicyInput } from './policy/index.ts'

export { runWithContext, currentContext, requireContext, parseRunContext } from './context/index.ts'
export type { Principal, RunContext } from './context/index.ts'

export { TesseraError, ERROR_CODES, isTesseraError } from './errors/index.ts'
export type { ErrorCode, SerializedError } from './errors/index.ts'

export {
  MemoryAuditStore,
  JsonlAuditStore,
  PostgresAuditStore,
  ensureAuditTables,
  auditTableSql,
  verifyAuditChain,
} from './stores/index.ts'
export type {
  AuditStore,
  AuditReservation,
  AuditRecord,
  AuditQuery,
  AuditFilter,
  AuditVerification,
  AuditDurability,
  PostgresAuditStoreOptions,
  RetentionResult,
} from './stores/index.ts'

export { introspectSchema } from './schema/index.ts'
export type { DbSchema, TableInfo, ColumnInfo } from './schema/index.ts'

export { createTesseraDialect, createPgliteDatabase, createPostgresDatabase } from './executor/index.ts'
