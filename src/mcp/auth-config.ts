/**
 * The auth file of `tessera serve --auth FILE` (YAML or JSON), as one strict zod schema: API keys stored only
 * as sha256 hashes, each mapped to a fixed principal; JWT verification with a pinned issuer, audience and
 * algorithm list and a claim → principal mapping; the OAuth protected-resource metadata; rate limits.
 * An unknown key is a load error, never silently ignored.
 */
import { readFile } from 'node:fs/promises'
import { parse as parseYaml } from 'yaml'
import { z } from 'zod'
import { principalSchema } from '../context/index.ts'
import { TesseraError } from '../errors/index.ts'

const rateLimitSchema = z
  .object({ burst: z.number().int().min(1).max(1_000_000), perSecond: z.number().positive().max(1_000_000) })
  .strict()

const claimName = z.string().min(1).max(200)

export const JWT_ALGORITHMS = ['HS256', 'RS256', 'ES256'] as const

export const authConfigSchema = z
  .object({
    apiKeys: z
      .array(
        z
          .object({
            /** A name for logs and `tessera api-key list`; never secret. */
            id: z
              .string()
              .min(1)
              .max(100)
              .regex(/^[A-Za-z0-9_.-]+$/),
            /** sha256 (hex) of the key; the key itself is never stored. */
            sha256: z.string().regex(/^[0-9a-f]{64}$/, 'must be the lowercase hex sha256 of the key'),
            principal: principalSchema,
            rateLimit: rateLimitSchema.optional(),
            createdAt: z.string().max(64).optional(),
          })
          .strict(),
      )
      .max(10_000)
      .optional(),
    jwt: z
      .object({
        issuer: z.string().min(1),
        audience: z.string().min(1),
        algorithms: z.array(z.enum(JWT_ALGORITHMS)).min(1),
        /** One key source: a JWKS URL, a JWKS file, a PEM public key file (RS256/ES256), or an env var (HS256). */
        jwksUrl: z.url().optional(),
        jwksFile: z.string().min(1).optional(),
        publicKeyFile: z.string().min(1).optional(),
        secretEnv: z
          .string()
          .regex(/^[A-Z_][A-Z0-9_]*$/)
          .optional(),
        claims: z
          .object({
            tenantId: claimName.default('tenant_id'),
            userId: claimName.default('sub'),
            roles: claimName.default('roles'),
            /** principal.metadata key → claim name. */
            metadata: z.record(z.string().min(1).max(100), claimName).default({}),
          })
          .strict()
          .default({ tenantId: 'tenant_id', userId: 'sub', roles: 'roles', metadata: {} }),
        clockToleranceSeconds: z.number().int().min(0).max(300).default(30),
        /** Tokens living longer than this are refused even when unexpired. */
        maxTokenAgeSeconds: z
          .number()
          .int()
          .positive()
          .max(86_400 * 7)
          .optional(),
      })
      .strict()
      .refine(
        (j) =>
          [j.jwksUrl, j.jwksFile, j.publicKeyFile, j.secretEnv].filter((v) => v !== undefined).length === 1,
        'give exactly one of jwksUrl, jwksFile, publicKeyFile, secretEnv',
      )
      .refine(
        (j) => (j.secretEnv !== undefined) === j.algorithms.every((a) => a === 'HS256'),
        'HS256 goes with secretEnv, and secretEnv only with HS256 (mixing symmetric and public keys enables key confusion)',
      )
      .optional(),
    /** OAuth 2.1 protected-resource metadata (RFC 9728) served at /.well-known/oauth-protected-resource. */
    resource: z
      .object({
        /** The canonical URL clients use for this server's MCP endpoint. */
        url: z.url().optional(),
        authorizationServers: z.array(z.url()).default([]),
        scopes: z.array(z.string().min(1).max(100)).default([]),
      })
      .strict()
      .optional(),
    rateLimits: z
      .object({
        tenant: rateLimitSchema.optional(),
        principal: rateLimitSchema.optional(),
        tenantConcurrency: z.number().int().min(1).max(10_000).optional(),
      })
      .strict()
      .optional(),
  })
  .strict()

export type AuthConfig = z.output<typeof authConfigSchema>
export type AuthConfigInput = z.input<typeof authConfigSchema>
export type ApiKeyEntry = NonNullable<AuthConfig['apiKeys']>[number]

export function parseAuthConfig(input: unknown, source = 'auth config'): AuthConfig {
  const result = authConfigSchema.safeParse(input)
  if (!result.success) {
    throw new TesseraError('VALIDATION_ERROR', `Invalid ${source}`, {
      details: { issues: result.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })) },
      hints: ['See docs/mcp.md for the auth file format'],
    })
  }
  return result.data
}

export async function loadAuthConfig(path: string): Promise<AuthConfig> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch {
    throw new TesseraError('VALIDATION_ERROR', `Cannot read the auth file ${path}`, {
      hints: ['Create one with `tessera api-key create --auth FILE …`'],
    })
  }
  let input: unknown
  try {
    input = path.endsWith('.json') ? JSON.parse(text) : parseYaml(text)
  } catch {
    throw new TesseraError(
      'VALIDATION_ERROR',
      `The auth file ${path} is not valid ${path.endsWith('.json') ? 'JSON' : 'YAML'}`,
    )
  }
  return parseAuthConfig(input ?? {}, `auth file ${path}`)
}
