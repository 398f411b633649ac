/**
 * The read scenarios of `npm run bench`: get, 20 rows oldest first, 20 newest, count by status — raw
 * node-postgres (unprepared and named prepared) next to the app-mode toolset doing the same reads.
 */
import type pg from 'pg'
import type { Toolset } from '../src/tools/create-toolset.ts'
import type { SampleRow } from './bench-data.ts'
import { BENCH_SQL } from './bench-workloads.ts'
import type { Scenario } from './include-write-scenarios.ts'

const { get: GET_SQL, list: LIST_SQL, newest: NEWEST_SQL, count: COUNT_SQL } = BENCH_SQL

export function readScenarios(raw: pg.Pool, toolset: Toolset, unaudited: Toolset): Scenario[] {
  const ctx = (row: SampleRow) => ({ principal: { tenantId: row.tenantId } })
  return [
    {
      name: 'raw pg get, unprepared',
      baseline: 'raw pg get, unprepared',
      run: async (row) => (await raw.query(GET_SQL, [row.id, row.tenantId])).rows.length,
    },
    {
      name: 'raw pg get, named prepared',
      baseline: 'raw pg get, unprepared',
      run: async (row) =>
        (await raw.query({ name: 'bench_get', text: GET_SQL, values: [row.id, row.tenantId] })).rows.length,
    },
    {
      name: 'tessera get (app mode)',
      baseline: 'raw pg get, unprepared',
      run: async (row) => {
        const { row: got } = await toolset.get(ctx(row), { model: 'Order', id: row.id })
        return got['id'] === row.id ? 1 : 0
      },
    },
    {
      name: 'tessera get, audit discarded (ablation)',
      baseline: 'raw pg get, unprepared',
      run: async (row) => {
        const { row: got } = await unaudited.get(ctx(row), { model: 'Order', id: row.id })
        return got['id'] === row.id ? 1 : 0
      },
    },
    {
      name: 'raw pg 20 rows, unprepared',
      baseline: 'raw pg 20 rows, unprepared',
      run: async (row) => (await raw.query(LIST_SQL, [row.tenantId])).rows.length,
    },
    {
      name: 'raw pg 20 rows, named prepared',
      baseline: 'raw pg 20 rows, unprepared',
      run: async (row) =>
        (await raw.query({ name: 'bench_list', text: LIST_SQL, values: [row.tenantId] })).rows.length,
    },
    {
      name: 'tessera query 20 rows (app mode)',
      baseline: 'raw pg 20 rows, unprepared',
      run: async (row) => {
        const result = await toolset.query(ctx(row), {
          model: 'Order',
          orderBy: [{ field: 'created_at' }],
          limit: 20,
        })
        return result.rows.length
      },
    },
    {
      name: 'raw pg 20 newest, unprepared',
      baseline: 'raw pg 20 newest, unprepared',
      run: async (row) => (await raw.query(NEWEST_SQL, [row.tenantId])).rows.length,
    },
    {
      name: 'tessera query 20 newest (app mode)',
      baseline: 'raw pg 20 newest, unprepared',
      run: async (row) => {
        const result = await toolset.query(ctx(row), {
          model: 'Order',
          orderBy: [{ field: 'created_at', direction: 'desc' }],
          limit: 20,
        })
        return result.rows.length
      },
    },
    {
      name: 'raw pg count by status, unprepared',
      baseline: 'raw pg count by status, unprepared',
      run: async (row) => (await raw.query(COUNT_SQL, [row.tenantId, 'paid'])).rows.length,
    },
    {
      name: 'tessera count by status (app mode)',
      baseline: 'raw pg count by status, unprepared',
      run: async (row) => {
        const result = await toolset.aggregate(ctx(row), {
          model: 'Order',
          op: 'count',
          where: { field: 'status', op: 'eq', value: 'paid' },
        })
        return 'value' in result ? 1 : 0
      },
    },
  ]
}
