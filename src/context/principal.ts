/**
 * Principal and RunContext (docs/contract.md §2). The principal comes only from the application or from verified
 * credentials, never from tool arguments, so these are validated once at the toolset boundary and frozen.
 */
import { z } from 'zod'
import { TesseraError } from '../errors/index.ts'

const MAX_TEXT = 256
const MAX_ROLES = 256

/**
 * A lone surrogate reaches PostgreSQL as U+FFFD, so two ids that differ only there would name one tenant (or
 * user, or role) in the database while they differ in memory and in the audit.
 */
const LONE_SURROGATE = /\p{Cs}/u

const nonBlank = z
  .string()
  .min(1)
  .max(MAX_TEXT)
  .refine((s) => s.trim().length > 0, 'must not be blank')
  .refine((s) => !s.includes('\u0000'), 'must not contain NUL')
  .refine((s) => !LONE_SURROGATE.test(s), 'must be well-formed Unicode')

/**
 * Whether every string in a metadata value (keys too, at any depth) is free of NUL and lone surrogates: a
 * metadata claim is compared with columns (scoping, row policies) and sent as the RLS claim, so it must name the
 * same value in memory, in the audit and in the database, as tenantId does (red team, freight schema).
 */
function wellFormedText(value: unknown, depth = 0): boolean {
  if (typeof value === 'string') return !value.includes('\u0000') && !LONE_SURROGATE.test(value)
  if (typeof value !== 'object' || value === null) return true
  if (depth > 64) return false
  for (const [key, item] of Object.entries(value)) {
    if (!wellFormedText(key) || !wellFormedText(item, depth + 1)) return false
  }
  return true
}

const metadataSchema = z
  .record(z.string(), z.unknown())
  .refine((m) => wellFormedText(m), 'strings must be well-formed Unicode without NUL')

export const principalSchema = z
  .object({
    tenantId: nonBlank,
    userId: nonBlank.optional(),
    roles: z.array(nonBlank).max(MAX_ROLES).optional(),
    metadata: metadataSchema.optional(),
  })
  .strict()

export const runContextSchema = z
  .object({
    principal: principalSchema,
    requestId: z.string().min(1).max(MAX_TEXT).optional(),
    traceId: z.string().min(1).max(MAX_TEXT).optional(),
  })
  .strict()

export interface Principal {
  readonly tenantId: string
  readonly userId?: string
  readonly roles?: readonly string[]
  readonly metadata?: Readonly<Record<string, unknown>>
}

export interface RunContext {
  readonly principal: Principal
  readonly requestId?: string
  readonly traceId?: string
}

/**
 * Contexts this module returned whose every part is frozen plain data (no metadata values that could hold
 * mutable containers): returning such a context again as it is gives exactly what parsing it again would.
 */
const parsedContexts = new WeakSet<object>()

/**
 * Validates a context. A missing, non-string or blank tenantId is TENANT_SCOPE_REQUIRED (no query may run
 * without a tenant); any other malformed field is VALIDATION_ERROR. Returns deeply frozen data: a copy, or the input itself
 * when it is a context this function returned.
 *
 * Hot path: every tool call validates its context. A context this function returned before is returned as it
 * is; the common shape (plain objects, string fields, a roles array) is checked by hand; anything else, and
 * every invalid context, goes through the zod schema, which stays the definition (a differential property
 * test holds the two to the same answers).
 */
export function parseRunContext(input: unknown): RunContext {
  if (typeof input === 'object' && input !== null && parsedContexts.has(input)) return input as RunContext
  return parseCommonRunContext(input) ?? parseRunContextWithSchema(input)
}

/** parseRunContext through the zod schema only: the reference behaviour. */
export function parseRunContextWithSchema(input: unknown): RunContext {
  const result = runContextSchema.safeParse(input)
  if (!result.success) {
    const tenantIssue = result.error.issues.find(
      (i) => i.path[0] === 'principal' && (i.path.length === 1 || i.path[1] === 'tenantId'),
    )
    if (tenantIssue) {
      throw new TesseraError('TENANT_SCOPE_REQUIRED', 'The principal has no valid tenantId', {
        hints: ['The application or the credentials must supply a non-empty tenantId'],
        details: { path: 'principal.tenantId' },
      })
    }
    throw new TesseraError('VALIDATION_ERROR', 'Invalid run context', {
      details: {
        issues: result.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })),
      },
    })
  }
  return deepFreeze(structuredClone(result.data)) as RunContext
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object') {
    for (const key of Object.keys(value)) deepFreeze((value as Record<string, unknown>)[key])
    Object.freeze(value)
  }
  return value
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && Object.getPrototypeOf(value) === Object.prototype
}

function isText(value: unknown): value is string {
  return typeof value === 'string' && value.length >= 1 && value.length <= MAX_TEXT
}

function isNonBlank(value: unknown): value is string {
  return isText(value) && value.trim().length > 0 && !value.includes('\u0000') && !LONE_SURROGATE.test(value)
}

interface MutablePrincipal {
  tenantId: string
  userId?: string | undefined
  roles?: readonly string[] | undefined
  metadata?: Readonly<Record<string, unknown>> | undefined
}

interface MutableRunContext {
  principal: Principal
  requestId?: string | undefined
  traceId?: string | undefined
}

/**
 * The schema's answer for a valid context of the common shape, built the way the schema path builds it (members
 * in schema order; an optional member given as `undefined` kept as `undefined`), or undefined when the input
 * is invalid or unusual (a non-plain object, an unknown key): the caller then asks the schema. Each member is
 * read once.
 */
function parseCommonRunContext(input: unknown): RunContext | undefined {
  if (!isPlainObject(input)) return undefined
  for (const key in input) {
    if (key !== 'principal' && key !== 'requestId' && key !== 'traceId') return undefined
  }
  const principal = parseCommonPrincipal(input['principal'])
  if (principal === undefined) return undefined
  // Like the schema path, an optional member given as undefined stays (Principal does not spell that out).
  const ctx: MutableRunContext = { principal: principal.value as Principal }
  if ('requestId' in input) {
    const requestId = input['requestId']
    if (requestId !== undefined && !isText(requestId)) return undefined
    ctx.requestId = requestId
  }
  if ('traceId' in input) {
    const traceId = input['traceId']
    if (traceId !== undefined && !isText(traceId)) return undefined
    ctx.traceId = traceId
  }
  // Only now that everything is valid, as on the schema path: cloning may throw (a function in metadata).
  if (principal.metadata !== undefined)
    principal.value.metadata = deepFreeze(structuredClone(principal.metadata))
  Object.freeze(principal.value)
  const frozen = Object.freeze(ctx) as RunContext
  if (principal.metadata === undefined) parsedContexts.add(frozen)
  return frozen
}

/** The principal (not yet frozen) and its validated, not yet cloned metadata. */
interface CommonPrincipal {
  readonly value: MutablePrincipal
  readonly metadata: Record<string, unknown> | undefined
}

function parseCommonPrincipal(input: unknown): CommonPrincipal | undefined {
  if (!isPlainObject(input)) return undefined
  for (const key in input) {
    if (key !== 'tenantId' && key !== 'userId' && key !== 'roles' && key !== 'metadata') return undefined
  }
  const tenantId = input['tenantId']
  if (!isNonBlank(tenantId)) return undefined
  const principal: MutablePrincipal = { tenantId }
  if ('userId' in input) {
    const userId = input['userId']
    if (userId !== undefined && !isNonBlank(userId)) return undefined
    principal.userId = userId
  }
  if ('roles' in input) {
    const roles = input['roles']
    if (roles === undefined) {
      principal.roles = undefined
    } else {
      if (!Array.isArray(roles) || roles.length > MAX_ROLES) return undefined
      const copy: string[] = []
      for (let i = 0; i < roles.length; i++) {
        const role: unknown = roles[i]
        if (!isNonBlank(role)) return undefined
        copy.push(role)
      }
      principal.roles = Object.freeze(copy)
    }
  }
  let metadata: Record<string, unknown> | undefined
  if ('metadata' in input) {
    const raw = input['metadata']
    if (raw === undefined) {
      principal.metadata = undefined
    } else {
      // Metadata values are the application's own data: the schema decides which records it accepts.
      const parsed = metadataSchema.safeParse(raw)
      if (!parsed.success) return undefined
      metadata = parsed.data
      // Placeholder keeping the schema's member order; replaced by the frozen clone once all is valid.
      principal.metadata = metadata
    }
  }
  return { value: principal, metadata }
}
