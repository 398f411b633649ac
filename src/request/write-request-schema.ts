/**
 * The write tools' requests (docs/contract.md §4) as strict zod schemas, and `parseWriteRequest`, the one way raw
 * arguments of create / update / delete / bulk_update become typed requests: input guard first (limits,
 * prototype keys, non-JSON values), then zod (shape, identifiers, bounds), then normalisation into frozen plain
 * data. Whether a field may be written, and whether a value fits its column, is the planner's decision.
 */
import { z } from 'zod'
import { identifierSchema } from './filter-schema.ts'
import { guardInput, type InputLimits } from './input-guard.ts'
import { getRequestSchema, type IdValue } from './request-schema.ts'
import { zodErrorToValidationError } from './zod-issues.ts'

/** Most ids one bulk_update may name, whatever the policy's maxAffectedRows says. */
export const BULK_HARD_CAP = 1_000
export const MAX_REASON_LENGTH = 1_000
export const MAX_APPROVAL_ID_LENGTH = 128

export type JsonInput = string | number | boolean | null | JsonInput[] | { [key: string]: JsonInput }

/** Scalars for ordinary columns; arrays and objects only make sense for json/jsonb columns (checked later). */
const jsonValueSchema: z.ZodType<JsonInput> = z.lazy(() =>
  z.union(
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
  ),
)

const dataSchema = z.record(identifierSchema, jsonValueSchema, {
  error: 'must be an object: { field: value, ... }',
})
const nonEmptyDataSchema = dataSchema.refine(
  (data) => Object.keys(data).length > 0,
  'needs at least one field',
)
const idSchema = getRequestSchema.shape.id
const reasonSchema = z
  .string({ error: 'must be a string' })
  .max(MAX_REASON_LENGTH, `must be at most ${MAX_REASON_LENGTH} characters`)
const approvalIdSchema = z.string({ error: 'must be a string' }).min(1).max(MAX_APPROVAL_ID_LENGTH)

export const createRequestSchema = z.strictObject({
  model: identifierSchema,
  data: dataSchema,
  reason: reasonSchema.optional(),
  approvalId: approvalIdSchema.optional(),
})

export const updateRequestSchema = z.strictObject({
  model: identifierSchema,
  id: idSchema,
  data: nonEmptyDataSchema,
  reason: reasonSchema.optional(),
  approvalId: approvalIdSchema.optional(),
})

export const deleteRequestSchema = z.strictObject({
  model: identifierSchema,
  id: idSchema,
  reason: reasonSchema.optional(),
  hard: z.boolean({ error: 'must be true or false' }).optional(),
  approvalId: approvalIdSchema.optional(),
})

export const bulkUpdateRequestSchema = z.strictObject({
  model: identifierSchema,
  ids: z
    .array(idSchema, { error: 'must be an array of ids' })
    .min(1, 'needs at least one id')
    .max(BULK_HARD_CAP, `at most ${BULK_HARD_CAP} ids per call`),
  data: nonEmptyDataSchema,
  reason: reasonSchema.optional(),
  approvalId: approvalIdSchema.optional(),
})

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
  input: unknown,
  limits?: Partial<InputLimits>,
): WriteRequests[K] {
  guardInput(input, limits)
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
