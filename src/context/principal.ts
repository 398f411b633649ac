/**
 * Principal and RunContext (DESIGN §2). The principal comes only from the application or from verified
 * credentials, never from tool arguments, so these are validated once at the toolset boundary and frozen.
 */
import { z } from 'zod'
import { TesseraError } from '../errors/index.ts'

const nonBlank = z
  .string()
  .min(1)
  .max(256)
  .refine((s) => s.trim().length > 0, 'must not be blank')
  .refine((s) => !s.includes('\u0000'), 'must not contain NUL')

export const principalSchema = z
  .object({
    tenantId: nonBlank,
    userId: nonBlank.optional(),
    roles: z.array(nonBlank).max(256).optional(),
    metadata: z.record(z.string(), z.unknown()).optional(),
  })
  .strict()

export const runContextSchema = z
  .object({
    principal: principalSchema,
    requestId: z.string().min(1).max(256).optional(),
    traceId: z.string().min(1).max(256).optional(),
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
 * Validates a context. A missing, non-string or blank tenantId is TENANT_SCOPE_REQUIRED (no query may run
 * without a tenant); any other malformed field is VALIDATION_ERROR.
 */
export function parseRunContext(input: unknown): RunContext {
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
