/**
 * Verified JWTs are remembered for a short while (src/mcp/verified-token-cache.ts), never longer than
 * verification itself would accept them, and never across a change of the auth file.
 */
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { SignJWT } from 'jose'
import { afterAll, describe, expect, it } from 'vitest'
import { createAuthenticator, createFileAuthenticator, parseAuthConfig } from '../../src/mcp/index.ts'
import { VerifiedTokenCache } from '../../src/mcp/verified-token-cache.ts'

const ISSUER = 'https://auth.cache.test'
const AUDIENCE = 'tessera-cache-test'
const SECRET_A = 'token-cache-secret-a-0123456789abcdef-xyz'
const SECRET_B = 'token-cache-secret-b-0123456789abcdef-xyz'
process.env['TESSERA_CACHE_TEST_A'] = SECRET_A
process.env['TESSERA_CACHE_TEST_B'] = SECRET_B
afterAll(() => {
  delete process.env['TESSERA_CACHE_TEST_A']
  delete process.env['TESSERA_CACHE_TEST_B']
})

const jwtSection = (secretEnv: string) => ({
  issuer: ISSUER,
  audience: AUDIENCE,
  algorithms: ['HS256' as const],
  secretEnv,
  claims: { tenantId: 'tenant_id' },
  clockToleranceSeconds: 0,
})

function mint(secret: string, expSeconds: number): Promise<string> {
  return new SignJWT({ tenant_id: 'tenant-1', sub: 'u1' })
    .setProtectedHeader({ alg: 'HS256' })
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setIssuedAt()
    .setExpirationTime(expSeconds)
    .sign(new TextEncoder().encode(secret))
}

const identity = { principal: { tenantId: 't' }, rateKey: 'jwt:x|u' }

describe('verified token cache', () => {
  it('forgets an entry at its TTL or at the token’s expiry, whichever comes first', () => {
    let now = 1_000_000
    const cache = new VerifiedTokenCache(30_000, 10, () => now)
    cache.remember('long-lived', identity, now + 3_600_000)
    cache.remember('short-lived', identity, now + 5_000)
    now += 4_999
    expect(cache.get('long-lived')).toBe(identity)
    expect(cache.get('short-lived')).toBe(identity)
    now += 1
    expect(cache.get('short-lived')).toBeUndefined()
    now += 25_000
    expect(cache.get('long-lived')).toBeUndefined()
  })

  it('never remembers a token that has already expired, and stays within its bound', () => {
    const now = 5_000_000
    const cache = new VerifiedTokenCache(30_000, 3, () => now)
    cache.remember('expired', identity, now)
    expect(cache.get('expired')).toBeUndefined()
    for (const t of ['a', 'b', 'c', 'd']) cache.remember(t, identity, now + 60_000)
    expect(cache.size).toBe(3)
    expect(cache.get('a')).toBeUndefined()
    expect(cache.get('d')).toBe(identity)
  })

  it('refuses a token once it expires although it was verified a moment before', async () => {
    const auth = await createAuthenticator(parseAuthConfig({ jwt: jwtSection('TESSERA_CACHE_TEST_A') }))
    const exp = Math.floor(Date.now() / 1000) + 2
    const token = await mint(SECRET_A, exp)
    expect((await auth.authenticate(token)).principal.tenantId).toBe('tenant-1')
    expect((await auth.authenticate(token)).principal.tenantId).toBe('tenant-1')
    await new Promise((r) => setTimeout(r, exp * 1000 - Date.now() + 50))
    await expect(auth.authenticate(token)).rejects.toMatchObject({ code: 'AUTHENTICATION_REQUIRED' })
  })

  it('refuses a remembered token at once when the auth file changes its key', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tessera-token-cache-'))
    const file = join(dir, 'auth.json')
    writeFileSync(file, JSON.stringify({ jwt: jwtSection('TESSERA_CACHE_TEST_A') }))
    const auth = await createFileAuthenticator(file)
    const token = await mint(SECRET_A, Math.floor(Date.now() / 1000) + 600)
    expect((await auth.authenticate(token)).principal.tenantId).toBe('tenant-1')
    writeFileSync(file, JSON.stringify({ jwt: { ...jwtSection('TESSERA_CACHE_TEST_B') }, apiKeys: [] }))
    await expect(auth.authenticate(token)).rejects.toMatchObject({ code: 'AUTHENTICATION_REQUIRED' })
    expect(
      (await auth.authenticate(await mint(SECRET_B, Math.floor(Date.now() / 1000) + 600))).principal.tenantId,
    ).toBe('tenant-1')
  })
})
