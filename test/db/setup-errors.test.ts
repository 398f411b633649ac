/**
 * Issue 9, item 14: setup mistakes explain themselves. createToolset against an unreachable server, a missing
 * database, an unknown role or a role without a needed privilege fails with DATABASE_UNAVAILABLE or
 * SETUP_INVALID naming the host, database or role — never the password — instead of `INTERNAL_ERROR`.
 */
import { createServer, type Server, type Socket } from 'node:net'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { createToolset } from '../../src/index.ts'
import { type TesseraError, isTesseraError } from '../../src/errors/index.ts'
import { createPostgresDatabase } from '../../src/executor/index.ts'
import { definePolicy } from '../../src/policy/index.ts'
import { connectionTarget, introspectSchema, setupFailure } from '../../src/schema/index.ts'
import { describeEachDatabase } from '../support/databases.ts'
import { withDatabase } from '../support/global-setup.ts'
import { TEST_SECRET } from '../support/saas.ts'

const PASSWORD = 'Sup3r-s3cret-PW'

const policy = definePolicy({
  profile: 'DEV',
  models: { Country: { table: 'countries', shared: true } },
})

/** createToolset over a pool built from `url`; the error it fails with (the test fails if it does not). */
async function setupErrorFor(
  url: string,
  extra: { connectionTimeoutMillis?: number } = {},
): Promise<TesseraError> {
  const database = createPostgresDatabase({ connectionString: url, ...extra })
  try {
    await createToolset({ db: database.db, policy, secret: TEST_SECRET })
  } catch (error) {
    expect(isTesseraError(error)).toBe(true)
    return error as TesseraError
  } finally {
    await database.close()
  }
  throw new Error('createToolset succeeded')
}

function expectNoPassword(error: TesseraError): void {
  const everything = JSON.stringify({ ...error.toJSON(), message: error.message, hints: error.hints })
  expect(everything).not.toContain(PASSWORD)
}

describe('setup errors without a server', () => {
  let silent: Server
  const sockets = new Set<Socket>()
  let silentPort = 0

  beforeAll(async () => {
    // Accepts TCP connections and never answers: a server that hangs.
    silent = createServer((socket) => {
      sockets.add(socket)
      socket.on('error', () => {})
    })
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve))
    const address = silent.address()
    silentPort = typeof address === 'object' && address !== null ? address.port : 0
  })
  afterAll(async () => {
    for (const s of sockets) s.destroy()
    await new Promise<void>((resolve) => silent.close(() => resolve()))
  })

  it('a refused connection is DATABASE_UNAVAILABLE naming host and port, without the password', async () => {
    const error = await setupErrorFor(`postgres://app:${PASSWORD}@127.0.0.1:1/appdb`)
    expect(error.code).toBe('DATABASE_UNAVAILABLE')
    expect(error.message).toContain('127.0.0.1:1')
    expect(error.message).toContain('connection refused')
    expect(error.hints.join(' ')).toMatch(/host and port/)
    expectNoPassword(error)
  })

  it('an unknown host name is DATABASE_UNAVAILABLE naming the host', async () => {
    const error = await setupErrorFor(`postgres://app:${PASSWORD}@no-such-host.invalid:5432/appdb`)
    expect(error.code).toBe('DATABASE_UNAVAILABLE')
    expect(error.message).toContain('no-such-host.invalid')
    expectNoPassword(error)
  })

  it('a server that never answers is DATABASE_UNAVAILABLE after the connect timeout, naming host, database and role', async () => {
    const error = await setupErrorFor(`postgres://app:${PASSWORD}@127.0.0.1:${silentPort}/appdb`, {
      connectionTimeoutMillis: 300,
    })
    expect(error.code).toBe('DATABASE_UNAVAILABLE')
    expect(error.message).toContain(`127.0.0.1:${silentPort}`)
    expect(error.message).toContain("database 'appdb'")
    expect(error.message).toContain("role 'app'")
    expectNoPassword(error)
  })

  it('a failed password is SETUP_INVALID naming the role (the server here trusts every local login, so the error is built as pg reports it)', () => {
    const pgError = Object.assign(new Error('password authentication failed for user "app"'), {
      code: '28P01',
      severity: 'FATAL',
    })
    const error = setupFailure(pgError, connectionTarget(`postgres://app:${PASSWORD}@db.internal:6432/appdb`))
    expect(error?.code).toBe('SETUP_INVALID')
    expect(error?.message).toBe(
      "Password authentication failed for role 'app' at db.internal:6432, database 'appdb', role 'app'",
    )
    expect(error?.hints.join(' ')).toContain('password is not shown')
    if (error) expectNoPassword(error)
  })

  it('the connection target is read without the password', () => {
    expect(connectionTarget(`postgresql://u%40x:${PASSWORD}@h:7/d%2Fb`)).toEqual({
      host: 'h',
      port: 7,
      database: 'd/b',
      user: 'u@x',
    })
    expect(JSON.stringify(connectionTarget({ host: 'h', password: PASSWORD } as never))).not.toContain(
      PASSWORD,
    )
  })

  it('an error that is not a setup failure is left to the caller (internal error)', () => {
    expect(setupFailure(new TypeError('x is undefined'))).toBeUndefined()
    expect(
      setupFailure(Object.assign(new Error('syntax'), { code: '42601', severity: 'ERROR' })),
    ).toBeUndefined()
  })
})

describeEachDatabase('setup errors on a reachable database', (db) => {
  it('a `role` option naming a role that does not exist is SETUP_INVALID naming it', async () => {
    const error = await createToolset({
      db: db().admin,
      policy,
      secret: TEST_SECRET,
      role: 'no_such_role_x',
    }).then(
      () => undefined,
      (e: unknown) => e,
    )
    expect(isTesseraError(error) && error.code).toBe('SETUP_INVALID')
    expect((error as TesseraError).message).toContain("Role 'no_such_role_x'")
  })
})

const server = inject('postgresTemplate')

// Server only: PGlite is one embedded database with a single superuser session — there is no database to
// miss, no login to refuse and no privilege a session lacks (it is the superuser).
describe.skipIf(server === null)(
  'setup errors of a PostgreSQL server (server only; PGlite has no logins)',
  () => {
    const url = server?.url ?? ''
    const template = server?.template ?? ''

    function withPassword(target: string): string {
      const u = new URL(target)
      u.password = PASSWORD
      return u.toString()
    }

    it('a database that does not exist is SETUP_INVALID naming it, with the command that creates it', async () => {
      const error = await setupErrorFor(withPassword(withDatabase(url, 'tessera_no_such_database')))
      expect(error.code).toBe('SETUP_INVALID')
      expect(error.message).toMatch(/^Database 'tessera_no_such_database' does not exist on /)
      expect(error.hints.join(' ')).toContain('createdb tessera_no_such_database')
      expectNoPassword(error)
    })

    it('a login role that does not exist is SETUP_INVALID naming it', async () => {
      const error = await setupErrorFor(withPassword(withDatabase(url, template, 'tessera_no_such_role')))
      expect(error.code).toBe('SETUP_INVALID')
      expect(error.message).toMatch(/^Role 'tessera_no_such_role' does not exist on /)
      expectNoPassword(error)
    })

    it('a role the login may not switch to is SETUP_INVALID (42501) naming the role, not INTERNAL_ERROR', async () => {
      const database = createPostgresDatabase(withPassword(withDatabase(url, template, 'tessera_app')))
      try {
        const error = await introspectSchema(database.db, { role: 'postgres' }).then(
          () => undefined,
          (e: unknown) => e,
        )
        expect(isTesseraError(error) && error.code).toBe('SETUP_INVALID')
        expect((error as TesseraError).message).toContain("Role 'postgres' lacks a privilege")
        expect((error as TesseraError).hints.join(' ')).toContain('GRANT postgres TO')
        expectNoPassword(error as TesseraError)
      } finally {
        await database.close()
      }
    })
  },
)
