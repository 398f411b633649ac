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
  MAX_NUMERIC_LENGTH,
  UUID_PATTERN,
  isIsoTimestamp,
  isIsoTime,
  coerceFilterValue,
  escapeLikePattern,
  likePatternFor,
} from './coerce-value.ts'
