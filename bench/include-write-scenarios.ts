/**
 * The include, create and update scenarios of `npm run bench` (issue 15's peer workloads `getWithCustomer`,
 * `createNote`, `updateNote`), each next to raw node-postgres doing the same work:
 *
 * - include: an order with its customer — Tessera's `get` with `include: { customer: true }` (a correlated
 *   JSON subquery that joins on the tenant column too) against the plain join an application writes;
 * - create: a note on the sampled order — Tessera sets `tenant_id` from the principal and checks the order is
 *   one the caller can see (BEGIN with the INSERT, COMMIT: two round trips); raw pg autocommits its INSERT
 *   (the foreign key checks the order exists);
 * - update: the body of the sampled order's note, by id within the tenant.
 *
 * Writes must not change what later runs measure: every created note is handed to `CreatedNotes`, which deletes
 * it again; updates only touch the notes of the 2,000 sampled orders and cycle through ten short bodies.
 */
import type pg from 'pg'
import type { Toolset } from '../src/tools/create-toolset.ts'
import { BENCH_SQL } from './bench-workloads.ts'
import type { CreatedNotes, SampleRow } from './bench-data.ts'

export interface Scenario {
  readonly name: string
  /** Scenario whose p50 this one's ratio is taken against (its raw unprepared counterpart). */
  readonly baseline: string
  /** Runs one call for sample row `row`; returns the number of rows it got, for the sanity check. */
  readonly run: (row: SampleRow) => Promise<number>
}

export const INCLUDE_BASELINE = 'raw pg order + customer (join)'
export const CREATE_BASELINE = 'raw pg create note'
export const UPDATE_BASELINE = 'raw pg update note'

/** `create 3`, `update 7`, …: ten bodies, so the notes never grow whatever the number of calls. */
function bodies(prefix: string): () => string {
  let n = 0
  return () => `${prefix} ${n++ % 10}`
}

export function includeWriteScenarios(raw: pg.Pool, toolset: Toolset, created: CreatedNotes): Scenario[] {
  const ctx = (row: SampleRow) => ({ principal: { tenantId: row.tenantId } })
  const rawCreateBody = bodies('create')
  const createBody = bodies('create')
  const rawUpdateBody = bodies('update')
  const updateBody = bodies('update')
  return [
    {
      name: INCLUDE_BASELINE,
      baseline: INCLUDE_BASELINE,
      run: async (row) => (await raw.query(BENCH_SQL.getWithCustomer, [row.id, row.tenantId])).rows.length,
    },
    {
      name: 'tessera get + include customer',
      baseline: INCLUDE_BASELINE,
      run: async (row) => {
        const { row: got } = await toolset.get(ctx(row), {
          model: 'Order',
          id: row.id,
          include: { customer: true },
        })
        return got['customer'] ? 1 : 0
      },
    },
    {
      name: CREATE_BASELINE,
      baseline: CREATE_BASELINE,
      run: async (row) => {
        const { rows } = await raw.query<{ id: string }>(BENCH_SQL.createNote, [
          row.tenantId,
          row.id,
          rawCreateBody(),
        ])
        for (const r of rows) created.add(r.id)
        return rows.length
      },
    },
    {
      name: 'tessera create note',
      baseline: CREATE_BASELINE,
      run: async (row) => {
        const { row: note } = await toolset.create(ctx(row), {
          model: 'Note',
          data: { order_id: row.id, body: createBody() },
        })
        created.add(note['id'])
        return 1
      },
    },
    {
      name: UPDATE_BASELINE,
      baseline: UPDATE_BASELINE,
      run: async (row) =>
        (await raw.query(BENCH_SQL.updateNote, [row.noteId, row.tenantId, rawUpdateBody()])).rows.length,
    },
    {
      name: 'tessera update note',
      baseline: UPDATE_BASELINE,
      run: async (row) => {
        const { row: note } = await toolset.update(ctx(row), {
          model: 'Note',
          id: row.noteId,
          data: { body: updateBody() },
        })
        return note['id'] === row.noteId ? 1 : 0
      },
    },
  ]
}
