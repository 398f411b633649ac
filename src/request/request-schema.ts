/**
 * The read tools' requests (docs/contract.md §4) as strict zod schemas, and `parseRequest`, the one way raw tool
 * arguments become typed requests: input guard first (limits, prototype keys, non-JSON values), then zod
 * (shape, identifiers, operators), then normalisation into frozen plain data the planner reads.
 *
 * The schemas have no transforms, so they also describe the wire format (JSON Schema for tool definitions).
 */
import { z } from 'zod'
import { guardInput, type InputLimits } from './input-guard.ts'
import {
  filterSchema,
  identifierSchema,
  normalizeFilter,
  type FilterInput,
  type FilterNode,
} from './filter-schema.ts'
import {
  parseSimpleAggregateRequest,
  parseSimpleGetRequest,
  parseSimpleQueryRequest,
} from './simple-request.ts'
import { zodErrorToValidationError } from './zod-issues.ts'

export const ORDER_DIRECTIONS = ['asc', 'desc'] as const
export type OrderDirection = (typeof ORDER_DIRECTIONS)[number]

export const AGGREGATE_OPS = ['count', 'sum', 'avg', 'min', 'max'] as const
export type AggregateOp = (typeof AGGREGATE_OPS)[number]

/**
 * The names a read request may use, as schemas: the wire format takes any identifier; the tools' narrowed
 * schemas (src/tools/narrow-input.ts) take enums of one model's fields and relations. Both are built by the
 * factories below, so a narrowed schema has the wire format's structure with fewer names in it.
 */
export interface ReadNames {
  /** A field that may be selected. */
  readonly select: z.ZodType<string, string>
  readonly filter: z.ZodType<FilterInput, FilterInput>
  /** A field that may be ordered by. */
  readonly order: z.ZodType<string, string>
  readonly include: z.ZodType<IncludeInput, IncludeInput>
}

export function orderBySchemaOver(field: z.ZodType<string, string>) {
  return z.union(
    [
      field,
      z.strictObject({
        field,
        direction: z.enum(ORDER_DIRECTIONS, { error: "direction must be 'asc' or 'desc'" }).optional(),
      }),
    ],
    { error: "must be a field name or { field, direction: 'asc' | 'desc' }" },
  )
}

export const orderBySchema = orderBySchemaOver(identifierSchema)

export function selectSchemaOver(field: z.ZodType<string, string>) {
  return z.array(field, { error: 'must be an array of field names' }).min(1)
}

export function orderByListSchemaOver(field: z.ZodType<string, string>) {
  return z.array(orderBySchemaOver(field), { error: 'must be an array of orderings' })
}

export const limitSchema = z
  .number({ error: 'must be an integer' })
  .int('must be an integer')
  .min(1, 'must be at least 1')
export const cursorSchema = z.string({ error: 'must be a string' }).min(1)

export interface IncludeOptionsInput {
  select?: string[] | undefined
  where?: FilterInput | undefined
  orderBy?: z.input<typeof orderBySchema>[] | undefined
  limit?: number | undefined
  include?: IncludeInput | undefined
}
export type IncludeInput = Record<string, true | IncludeOptionsInput>

/** What an included relation may ask of its target: `true`, or these options over the target's names. */
export function includeOptionsSchemaOver(names: ReadNames) {
  return z.strictObject({
    select: selectSchemaOver(names.select).optional(),
    where: names.filter.optional(),
    orderBy: orderByListSchemaOver(names.order).optional(),
    limit: limitSchema.optional(),
    include: names.include.optional(),
  })
}

export const INCLUDE_VALUE_ERROR = 'must be true or { select, where, orderBy, limit, include }'

let includeRecord: z.ZodType<IncludeInput, IncludeInput> | undefined
// Built once, like filterSchemaOver's union: zod may call a lazy getter many times.
export const includeSchema: z.ZodType<IncludeInput, IncludeInput> = z.lazy(
  () =>
    (includeRecord ??= z.record(
      identifierSchema,
      z.union([z.literal(true), includeOptionsSchemaOver(ANY_NAMES)], { error: INCLUDE_VALUE_ERROR }),
      { error: 'must be an object: { relationName: true | { ... } }' },
    )),
)

/** The wire format's names: any identifier. */
const ANY_NAMES: ReadNames = {
  select: identifierSchema,
  filter: filterSchema,
  order: identifierSchema,
  include: includeSchema,
}

export function queryRequestSchemaOver(model: z.ZodType<string, string>, names: ReadNames) {
  return z.strictObject({
    model,
    select: selectSchemaOver(names.select).optional(),
    where: names.filter.optional(),
    orderBy: orderByListSchemaOver(names.order).optional(),
    limit: limitSchema.optional(),
    cursor: cursorSchema.optional(),
    include: names.include.optional(),
  })
}

export const queryRequestSchema = queryRequestSchemaOver(identifierSchema, ANY_NAMES)

const idValueSchema = z.union([z.string().min(1), z.number().int()], {
  error: 'must be a non-empty string or an integer',
})

export const idSchema = z.union(
  [
    idValueSchema,
    z
      .record(identifierSchema, idValueSchema)
      .refine((key) => Object.keys(key).length > 0, 'a composite id needs at least one field'),
  ],
  { error: 'must be a string, an integer, or { field: value, ... } for a composite key' },
)

export function getRequestSchemaOver(model: z.ZodType<string, string>, names: ReadNames) {
  return z.strictObject({
    model,
    id: idSchema,
    select: selectSchemaOver(names.select).optional(),
    include: names.include.optional(),
  })
}

export const getRequestSchema = getRequestSchemaOver(identifierSchema, ANY_NAMES)

/** The names an aggregate may use: aggregated fields, filter, group keys; and the operations offered. */
export interface AggregateNames {
  readonly ops: readonly [AggregateOp, ...AggregateOp[]]
  readonly field: z.ZodType<string, string>
  readonly filter: z.ZodType<FilterInput, FilterInput>
  readonly group: z.ZodType<string, string>
}

export function aggregateRequestSchemaOver(model: z.ZodType<string, string>, names: AggregateNames) {
  return z
    .strictObject({
      model,
      op: z.enum(names.ops, { error: `op must be one of ${AGGREGATE_OPS.join(', ')}` }),
      field: names.field.optional(),
      where: names.filter.optional(),
      groupBy: z.array(names.group, { error: 'must be an array of field names' }).min(1).optional(),
    })
    .superRefine(aggregateFieldRequired)
}

/** Every aggregate but `count` names a field (a refinement: JSON Schema cannot say it). */
export function aggregateFieldRequired(
  request: { op?: unknown; field?: unknown },
  ctx: z.RefinementCtx,
): void {
  if (request.op !== 'count' && request.field === undefined) {
    ctx.addIssue({
      code: 'custom',
      path: ['field'],
      message: `field is required for '${String(request.op)}'`,
    })
  }
}

export const aggregateRequestSchema = aggregateRequestSchemaOver(identifierSchema, {
  ops: AGGREGATE_OPS,
  field: identifierSchema,
  filter: filterSchema,
  group: identifierSchema,
})

export function describeSchemaRequestSchemaOver(model: z.ZodType<string, string>) {
  return z.strictObject({ model: model.optional() })
}

export const describeSchemaRequestSchema = describeSchemaRequestSchemaOver(identifierSchema)

export type QueryRequestInput = z.input<typeof queryRequestSchema>
export type GetRequestInput = z.input<typeof getRequestSchema>
export type AggregateRequestInput = z.input<typeof aggregateRequestSchema>
export type DescribeSchemaRequestInput = z.input<typeof describeSchemaRequestSchema>

// Normalised requests: what parseRequest returns and the planner reads. Deeply frozen.

export interface OrderByItem {
  readonly field: string
  readonly direction: OrderDirection
}

export interface IncludeRequest {
  readonly select?: readonly string[]
  readonly where?: FilterNode
  readonly orderBy?: readonly OrderByItem[]
  readonly limit?: number
  /** Own properties only (built with Object.fromEntries); look relations up with Object.hasOwn. */
  readonly include?: Readonly<Record<string, IncludeRequest>>
}

export interface QueryRequest extends IncludeRequest {
  readonly model: string
  readonly cursor?: string
}

export type IdValue = string | number

export interface GetRequest {
  readonly model: string
  readonly id: IdValue | Readonly<Record<string, IdValue>>
  readonly select?: readonly string[]
  readonly include?: Readonly<Record<string, IncludeRequest>>
}

export interface AggregateRequest {
  readonly model: string
  readonly op: AggregateOp
  readonly field?: string
  readonly where?: FilterNode
  readonly groupBy?: readonly string[]
}

export interface DescribeSchemaRequest {
  readonly model?: string
}

export interface RequestKinds {
  readonly query: QueryRequest
  readonly get: GetRequest
  readonly aggregate: AggregateRequest
  readonly describeSchema: DescribeSchemaRequest
}
export type RequestKind = keyof RequestKinds

const REQUEST_SCHEMAS = {
  query: queryRequestSchema,
  get: getRequestSchema,
  aggregate: aggregateRequestSchema,
  describeSchema: describeSchemaRequestSchema,
} as const

const REQUEST_NAMES: Readonly<Record<RequestKind, string>> = {
  query: 'query request',
  get: 'get request',
  aggregate: 'aggregate request',
  describeSchema: 'describe_schema request',
}

export function normalizeOrderBy(items: readonly z.input<typeof orderBySchema>[]): readonly OrderByItem[] {
  return Object.freeze(
    items.map((item) =>
      Object.freeze(
        typeof item === 'string'
          ? { field: item, direction: 'asc' as const }
          : { field: item.field, direction: item.direction ?? 'asc' },
      ),
    ),
  )
}

function normalizeInclude(include: IncludeInput): Readonly<Record<string, IncludeRequest>> {
  // fromEntries defines own data properties, so even a hostile key could not reach a prototype; the input
  // guard has already rejected those keys anyway.
  return Object.freeze(
    Object.fromEntries(
      Object.entries(include).map(([name, options]) => [
        name,
        options === true ? Object.freeze({}) : normalizeIncludeOptions(options),
      ]),
    ),
  )
}

function normalizeIncludeOptions(options: IncludeOptionsInput): IncludeRequest {
  return Object.freeze({
    ...(options.select !== undefined ? { select: Object.freeze([...options.select]) } : {}),
    ...(options.where !== undefined ? { where: normalizeFilter(options.where) } : {}),
    ...(options.orderBy !== undefined ? { orderBy: normalizeOrderBy(options.orderBy) } : {}),
    ...(options.limit !== undefined ? { limit: options.limit } : {}),
    ...(options.include !== undefined ? { include: normalizeInclude(options.include) } : {}),
  })
}

function normalizeQuery(input: QueryRequestInput): QueryRequest {
  return Object.freeze({
    model: input.model,
    ...normalizeIncludeOptions(input),
    ...(input.cursor !== undefined ? { cursor: input.cursor } : {}),
  })
}

function normalizeGet(input: GetRequestInput): GetRequest {
  return Object.freeze({
    model: input.model,
    id: typeof input.id === 'object' ? Object.freeze(Object.fromEntries(Object.entries(input.id))) : input.id,
    ...(input.select !== undefined ? { select: Object.freeze([...input.select]) } : {}),
    ...(input.include !== undefined ? { include: normalizeInclude(input.include) } : {}),
  })
}

function normalizeAggregate(input: AggregateRequestInput): AggregateRequest {
  return Object.freeze({
    model: input.model,
    op: input.op,
    ...(input.field !== undefined ? { field: input.field } : {}),
    ...(input.where !== undefined ? { where: normalizeFilter(input.where) } : {}),
    ...(input.groupBy !== undefined ? { groupBy: Object.freeze([...input.groupBy]) } : {}),
  })
}

function validate<S extends z.ZodType>(kind: RequestKind, schema: S, input: unknown): z.output<S> {
  const result = schema.safeParse(input)
  if (!result.success) throw zodErrorToValidationError(result.error, input, REQUEST_NAMES[kind])
  return result.data
}

/**
 * The common request shapes are checked by hand after the guard (simple-request.ts gives exactly the schema
 * path's answer, or nothing); everything else, and every invalid request, goes through zod. Both read what the
 * guard returns — the input, or its snapshot when the input was not plain data — never the input again.
 */
export function parseQueryRequest(raw: unknown, limits?: Partial<InputLimits>): QueryRequest {
  const input = guardInput(raw, limits)
  return parseSimpleQueryRequest(input) ?? normalizeQuery(validate('query', REQUEST_SCHEMAS.query, input))
}

export function parseGetRequest(raw: unknown, limits?: Partial<InputLimits>): GetRequest {
  const input = guardInput(raw, limits)
  return parseSimpleGetRequest(input) ?? normalizeGet(validate('get', REQUEST_SCHEMAS.get, input))
}

/**
 * parseQueryRequest / parseGetRequest / parseAggregateRequest through the zod schema only, without the
 * hand-written fast path: the reference behaviour the fast path is tested against.
 */
export function parseRequestWithSchema(
  kind: 'query' | 'get' | 'aggregate',
  raw: unknown,
  limits?: Partial<InputLimits>,
): QueryRequest | GetRequest | AggregateRequest {
  const input = guardInput(raw, limits)
  switch (kind) {
    case 'query':
      return normalizeQuery(validate('query', REQUEST_SCHEMAS.query, input))
    case 'get':
      return normalizeGet(validate('get', REQUEST_SCHEMAS.get, input))
    case 'aggregate':
      return normalizeAggregate(validate('aggregate', REQUEST_SCHEMAS.aggregate, input))
    default: {
      const never: never = kind
      throw new Error(`unknown request kind ${String(never)}`)
    }
  }
}

export function parseAggregateRequest(raw: unknown, limits?: Partial<InputLimits>): AggregateRequest {
  const input = guardInput(raw, limits)
  return (
    parseSimpleAggregateRequest(input) ??
    normalizeAggregate(validate('aggregate', REQUEST_SCHEMAS.aggregate, input))
  )
}

export function parseDescribeSchemaRequest(
  raw: unknown,
  limits?: Partial<InputLimits>,
): DescribeSchemaRequest {
  const input = guardInput(raw, limits)
  const parsed = validate('describeSchema', REQUEST_SCHEMAS.describeSchema, input)
  return Object.freeze(parsed.model !== undefined ? { model: parsed.model } : {})
}

/**
 * Guard, validate and normalise a read request. Throws VALIDATION_ERROR with `details.issues[].path` (e.g.
 * `where.and[0].op`) for anything malformed; never echoes request text except through `printable`.
 */
export function parseRequest<K extends RequestKind>(
  kind: K,
  input: unknown,
  limits?: Partial<InputLimits>,
): RequestKinds[K] {
  // A switch rather than a table of closures: this runs on every call, and building closures per call is
  // not free (more so under loaders that name every function they see created).
  const k: RequestKind = kind
  switch (k) {
    case 'query':
      return parseQueryRequest(input, limits) as RequestKinds[K]
    case 'get':
      return parseGetRequest(input, limits) as RequestKinds[K]
    case 'aggregate':
      return parseAggregateRequest(input, limits) as RequestKinds[K]
    case 'describeSchema':
      return parseDescribeSchemaRequest(input, limits) as RequestKinds[K]
    default: {
      const never: never = k
      throw new Error(`unknown request kind ${String(never)}`)
    }
  }
}
