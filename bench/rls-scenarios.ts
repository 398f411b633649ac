/**
 * The `rls` and `both` enforcement scenarios of the read benchmark (docs/rls.md): the RLS generated from the
 * bench policy is applied to the bench table, and the toolsets connect as a non-superuser, non-owner role
 * (`tessera_bench_app`) so the policies apply. Raw pg and the app-mode toolset connect as the bench URL's user,
 * which must be a superuser (RLS never applies to one), so their numbers are unchanged.
 *
 * The RLS comes off the table again in `close()` (read-bench.ts calls it in its `finally`), so nothing is left
 * FORCEd on `bench_orders` for the next run or for a non-superuser reading it.
 *
 * Next to them, the hand-written RLS transaction in four round trips (BEGIN; set_config; SELECT; COMMIT) that
 * an application would write without Tessera, as a second baseline, and the same transaction as one
 * simple-protocol message with the values spliced in as escaped literals (the peer bench's `pg-rls-1rt`): what
 * one round trip with RLS costs when nothing is prepared, the floor Tessera's one-round-trip batch is held to.
 */
import { Kysely, PostgresDialect, sql } from 'kysely'
import pg from 'pg'
import { createToolset } from '../src/create-toolset-with-rls.ts'
import { runDdl } from '../src/executor/index.ts'
import { createTesseraDialect } from '../src/executor/tessera-dialect.ts'
import { bindPolicy, type Policy } from '../src/policy/index.ts'
import { applyRls, dropRlsStatements, generateRls, type GeneratedRls } from '../src/rls/index.ts'
import { introspectSchema } from '../src/schema/index.ts'
import { BENCH_TABLE, type SampleRow } from './bench-data.ts'

export const BENCH_APP_ROLE = 'tessera_bench_app'

export interface RlsScenario {
  readonly name: string
  readonly baseline: string
  readonly run: (row: SampleRow) => Promise<number>
}

export interface RlsScenarios {
  readonly scenarios: readonly RlsScenario[]
  /** The hand-written four-round-trip get, for the second ratio. */
  readonly handWrittenGet: string
  /** The hand-written one-message get, for the third ratio. */
  readonly oneMessageGet: string
  close(): Promise<void>
}

const RLS_GET_SQL = `select id, status, total, created_at from ${BENCH_TABLE} where id = $1`

export async function prepareRlsScenarios(
  poolConfig: pg.PoolConfig,
  policy: Policy,
  secret: string,
  statementTimeoutMs: number,
): Promise<RlsScenarios> {
  const owner = () =>
    new Kysely<any>({ dialect: new PostgresDialect({ pool: new pg.Pool({ ...poolConfig, max: 1 }) }) })
  const setup = owner()
  let generated: GeneratedRls
  try {
    await sql
      .raw(
        `do $$ begin if not exists (select 1 from pg_roles where rolname = '${BENCH_APP_ROLE}') then ` +
          `create role ${BENCH_APP_ROLE} login; end if; end $$`,
      )
      .execute(setup)
    const schema = await introspectSchema(setup)
    generated = generateRls(bindPolicy(policy, schema), { appRole: BENCH_APP_ROLE })
    await applyRls(setup, generated)
  } finally {
    await setup.destroy()
  }
  /** Takes the RLS off the bench table again, so a later run (or another bench on it) meets the plain table. */
  async function removeRls(): Promise<void> {
    const teardown = owner()
    try {
      await runDdl(teardown, dropRlsStatements(generated))
    } finally {
      await teardown.destroy()
    }
  }
  try {
    return await scenariosOver(poolConfig, policy, secret, statementTimeoutMs, removeRls)
  } catch (error) {
    await removeRls()
    throw error
  }
}

async function scenariosOver(
  poolConfig: pg.PoolConfig,
  policy: Policy,
  secret: string,
  statementTimeoutMs: number,
  removeRls: () => Promise<void>,
): Promise<RlsScenarios> {
  const url = new URL(String(poolConfig.connectionString))
  url.username = BENCH_APP_ROLE
  url.password = ''
  const appPool = new pg.Pool({ ...poolConfig, connectionString: url.toString() })
  const db = new Kysely<any>({ dialect: createTesseraDialect({ pool: appPool, statementTimeoutMs }) })
  const rls = await createToolset({ db, policy, secret, enforcement: 'rls' })
  const both = await createToolset({ db, policy, secret, enforcement: 'both' })
  const handPool = new pg.Pool({ ...poolConfig, connectionString: url.toString() })
  const ctx = (row: SampleRow) => ({ principal: { tenantId: row.tenantId } })
  const handWrittenGet = 'pg + RLS get, 4 round trips (hand-written)'
  const oneMessageGet = 'pg + RLS get, 1 message (hand-written)'
  const query20 = (mode: 'rls' | 'both') => ({
    name: `tessera query 20 rows (${mode} mode)`,
    baseline: 'raw pg 20 rows, unprepared',
    run: async (row: SampleRow) =>
      (
        await (mode === 'rls' ? rls : both).query(ctx(row), {
          model: 'Order',
          orderBy: [{ field: 'created_at' }],
          limit: 20,
        })
      ).rows.length,
  })
  const get = (mode: 'rls' | 'both') => ({
    name: `tessera get (${mode} mode)`,
    baseline: 'raw pg get, unprepared',
    run: async (row: SampleRow) => {
      const { row: got } = await (mode === 'rls' ? rls : both).get(ctx(row), { model: 'Order', id: row.id })
      return got['id'] === row.id ? 1 : 0
    },
  })
  const lit = (value: string) => pg.escapeLiteral(value)
  return {
    handWrittenGet,
    oneMessageGet,
    scenarios: [
      {
        name: handWrittenGet,
        baseline: 'raw pg get, unprepared',
        run: async (row) => {
          const client = await handPool.connect()
          try {
            await client.query('begin')
            await client.query(`select set_config('tessera.tenant_id', $1, true)`, [row.tenantId])
            const { rows } = await client.query(RLS_GET_SQL, [row.id])
            await client.query('commit')
            return rows.length
          } finally {
            client.release()
          }
        },
      },
      {
        name: oneMessageGet,
        baseline: 'raw pg get, unprepared',
        // BEGIN; set_config; SELECT; COMMIT as one simple-protocol message: one round trip, nothing prepared.
        run: async (row) => {
          const results = (await handPool.query(
            `begin; select set_config('tessera.tenant_id', ${lit(row.tenantId)}, true); ` +
              `${RLS_GET_SQL.replace('$1', lit(row.id))}; commit`,
          )) as unknown as pg.QueryResult[]
          return results[2]?.rows.length ?? 0
        },
      },
      get('rls'),
      get('both'),
      query20('rls'),
      query20('both'),
    ],
    async close() {
      await db.destroy()
      await handPool.end()
      await removeRls()
    },
  }
}
