/**
 * The tool-call DSL (docs/contract.md §4): raw arguments → typed, frozen requests. Input guard first (limits, prototype
 * keys, non-JSON values), then the strict zod schemas (which also define the wire format and the tools' JSON
 * Schemas), then normalisation; a hand-written fast path for the common shapes is held to the schema path by a
 * differential test. Values are type-checked against column types here (coerce-value), before any SQL exists.
 */
export { guardInput, DEFAULT_INPUT_LIMITS } from './input-guard.ts'
export type { InputLimits } from './input-guard.ts'
export { formatPath, describePath } from './request-path.ts'
export type { PathSegment } from './request-path.ts'
export {
  IDENTIFIER_PATTERN,
  identifierSchema,
  SCALAR_OPS,
  PATTERN_OPS,
  LIST_OPS,
  FILTER_OPS,
  scalarSchema,
  comparisonSchema,
  filterSchema,
  normalizeFilter,
} from './filter-schema.ts'
export type {
  ScalarOp,
  PatternOp,
  ListOp,
  FilterOp,
  Scalar,
  ComparisonInput,
  FilterInput,
  FilterValue,
  FilterNode,
} from './filter-schema.ts'
export {
  ORDER_DIRECTIONS,
  AGGREGATE_OPS,
  orderBySchema,
  includeSchema,
  queryRequestSchema,
  getRequestSchema,
  aggregateRequestSchema,
  describeSchemaRequestSchema,
  normalizeOrderBy,
  parseQueryRequest,
  parseGetRequest,
  parseAggregateRequest,
  parseDescribeSchemaRequest,
  parseRequest,
  parseRequestWithSchema,
} from './request-schema.ts'
export type {
  OrderDirection,
  AggregateOp,
  IncludeOptionsInput,
  IncludeInput,
  QueryRequestInput,
  GetRequestInput,
  AggregateRequestInput,
  DescribeSchemaRequestInput,
  OrderByItem,
  IncludeRequest,
  QueryRequest,
  IdValue,
  GetRequest,
  AggregateRequest,
  DescribeSchemaRequest,
  RequestKinds,
  RequestKind,
} from './request-schema.ts'
export { zodErrorToValidationError, zodIssuesToValidationIssues } from './zod-issues.ts'
export {
  MAX_PATTERN_LENGTH,
  MAX_UNANCHORED_PATTERN_LENGTH,
  MAX_NUMERIC_LENGTH,
  UUID_PATTERN,
  isIsoTimestamp,
  isIsoTime,
  coerceFilterValue,
} from './coerce-value.ts'
export { coerceWriteValue } from './coerce-write-value.ts'
export { visibleLetterCount } from './visible-characters.ts'
export {
  BULK_HARD_CAP,
  MAX_APPROVAL_ID_LENGTH,
  MAX_REASON_LENGTH,
  approvalPayload,
  bulkUpdateRequestSchema,
  createRequestSchema,
  deleteRequestSchema,
  parseWriteRequest,
  updateRequestSchema,
} from './write-request-schema.ts'
export type {
  BulkUpdateRequest,
  CreateRequest,
  DeleteRequest,
  JsonInput,
  UpdateRequest,
  WriteData,
  WriteId,
  WriteKind,
  WriteRequest,
  WriteRequests,
} from './write-request-schema.ts'
