/**
 * The write tools' requests (docs/contract.md §4) as strict zod schemas, and `parseWriteRequest`, the one way raw
 * arguments of create / update / delete / bulk_update become typed requests: input guard first (limits,
 * prototype keys, non-JSON values), then zod (shape, identifiers, bounds), then normalisation into frozen plain
 * data. Whether a field may be written, and whether a value fits its column, is the planner's decision.
 */
import { z } from 'zod'
import { IDENTIFIER_PATTERN, identifierSchema } from './filter-schema.ts'
import { guardInput, type InputLimits } from './input-guard.ts'
import { getRequestSchema, type IdValue } from './request-schema.ts'
import { zodErrorToValidationError } from './zod-issues.ts'

/** Most ids one bulk_update may name, whatever the policy's maxAffectedRows says. */
export const BULK_HARD_CAP = 1_000
export const MAX_REASON_LENGTH = 1_000
export const MAX_APPROVAL_ID_LENGTH = 128

export type JsonInput = string | number | boolean | null | JsonInput[] | { [key: string]: JsonInput }

/** Scalars for ordinary columns; arrays and objects only make sense for json/jsonb columns (checked later). */
let jsonUnion: z.ZodType<JsonInput, JsonInput> | undefined
// Built once (zod may call a lazy getter many times; see filterSchemaOver).
const jsonValueSchema: z.ZodType<JsonInput, JsonInput> = z.lazy(
  () =>
    (jsonUnion ??= z.union(
      [
        z.string(),
        z.number(),
        z.boolean(),
        z.null(),
        z.array(jsonValueSchema),
        z.record(z.string(), jsonValueSchema),
      ],
      {
        error: 'must be a JSON value',
      },
    )),
)

type DataSchema = z.ZodType<Record<string, JsonInput>, Record<string, JsonInput>>

const DATA_DESCRIPTION = 'Field values to write: scalars, or any JSON value for json fields.'

const dataSchema = z
  .record(identifierSchema, jsonValueSchema, {
    error: 'must be an object: { field: value, ... }',
  })
  .describe(DATA_DESCRIPTION)
const nonEmptyDataSchema = dataSchema.refine(
  (data) => Object.keys(data).length > 0,
  'needs at least one field',
)

/** `data` naming only these fields (the tools' narrowed schemas, src/tools/narrow-input.ts). */
export function writeDataSchemaOver(fields: readonly string[]): DataSchema {
  const object = z.strictObject(Object.fromEntries(fields.map((f) => [f, jsonValueSchema.optional()])))
  // why: every member is an optional JSON value, so what it accepts is a Record<string, JsonInput>.
  return object.describe(DATA_DESCRIPTION) as unknown as DataSchema
}

const idSchema = getRequestSchema.shape.id
const reasonSchema = z
  .string({ error: 'must be a string' })
  .max(MAX_REASON_LENGTH, `must be at most ${MAX_REASON_LENGTH} characters`)
  .describe('Why this change is made (kept in the audit record)')
const approvalIdSchema = z
  .string({ error: 'must be a string' })
  .min(1)
  .max(MAX_APPROVAL_ID_LENGTH)
  .describe(
    'The approvalId of an earlier WRITE_APPROVAL_REQUIRED error, once approved; send the same arguments again',
  )
const hardSchema = z
  .boolean({ error: 'must be true or false' })
  .describe('Remove the row even where the model soft-deletes (only where the policy allows it)')

export function createRequestSchemaOver(model: z.ZodType<string, string>, data: DataSchema) {
  return z.strictObject({
    model,
    data,
    reason: reasonSchema.optional(),
    approvalId: approvalIdSchema.optional(),
  })
}

export function updateRequestSchemaOver(model: z.ZodType<string, string>, data: DataSchema) {
  return z.strictObject({
    model,
    id: idSchema,
    data,
    reason: reasonSchema.optional(),
    approvalId: approvalIdSchema.optional(),
  })
}

export function deleteRequestSchemaOver(model: z.ZodType<string, string>) {
  return z.strictObject({
    model,
    id: idSchema,
    reason: reasonSchema.optional(),
    hard: hardSchema.optional(),
    approvalId: approvalIdSchema.optional(),
  })
}

export function bulkUpdateRequestSchemaOver(model: z.ZodType<string, string>, data: DataSchema) {
  return z.strictObject({
    model,
    ids: z
      .array(idSchema, { error: 'must be an array of ids' })
      .min(1, 'needs at least one id')
      .max(BULK_HARD_CAP, `at most ${BULK_HARD_CAP} ids per call`),
    data,
    reason: reasonSchema.optional(),
    approvalId: approvalIdSchema.optional(),
  })
}

export const createRequestSchema = createRequestSchemaOver(identifierSchema, dataSchema)
export const updateRequestSchema = updateRequestSchemaOver(identifierSchema, nonEmptyDataSchema)
export const deleteRequestSchema = deleteRequestSchemaOver(identifierSchema)
export const bulkUpdateRequestSchema = bulkUpdateRequestSchemaOver(identifierSchema, nonEmptyDataSchema)

export type WriteId = IdValue | Readonly<Record<string, IdValue>>
export type WriteData = Readonly<Record<string, JsonInput>>

interface WriteRequestBase {
  readonly model: string
  readonly reason?: string
  readonly approvalId?: string
}

export interface CreateRequest extends WriteRequestBase {
  readonly kind: 'create'
  readonly data: WriteData
}

export interface UpdateRequest extends WriteRequestBase {
  readonly kind: 'update'
  readonly id: WriteId
  readonly data: WriteData
}

export interface DeleteRequest extends WriteRequestBase {
  readonly kind: 'delete'
  readonly id: WriteId
  readonly hard: boolean
}

export interface BulkUpdateRequest extends WriteRequestBase {
  readonly kind: 'bulkUpdate'
  readonly ids: readonly WriteId[]
  readonly data: WriteData
}

export type WriteRequest = CreateRequest | UpdateRequest | DeleteRequest | BulkUpdateRequest
export type WriteKind = WriteRequest['kind']
export interface WriteRequests {
  readonly create: CreateRequest
  readonly update: UpdateRequest
  readonly delete: DeleteRequest
  readonly bulkUpdate: BulkUpdateRequest
}

const NAMES: Readonly<Record<WriteKind, string>> = {
  create: 'create request',
  update: 'update request',
  delete: 'delete request',
  bulkUpdate: 'bulk_update request',
}

function validate<S extends z.ZodType>(kind: WriteKind, schema: S, input: unknown): z.output<S> {
  const result = schema.safeParse(input)
  if (!result.success) throw zodErrorToValidationError(result.error, input, NAMES[kind])
  return result.data
}

function freezeId(id: z.output<typeof idSchema>): WriteId {
  return typeof id === 'object' ? Object.freeze(Object.fromEntries(Object.entries(id))) : id
}

/** A private, frozen copy: nothing the caller keeps a reference to can change the request after checks. */
function freezeData(data: Record<string, JsonInput>): WriteData {
  return deepFreeze(structuredClone(data))
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object') {
    for (const key of Object.keys(value)) deepFreeze((value as Record<string, unknown>)[key])
    Object.freeze(value)
  }
  return value
}

function common(input: {
  model: string
  reason?: string | undefined
  approvalId?: string | undefined
}): WriteRequestBase {
  return {
    model: input.model,
    ...(input.reason !== undefined ? { reason: input.reason } : {}),
    ...(input.approvalId !== undefined ? { approvalId: input.approvalId } : {}),
  }
}

/**
 * Guard, validate and normalise a write request. Throws VALIDATION_ERROR with `details.issues[].path` (e.g.
 * `data.status`, `ids`) for anything malformed; more ids than BULK_HARD_CAP is a VALIDATION_ERROR here.
 */
export function parseWriteRequest<K extends WriteKind>(
  kind: K,
  raw: unknown,
  limits?: Partial<InputLimits>,
): WriteRequests[K] {
  // What the guard checked is what is parsed: the input, or its snapshot (see guardInput).
  const input = guardInput(raw, limits)
  const simple = parseSimpleWriteRequest(kind, input)
  if (simple !== undefined) return simple
  return parseWriteRequestWithSchema(kind, input)
}

/** The schema path of parseWriteRequest alone, for input that passed the guard: zod, then normalisation. */
export function parseWriteRequestWithSchema<K extends WriteKind>(kind: K, input: unknown): WriteRequests[K] {
  const parsers: { readonly [P in WriteKind]: () => WriteRequests[P] } = {
    create: () => {
      const r = validate('create', createRequestSchema, input)
      return Object.freeze({ kind: 'create', ...common(r), data: freezeData(r.data) })
    },
    update: () => {
      const r = validate('update', updateRequestSchema, input)
      return Object.freeze({ kind: 'update', ...common(r), id: freezeId(r.id), data: freezeData(r.data) })
    },
    delete: () => {
      const r = validate('delete', deleteRequestSchema, input)
      return Object.freeze({ kind: 'delete', ...common(r), id: freezeId(r.id), hard: r.hard ?? false })
    },
    bulkUpdate: () => {
      const r = validate('bulkUpdate', bulkUpdateRequestSchema, input)
      return Object.freeze({
        kind: 'bulkUpdate',
        ...common(r),
        ids: Object.freeze(r.ids.map(freezeId)),
        data: freezeData(r.data),
      })
    },
  }
  return parsers[kind]()
}

/** What an approval is bound to: the normalised request without the approval id itself. */
export function approvalPayload(request: WriteRequest): Record<string, unknown> {
  const { approvalId: _approvalId, ...payload } = request
  return payload
}

/**
 * The create and single-update requests nearly every call makes — `{ model, data }` and `{ model, id, data }` with
 * scalar values — checked by hand, for input that passed the input guard (plain JSON-like data, finite numbers, no
 * symbol keys or accessors). Returns exactly what the schema path returns (the same members in the same order,
 * a frozen private copy of `data`), or undefined for anything else, which then takes the schema path and its
 * errors: zod and structuredClone cost ~30 µs of a create (bench/README.md, "Writes: CPU per call"). A
 * differential property test holds the two paths to the same answers (test/unit/simple-write-request.test.ts).
 */
function parseSimpleWriteRequest<K extends WriteKind>(kind: K, input: unknown): WriteRequests[K] | undefined {
  if (kind !== 'create' && kind !== 'update') return undefined
  if (typeof input !== 'object' || input === null || Array.isArray(input)) return undefined
  const members = input as Record<string, unknown>
  // Unknown members, a reason or an approval id: the schema path (strictObject) decides.
  for (const key in members) {
    if (key !== 'model' && key !== 'data' && (kind === 'create' || key !== 'id')) return undefined
  }
  const model = members['model']
  if (typeof model !== 'string' || !IDENTIFIER_PATTERN.test(model)) return undefined
  const data = simpleData(members['data'], kind === 'update')
  if (data === undefined) return undefined
  if (kind === 'create') {
    const request: CreateRequest = Object.freeze({ kind: 'create', model, data })
    // why: kind is 'create' here, so WriteRequests[K] is CreateRequest.
    return request as WriteRequests[K]
  }
  const id = members['id']
  const simpleId =
    (typeof id === 'string' && id.length > 0) || (typeof id === 'number' && Number.isSafeInteger(id))
  if (!simpleId) return undefined
  const request: UpdateRequest = Object.freeze({ kind: 'update', model, id, data })
  // why: kind is 'update' here, so WriteRequests[K] is UpdateRequest.
  return request as WriteRequests[K]
}

/** `data` of identifier keys and scalar values, as a frozen copy in the same key order; undefined otherwise. */
function simpleData(value: unknown, nonEmpty: boolean): WriteData | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined
  const proto: unknown = Object.getPrototypeOf(value)
  if (proto !== Object.prototype && proto !== null) return undefined
  const source = value as Record<string, unknown>
  const keys = Object.keys(source)
  // zod's record reads enumerable own keys; a non-enumerable one is left to it.
  if (keys.length !== Object.getOwnPropertyNames(source).length) return undefined
  if (nonEmpty && keys.length === 0) return undefined
  const out: Record<string, JsonInput> = {}
  for (const key of keys) {
    if (!IDENTIFIER_PATTERN.test(key)) return undefined
    const v = source[key]
    if (v === null || typeof v === 'string' || typeof v === 'boolean') out[key] = v
    else if (typeof v === 'number' && Number.isFinite(v)) out[key] = v
    else return undefined
  }
  return Object.freeze(out)
}
