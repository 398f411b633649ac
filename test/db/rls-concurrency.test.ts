/**
 * Claims under concurrency (docs/rls.md, Claims): 1,000 interleaved calls from 50 tenants through an `rls`-mode
 * toolset — where the statement carries no tenant predicate, so the claims alone decide — over a pool of 10
 * connections of the non-superuser, non-owner application role, while pooled connections are killed
 * (pg_terminate_backend) at random. Every answer holds only the caller's rows and exactly their count, every
 * failed call carries a stable code, and a connection taken from the pool between calls never holds a claim.
 *
 * PostgreSQL only: PGlite has a single session, so there is no pool whose connections could carry claims from
 * one call into the next, and no backend to terminate.
 */
import { randomUUID } from 'node:crypto'
import { CompiledQuery, sql } from 'kysely'
import { beforeAll, expect, it } from 'vitest'
import { isTesseraError } from '../../src/errors/index.ts'
import { createPostgresDatabase, type PostgresDatabase } from '../../src/executor/index.ts'
import { createToolset } from '../../src/index.ts'
import { bindPolicy, loadPolicyFile, type Policy } from '../../src/policy/index.ts'
import { applyRls, generateRls } from '../../src/rls/index.ts'
import { introspectSchema } from '../../src/schema/index.ts'
import { APP_ROLE, availableDatabases, describeEachDatabase } from '../support/databases.ts'
import { TEST_SECRET } from '../support/saas.ts'

const TENANTS = 50
const CALLS = 1_000
const WORKERS = 20
const POOL_SIZE = 10
/** Codes a call may fail with when its connection is killed under it, or its tenant is momentarily at its limit. */
const STABLE_FAILURES = new Set(['INTERNAL_ERROR', 'RATE_LIMITED', 'TIMEOUT', 'DATABASE_UNAVAILABLE'])

if (!availableDatabases().includes('postgres'))
  it.skip('rls claims under concurrency need PostgreSQL: PGlite has one session, no pool and no backend to kill', () => {})

describeEachDatabase(
  'rls claims under concurrency with connections killed mid-run',
  (db) => {
    let policy: Policy
    const tenants: { id: string; customers: number }[] = []

    beforeAll(async () => {
      const admin = db().admin
      policy = await loadPolicyFile('policies/demo.yaml')
      await applyRls(
        admin,
        generateRls(bindPolicy(policy, await introspectSchema(admin, { role: APP_ROLE }))),
      )
      // 50 tenants with 1 to 5 customers each, so a wrong tenant's rows or count cannot pass for the right ones.
      for (let i = 0; i < TENANTS; i++) {
        const id = randomUUID()
        const customers = 1 + (i % 5)
        await admin
          .insertInto('tenants')
          .values({ id, name: `load-${i}` })
          .execute()
        await admin
          .insertInto('customers')
          .values(Array.from({ length: customers }, (_, k) => ({ tenant_id: id, name: `c${i}-${k}` })))
          .execute()
        tenants.push({ id, customers })
      }
    }, 120_000)

    it('returns only the caller’s rows in 1,000 calls from 50 tenants over a pool of 10 while connections are killed', async () => {
      const { appPool } = db()
      const database: PostgresDatabase = createPostgresDatabase({ ...appPool.options, max: POOL_SIZE })
      const toolset = await createToolset({
        db: database.db,
        policy,
        secret: TEST_SECRET,
        enforcement: 'rls',
      })
      const dbName = (await sql<{ d: string }>`select current_database() as d`.execute(db().admin)).rows[0]?.d

      let killed = 0
      let running = true
      const killer = (async () => {
        while (running) {
          await new Promise((r) => setTimeout(r, 15 + Math.random() * 30))
          const victims = await sql<{ pid: number }>`
            select pid from pg_stat_activity where usename = ${APP_ROLE} and datname = ${dbName}
            order by random() limit 1`.execute(db().admin)
          const pid = victims.rows[0]?.pid
          if (pid === undefined) continue
          const done = await sql<{ ok: boolean }>`select pg_terminate_backend(${pid}) as ok`.execute(
            db().admin,
          )
          if (done.rows[0]?.ok) killed++
        }
      })()

      let next = 0
      let answered = 0
      let staleProbes = 0
      let probes = 0
      const failures = new Map<string, number>()
      const problems: string[] = []
      const worker = async () => {
        while (next < CALLS) {
          const n = next++
          const tenant = tenants[(n * 7) % TENANTS]
          if (!tenant) throw new Error('no tenant')
          const ctx = { principal: { tenantId: tenant.id, userId: randomUUID(), roles: ['member'] } }
          try {
            if (n % 2 === 0) {
              const r = await toolset.query(ctx, {
                model: 'Customer',
                select: ['id', 'tenant_id'],
                limit: 50,
              })
              const foreign = r.rows.filter((row) => row['tenant_id'] !== tenant.id)
              if (foreign.length > 0) problems.push(`call ${n}: ${foreign.length} foreign rows`)
              if (r.rows.length !== tenant.customers) problems.push(`call ${n}: ${r.rows.length} rows`)
            } else {
              const r = await toolset.aggregate(ctx, { model: 'Customer', op: 'count' })
              const count = Number((r as { value: unknown }).value)
              if (count !== tenant.customers) problems.push(`call ${n}: count ${count}`)
            }
            answered++
          } catch (error) {
            const code = isTesseraError(error) ? error.code : `untyped ${String(error)}`
            failures.set(code, (failures.get(code) ?? 0) + 1)
            if (!STABLE_FAILURES.has(code)) problems.push(`call ${n}: ${code}`)
          }
          if (n % 10 === 0) {
            // A pooled connection between calls: no claim may survive the transaction that set it.
            probes++
            try {
              const probe = await database.db.executeQuery<{ t: string | null; r: string | null }>(
                CompiledQuery.raw(
                  "select nullif(current_setting('tessera.tenant_id', true), '') as t, " +
                    "nullif(current_setting('tessera.roles', true), '') as r",
                ),
              )
              const row = probe.rows[0]
              if (row?.t !== null || row.r !== null) staleProbes++
            } catch {
              // the probe's connection was killed: nothing to read
            }
          }
        }
      }
      try {
        await Promise.all(Array.from({ length: WORKERS }, worker))
      } finally {
        running = false
        await killer
        await database.close()
      }

      expect(problems).toEqual([])
      expect(staleProbes).toBe(0)
      expect(probes).toBeGreaterThanOrEqual(CALLS / 10)
      // The run is not vacuous: connections were killed under it, and most calls still answered.
      expect(killed).toBeGreaterThan(0)
      expect(answered).toBeGreaterThan(CALLS / 2)
      expect(answered + [...failures.values()].reduce((a, b) => a + b, 0)).toBe(CALLS)
    }, 300_000)
  },
  { only: ['postgres'] },
)
