/**
 * Credentials → principal, and nothing else decides who a caller is. An API key is looked up by its sha256;
 * a JWT is verified with jose against a pinned issuer, audience and algorithm list (so `alg: none`, an
 * HS256 token signed with a public key, and an unsigned or expired token all fail), and its claims are mapped
 * to a principal. Every failure is the same AUTHENTICATION_REQUIRED: a client learns nothing about why. A
 * verified JWT is remembered for up to 30 s (verified-token-cache.ts), never past its own expiry.
 */
import { createHash, randomBytes } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import {
  createLocalJWKSet,
  createRemoteJWKSet,
  importSPKI,
  jwtVerify,
  type JWTPayload,
  type JWTVerifyGetKey,
} from 'jose'
import { parseRunContext, type Principal } from '../context/index.ts'
import { TesseraError } from '../errors/index.ts'
import type { AuthConfig } from './auth-config.ts'
import type { RateLimit } from './call-gate.ts'
import { VerifiedTokenCache } from './verified-token-cache.ts'

/** Prefix of generated API keys: lets the server tell a key from a JWT without trying both. */
export const API_KEY_PREFIX = 'tsk_'

export interface Authenticated {
  readonly principal: Principal
  /** What rate limits count against: `key:<id>` or `jwt:<iss>|<sub>`. */
  readonly rateKey: string
}

export interface Authenticator {
  /** Verifies a bearer token; throws AUTHENTICATION_REQUIRED on any failure. */
  authenticate(token: string): Promise<Authenticated>
  /** Per-key rate limits from the config, keyed like `Authenticated.rateKey`. */
  readonly rateOverrides: ReadonlyMap<string, RateLimit>
}

export function hashApiKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex')
}

/** A fresh API key: 32 random bytes, base64url, behind a recognisable prefix. Shown once, stored hashed. */
export function generateApiKey(): string {
  return `${API_KEY_PREFIX}${randomBytes(32).toString('base64url')}`
}

export function authenticationRequired(): TesseraError {
  return new TesseraError('AUTHENTICATION_REQUIRED', 'Valid credentials are required', {
    hints: ['Send Authorization: Bearer <API key or JWT>'],
  })
}

/** Bearer tokens longer than this are refused before any parsing or crypto. */
const MAX_TOKEN_LENGTH = 8192

export async function createAuthenticator(
  config: AuthConfig,
  baseDir = process.cwd(),
): Promise<Authenticator> {
  const keys = new Map<string, { id: string; principal: Principal }>()
  const rateOverrides = new Map<string, RateLimit>()
  for (const entry of config.apiKeys ?? []) {
    if (keys.has(entry.sha256)) {
      throw new TesseraError('VALIDATION_ERROR', `API key '${entry.id}' has the same hash as another key`)
    }
    // Validated and frozen once, so every call shares one parsed principal.
    keys.set(entry.sha256, {
      id: entry.id,
      principal: parseRunContext({ principal: entry.principal }).principal,
    })
    if (entry.rateLimit !== undefined) rateOverrides.set(`key:${entry.id}`, entry.rateLimit)
  }
  const jwt = config.jwt === undefined ? undefined : await jwtVerifier(config.jwt, baseDir)
  if (keys.size === 0 && jwt === undefined) {
    throw new TesseraError('VALIDATION_ERROR', 'The auth config has neither API keys nor a JWT section', {
      hints: ['Add a key with `tessera api-key create`, or configure `jwt` (see docs/mcp.md)'],
    })
  }
  return {
    rateOverrides,
    async authenticate(token: string): Promise<Authenticated> {
      if (token.length === 0 || token.length > MAX_TOKEN_LENGTH) throw authenticationRequired()
      if (token.startsWith(API_KEY_PREFIX)) {
        const entry = keys.get(hashApiKey(token))
        if (entry === undefined) throw authenticationRequired()
        return { principal: entry.principal, rateKey: `key:${entry.id}` }
      }
      if (jwt === undefined) throw authenticationRequired()
      return jwt(token)
    },
  }
}

type JwtConfig = NonNullable<AuthConfig['jwt']>

async function jwtVerifier(
  config: JwtConfig,
  baseDir: string,
): Promise<(token: string) => Promise<Authenticated>> {
  const key = await keySource(config, baseDir)
  const verified = new VerifiedTokenCache<Authenticated>()
  return async (token) => {
    const known = verified.get(token)
    if (known !== undefined) return known
    let payload: JWTPayload
    try {
      const verified = await jwtVerify(token, key as JWTVerifyGetKey, {
        issuer: config.issuer,
        audience: config.audience,
        algorithms: [...config.algorithms],
        requiredClaims: ['exp'],
        clockTolerance: config.clockToleranceSeconds,
        ...(config.maxTokenAgeSeconds === undefined ? {} : { maxTokenAge: config.maxTokenAgeSeconds }),
      })
      payload = verified.payload
    } catch {
      throw authenticationRequired()
    }
    const principal = principalFromClaims(payload, config.claims)
    const identity: Authenticated = {
      principal,
      rateKey: `jwt:${config.issuer}|${typeof payload.sub === 'string' ? payload.sub : principal.tenantId}`,
    }
    // `exp` is a required claim; a max token age ends acceptance at iat + age.
    const expires = typeof payload.exp === 'number' ? payload.exp * 1000 : 0
    const aged =
      config.maxTokenAgeSeconds !== undefined && typeof payload.iat === 'number'
        ? (payload.iat + config.maxTokenAgeSeconds) * 1000
        : Number.POSITIVE_INFINITY
    verified.remember(token, identity, Math.min(expires, aged))
    return identity
  }
}

async function keySource(
  config: JwtConfig,
  baseDir: string,
): Promise<JWTVerifyGetKey | Uint8Array | Awaited<ReturnType<typeof importSPKI>>> {
  const resolve = (p: string): string => (p.startsWith('/') ? p : `${baseDir}/${p}`)
  try {
    if (config.jwksUrl !== undefined) return createRemoteJWKSet(new URL(config.jwksUrl))
    if (config.jwksFile !== undefined) {
      return createLocalJWKSet(JSON.parse(await readFile(resolve(config.jwksFile), 'utf8')) as never)
    }
    if (config.publicKeyFile !== undefined) {
      const alg = config.algorithms[0] ?? 'RS256'
      return await importSPKI(await readFile(resolve(config.publicKeyFile), 'utf8'), alg)
    }
  } catch {
    throw new TesseraError('VALIDATION_ERROR', 'Cannot load the JWT verification key', {
      hints: ['jwksFile must hold a JWKS ({"keys": [...]}); publicKeyFile a PEM SPKI public key'],
    })
  }
  const env = config.secretEnv ?? ''
  const secret = process.env[env]
  if (secret === undefined || Buffer.byteLength(secret) < 32) {
    throw new TesseraError(
      'VALIDATION_ERROR',
      `Environment variable ${env} must hold an HS256 secret of at least 32 bytes`,
    )
  }
  return new TextEncoder().encode(secret)
}

/**
 * Maps verified claims to a principal. A tenant claim that is missing or not a string fails authentication:
 * a verified token that names no tenant must not run as some default tenant.
 */
function principalFromClaims(payload: JWTPayload, claims: JwtConfig['claims']): Principal {
  const tenantId = payload[claims.tenantId]
  if (typeof tenantId !== 'string') throw authenticationRequired()
  const userId = payload[claims.userId]
  const roles = payload[claims.roles]
  const metadata: Record<string, unknown> = {}
  for (const [key, claim] of Object.entries(claims.metadata)) {
    if (Object.hasOwn(payload, claim)) metadata[key] = payload[claim]
  }
  const principal = {
    tenantId,
    ...(typeof userId === 'string' ? { userId } : {}),
    ...(Array.isArray(roles) && roles.every((r) => typeof r === 'string') ? { roles } : {}),
    ...(Object.keys(metadata).length > 0 ? { metadata } : {}),
  }
  try {
    return parseRunContext({ principal }).principal
  } catch {
    throw authenticationRequired()
  }
}
