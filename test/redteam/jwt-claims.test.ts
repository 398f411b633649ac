/**
 * Red team: the JWT authenticator's claim mapping, with tokens a hostile or sloppy identity provider could sign
 * (a valid signature over odd claims) and tokens a client could forge. What held, table-driven:
 *
 * - a tenant claim that is not a non-blank, well-formed string (a number, an array, an object, blank, NUL, a lone
 *   surrogate), an unexpected `crit` header, a `nbf` in the future, a missing `exp`, and a token longer than the
 *   limit are all AUTHENTICATION_REQUIRED, with one message;
 * - roles that are not all strings are dropped rather than half-kept, and metadata claims keep `__proto__` as
 *   data (the principal's prototype is untouched);
 * - a verified token is remembered no longer than its own `exp`: once expired it is refused, cached or not.
 */
import { createHmac } from 'node:crypto'
import { SignJWT } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createAuthenticator, type Authenticator } from '../../src/mcp/index.ts'
import { TesseraError } from '../../src/errors/index.ts'

const ISSUER = 'https://idp.example'
const AUDIENCE = 'tessera-redteam'
const ENV = 'REDTEAM_JWT_SECRET'
const SECRET = 'redteam-secret-with-at-least-32-bytes!!'
const key = new TextEncoder().encode(SECRET)
const now = (): number => Math.floor(Date.now() / 1000)

async function token(
  claims: Record<string, unknown>,
  options: { exp?: number | null; nbf?: number; header?: Record<string, unknown> } = {},
): Promise<string> {
  let jwt = new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256', ...options.header })
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setIssuedAt(now())
  if (options.exp !== null) jwt = jwt.setExpirationTime(options.exp ?? now() + 600)
  if (options.nbf !== undefined) jwt = jwt.setNotBefore(options.nbf)
  return jwt.sign(key)
}

/** An HS256 token signed by hand, for headers jose will not sign (an unknown `crit` extension). */
function signRaw(header: Record<string, unknown>, payload: Record<string, unknown>): string {
  const part = (o: Record<string, unknown>) => Buffer.from(JSON.stringify(o)).toString('base64url')
  const body = `${part(header)}.${part(payload)}`
  return `${body}.${createHmac('sha256', SECRET).update(body).digest('base64url')}`
}

async function refusal(auth: Authenticator, t: string): Promise<string> {
  try {
    const who = await auth.authenticate(t)
    return `accepted as ${JSON.stringify(who.principal)}`
  } catch (error) {
    if (!(error instanceof TesseraError)) return `not a TesseraError: ${String(error)}`
    return `${error.code}: ${error.message}`
  }
}

describe('red team: JWT claims mapped to a principal', () => {
  let auth: Authenticator
  const previous = process.env[ENV]

  beforeAll(async () => {
    process.env[ENV] = SECRET
    auth = await createAuthenticator({
      jwt: {
        issuer: ISSUER,
        audience: AUDIENCE,
        algorithms: ['HS256'],
        secretEnv: ENV,
        claims: { tenantId: 'tenant_id', userId: 'sub', roles: 'roles', metadata: { team: 'team' } },
        clockToleranceSeconds: 0,
      },
    })
  })

  afterAll(() => {
    if (previous === undefined) delete process.env[ENV]
    else process.env[ENV] = previous
  })

  const REFUSED = 'AUTHENTICATION_REQUIRED: Valid credentials are required'
  const CASES: Record<string, () => Promise<string>> = {
    'a numeric tenant': () => token({ tenant_id: 1001, sub: 'u' }),
    'an array of tenants': () => token({ tenant_id: ['t-a', 't-b'], sub: 'u' }),
    'a tenant object': () => token({ tenant_id: { id: 't-a' }, sub: 'u' }),
    'a blank tenant': () => token({ tenant_id: '   ', sub: 'u' }),
    'a tenant with NUL': () => token({ tenant_id: 't-a\u0000', sub: 'u' }),
    'a tenant with a lone surrogate': () => token({ tenant_id: 't-a\uD800', sub: 'u' }),
    'no tenant at all': () => token({ sub: 'u', org: 't-a' }),
    'an unknown critical header': () =>
      Promise.resolve(
        signRaw(
          { alg: 'HS256', crit: ['x-redteam'], 'x-redteam': true },
          { tenant_id: 't-a', sub: 'u', iss: ISSUER, aud: AUDIENCE, iat: now(), exp: now() + 600 },
        ),
      ),
    'a not-before in the future': () => token({ tenant_id: 't-a', sub: 'u' }, { nbf: now() + 300 }),
    'no expiry': () => token({ tenant_id: 't-a', sub: 'u' }, { exp: null }),
    'an expired token': () => token({ tenant_id: 't-a', sub: 'u' }, { exp: now() - 5 }),
    'a token over the length limit': async () => token({ tenant_id: 't-a', sub: 'u', pad: 'x'.repeat(9000) }),
  }

  it.each(Object.keys(CASES))('refuses %s with the one authentication error', async (name) => {
    const make = CASES[name] as () => Promise<string>
    expect(await refusal(auth, await make())).toBe(REFUSED)
  })

  it('accepts the crit case’s claims signed by hand without the header (its control)', async () => {
    const t = signRaw(
      { alg: 'HS256' },
      { tenant_id: 't-a', sub: 'u', iss: ISSUER, aud: AUDIENCE, iat: now(), exp: now() + 600 },
    )
    expect(await refusal(auth, t)).toBe('accepted as {"tenantId":"t-a","userId":"u"}')
  })

  it('drops roles that are not all strings, and keeps a __proto__ metadata claim as data', async () => {
    const mixed = await auth.authenticate(await token({ tenant_id: 't-a', sub: 'u', roles: ['agent', 5] }))
    expect(mixed.principal.roles).toBeUndefined()
    const parsed = JSON.parse('{"__proto__": {"admin": true}, "name": "red"}') as unknown
    const who = await auth.authenticate(await token({ tenant_id: 't-a', sub: 'u', team: parsed }))
    expect(Object.getPrototypeOf(who.principal)).toBe(Object.prototype)
    expect((who.principal as unknown as Record<string, unknown>)['admin']).toBeUndefined()
    expect(({} as Record<string, unknown>)['admin']).toBeUndefined()
  })

  it('stops accepting a remembered token at its expiry', async () => {
    const short = await token({ tenant_id: 't-a', sub: 'u' }, { exp: now() + 2 })
    expect((await auth.authenticate(short)).principal.tenantId).toBe('t-a')
    expect((await auth.authenticate(short)).principal.tenantId).toBe('t-a')
    await new Promise((resolve) => setTimeout(resolve, 2_200))
    expect(await refusal(auth, short)).toBe(REFUSED)
  })
})
