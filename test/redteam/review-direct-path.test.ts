/**
 * Review of the direct statement path (src/executor/direct-statements.ts, the pool's `connect(callback)` in
 * acquire-connection.ts): reads and self-committing writes skip Kysely's connection provider once a call proved
 * the executor takes bare connections from the Tessera driver's pool. Shortcut-shaped leaks it must not have:
 * a call running on a connection that still carries another call's session state (claims, role, read-only,
 * statement_timeout), on a host's `db.connection()` or transaction, or on a connection the server killed.
 * The suite harness logs queries, which keeps the direct path off (toolset.ts), so this file builds a Kysely
 * without `log` and checks the direct path really ran. Held: every call reads its own tenant's rows and the
 * pool's idle connections carry no session state, in app, rls and both, interleaved with host work and with
 * backends terminated mid-flight (PostgreSQL).
 */
import { Kysely, sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { createToolset as createCheckedToolset } from '../../src/create-toolset-with-rls.ts'
import { createTesseraDialect, type EnforcementMode } from '../../src/executor/index.ts'
import { directStatementsOf } from '../../src/executor/tessera-dialect.ts'
import { definePolicy } from '../../src/policy/define-policy.ts'
import type { PolicyInput } from '../../src/policy/policy-schema.ts'
import { createToolset, type Toolset, type ToolsetOptions } from '../../src/tools/create-toolset.ts'
import { APP_ROLE, describeEachDatabase, type TestDatabase } from '../support/databases.ts'
import { TEST_SECRET } from '../support/saas.ts'
import { toolsetFor } from '../support/toolset.ts'

const TENANTS = ['1', '2', '3', '4', '5', '6']

const policy: PolicyInput = {
  models: {
    Memo: {
      table: 'rv_memos',
      fields: { id: { action: 'allow', acceptGlobalUnique: true }, tenant_id: 'allow', body: 'allow' },
      scoping: { tenant_id: 'principal.tenantId' },
      write: { create: 'allow', update: 'allow', autoSet: { tenant_id: 'principal.tenantId' } },
    },
  },
}

const as = (tenantId: string) => ({ principal: { tenantId, userId: `u${tenantId}` } })

function suite(db: () => TestDatabase): void {
  beforeAll(async () => {
    const admin = db().admin
    await sql`create table rv_memos (id int primary key, tenant_id int not null, body text not null)`.execute(
      admin,
    )
    for (const t of TENANTS) {
      await sql`insert into rv_memos values (${Number(t)}, ${Number(t)}, ${`memo of ${t}`})`.execute(admin)
    }
    await sql`grant select, insert, update on rv_memos to ${sql.id(APP_ROLE)}`.execute(admin)
  })

  for (const mode of ['app', 'rls', 'both'] as EnforcementMode[]) {
    describe(`under ${mode}`, () => {
      let kysely: Kysely<unknown>
      let toolset: Toolset
      beforeAll(async () => {
        // Installs this policy's RLS (rls, both) through the suite harness, then a toolset on a Kysely
        // without `log`: the direct path's precondition.
        if (mode !== 'app') await toolsetFor(db(), policy, { enforcement: mode })
        kysely = new Kysely<unknown>({ dialect: createTesseraDialect({ pool: db().appPool }) })
        const create: (o: ToolsetOptions) => Promise<Toolset> =
          mode === 'app' ? createToolset : createCheckedToolset
        toolset = await create({
          db: kysely,
          policy: definePolicy(policy),
          secret: TEST_SECRET,
          enforcement: mode,
        })
      })
      afterAll(async () => {
        // The pool is the test database's: only the instance's own state goes.
        vi.restoreAllMocks()
      })

      const readOwn = async (t: string): Promise<string[]> =>
        (await toolset.query(as(t), { model: 'Memo', select: ['body'] })).rows.map((r) => String(r['body']))

      it('serves interleaved tenants their own rows through the direct path while the host uses connections and transactions', async () => {
        const direct = directStatementsOf(kysely as never)
        expect(direct).toBeDefined()
        const run = vi.spyOn(direct as NonNullable<typeof direct>, 'run')
        await readOwn('1') // the probing call
        const host = kysely as Kysely<any>
        const calls: Promise<unknown>[] = []
        for (let round = 0; round < 8; round++) {
          for (const t of TENANTS) {
            calls.push(readOwn(t).then((rows) => expect({ t, rows }).toEqual({ t, rows: [`memo of ${t}`] })))
          }
          calls.push(
            host.transaction().execute(async (trx) => {
              await sql`select set_config('statement_timeout', '1234', true), set_config('tessera.tenant_id', '2', true)`.execute(
                trx,
              )
              return sql`select 1`.execute(trx)
            }),
            host.connection().execute((c) => sql`select pg_sleep(0.001)`.execute(c)),
          )
        }
        await Promise.all(calls)
        expect(run.mock.calls.length).toBeGreaterThan(0)
        run.mockRestore()
      })

      it('leaves no call’s claims, role, read-only or timeout on the pool’s idle connections', async () => {
        await Promise.all(TENANTS.map((t) => readOwn(t)))
        const updated = await toolset.call(as('3'), 'db_update', {
          model: 'Memo',
          id: 3,
          data: { body: 'memo of 3' },
        })
        expect(updated.ok).toBe(true)
        // Every connection the pool holds, at once, as a host would get them.
        const pool = db().appPool
        const clients = await Promise.all([0, 1, 2, 3].map(() => pool.connect()))
        try {
          for (const c of clients) {
            const { rows } = await c.query<Record<string, string | null>>(
              `select nullif(current_setting('tessera.tenant_id', true), '') as tenant,
                      nullif(current_setting('tessera.user_id', true), '') as "user",
                      current_setting('transaction_read_only') as ro, current_user as who`,
            )
            expect(rows[0]).toMatchObject({ tenant: null, user: null, ro: 'off' })
          }
        } finally {
          for (const c of clients) c.release()
        }
      })

      it('after the server kills every app backend mid-flight, later calls each read their own rows again', async () => {
        const calls = TENANTS.flatMap((t) => [readOwn(t), readOwn(t)]).map((p) =>
          p.then(
            (rows) => ({ ok: true as const, rows }),
            (error: unknown) => ({ ok: false as const, error }),
          ),
        )
        await sql`select pg_terminate_backend(pid) from pg_stat_activity
                    where usename = ${APP_ROLE} and datname = current_database() and pid <> pg_backend_pid()`.execute(
          db().admin,
        )
        const settled = await Promise.all(calls)
        settled.forEach((s, i) => {
          const t = TENANTS[Math.floor(i / 2)] as string
          if (s.ok) expect(s.rows).toEqual([`memo of ${t}`])
        })
        // A client handed out before its socket saw the termination fails once (as on Kysely's path); it
        // must be destroyed, not pooled again: within a few rounds every call reads its own rows again.
        let failures = 0
        for (let round = 0; round < 6; round++) {
          for (const t of TENANTS) {
            const rows = await readOwn(t).catch(() => undefined)
            if (rows === undefined) failures++
            else expect(rows).toEqual([`memo of ${t}`])
          }
        }
        expect(failures).toBeLessThanOrEqual(4)
        for (const t of TENANTS) expect(await readOwn(t)).toEqual([`memo of ${t}`])
      })
    })
  }
}

/** A model whose reads run past its 1 ms statement timeout (a scan of 300k rows): its read fails after its settings. */
const boomPolicy: PolicyInput = {
  models: {
    Boom: {
      table: 'rv_boom',
      fields: { id: 'allow', tenant_id: 'allow', v: 'allow' },
      scoping: { tenant_id: 'principal.tenantId' },
      budget: { statementTimeoutMs: 1, broadQueryGuard: false },
    },
  },
}

function failingStatements(db: () => TestDatabase): void {
  it('a read that times out after its settings leaves no timeout or claim on any idle connection, and the next calls read their own rows', async () => {
    await sql`create table rv_boom as select g as id, 1 as tenant_id, g as v from generate_series(1, 300000) g`.execute(
      db().admin,
    )
    await sql`alter table rv_boom add primary key (id)`.execute(db().admin)
    await sql`create index on rv_boom (tenant_id)`.execute(db().admin)
    await sql`analyze rv_boom`.execute(db().admin)
    await sql`grant select on rv_boom to ${sql.id(APP_ROLE)}`.execute(db().admin)
    const kysely = new Kysely<unknown>({ dialect: createTesseraDialect({ pool: db().appPool }) })
    const toolset = await createToolset({ db: kysely, policy: definePolicy(boomPolicy), secret: TEST_SECRET })
    const direct = directStatementsOf(kysely as never) as NonNullable<ReturnType<typeof directStatementsOf>>
    await toolset.query(as('2'), { model: 'Boom' }) // the probing call
    const run = vi.spyOn(direct, 'run')
    const failed = await Promise.all(
      TENANTS.map((t) =>
        toolset.call(as(t), 'db_query', { model: 'Boom', where: { field: 'v', op: 'eq', value: -1 } }),
      ),
    )
    // Tenant 1's scan times out; the others' tenants have no rows and answer at once.
    expect(failed[0]?.ok ? 'ok' : failed[0]?.error.code).toMatch(/TIMEOUT/)
    expect(run.mock.calls.length).toBeGreaterThan(0)
    run.mockRestore()
    const clients = await Promise.all([0, 1, 2, 3].map(() => db().appPool.connect()))
    try {
      for (const c of clients) {
        const { rows } = await c.query<Record<string, string | null>>(
          `select current_setting('statement_timeout') as timeout,
                  nullif(current_setting('tessera.tenant_id', true), '') as tenant,
                  current_setting('transaction_read_only') as ro`,
        )
        expect(rows[0]).toEqual({ timeout: '0', tenant: null, ro: 'off' })
      }
    } finally {
      for (const c of clients) c.release()
    }
    // rv_memos carries the RLS the `both` suite above installed: read it as that mode does.
    const memos = await createCheckedToolset({
      db: kysely,
      policy: definePolicy(policy),
      secret: TEST_SECRET,
      enforcement: 'both',
    })
    for (const t of TENANTS) {
      expect((await memos.query(as(t), { model: 'Memo', select: ['body'] })).rows).toEqual([
        { body: `memo of ${t}` },
      ])
    }
  })
}

// PostgreSQL only: the PGlite test pool is one session, where holding every idle client at once waits forever.
describeEachDatabase(
  'review: the direct statement path under concurrency, host work and killed backends',
  (db) => {
    suite(db)
    failingStatements(db)
  },
  {
    only: ['postgres'],
  },
)
