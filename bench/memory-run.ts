/**
 * Memory over a long mixed run (`npm run bench -- --memory`): RSS and heap of this process at checkpoints while
 * one toolset serves get, 20-row pages (half of them followed by their next page through the cursor), newest
 * first pages, counts, gets with an include, note creates and note updates, from the sampled tenants and (`--memory-new-tenants`) a stream of tenants never seen
 * before. Every cache on the call path (statement templates, cursor bindings, statement names, the audit store's
 * kept records) is bounded, so once the audit store is full the figures stay flat whatever the number of calls
 * or cursors; what grows with new tenants shows as steady growth between checkpoints. Heap figures are taken
 * after a full GC. Created notes are deleted again at every checkpoint (`CreatedNotes`), so the data set does
 * not grow either.
 */
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import type { Toolset } from '../src/tools/create-toolset.ts'
import { seededRandom, type CreatedNotes, type SampleRow } from './bench-data.ts'

export interface MemoryCheckpoint {
  readonly calls: number
  /** Distinct tenants seen so far. */
  readonly tenants: number
  /** Cursors issued so far. */
  readonly cursors: number
  readonly seconds: number
  readonly rssMb: number
  readonly heapUsedMb: number
}

export interface MemoryRunOptions {
  readonly calls: number
  /** Stop early (at a checkpoint) once this much time has passed. */
  readonly maxSeconds: number
  /** Calls in flight at once. */
  readonly concurrency: number
  /** Share of calls (0–1) made for a tenant never seen before; the rest use the sampled tenants. */
  readonly newTenantShare: number
}

/** A full GC (the flag is set at run time, so the bench needs no node option). */
function collectGarbage(): void {
  setFlagsFromString('--expose-gc')
  const gc = runInNewContext('gc') as () => void
  gc()
}

function uuidFrom(random: () => number): string {
  const hex = Array.from({ length: 32 }, () => Math.floor(random() * 16).toString(16)).join('')
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-8${hex.slice(17, 20)}-${hex.slice(20, 32)}`
}

export async function runMemory(
  toolset: Toolset,
  created: CreatedNotes,
  sample: readonly SampleRow[],
  options: MemoryRunOptions,
  report: (checkpoint: MemoryCheckpoint) => void,
): Promise<MemoryCheckpoint[]> {
  const random = seededRandom(7_331)
  // Counted, not kept: the bench must not grow with the tenants it invents.
  const sampledTenants = new Set(sample.map((r) => r.tenantId)).size
  let freshTenants = 0
  let cursors = 0
  let done = 0
  const started = performance.now()
  const checkpoints: MemoryCheckpoint[] = []
  // Checkpoints at 1%, 5%, 10%, 25%, 50%, 75% and 100% of the calls, and at least every 20 s.
  const marks = [0.01, 0.05, 0.1, 0.25, 0.5, 0.75, 1].map((f) => Math.max(1, Math.round(options.calls * f)))
  let nextMark = 0
  let lastCheckpoint = started

  const oneCall = async (): Promise<void> => {
    const row = sample[Math.floor(random() * sample.length)] as SampleRow
    // A share of calls comes from tenants never seen before: per-tenant state grows with them.
    const fresh = random() < options.newTenantShare
    if (fresh) freshTenants++
    const tenantId = fresh ? uuidFrom(random) : row.tenantId
    const ctx = { principal: { tenantId } }
    const pick = random()
    // A new tenant's get, include, create and update fail (NOT_FOUND: the order and note are not its own).
    if (pick < 0.3) {
      await toolset.get(ctx, { model: 'Order', id: row.id }).catch(() => undefined)
    } else if (pick < 0.38) {
      await toolset
        .get(ctx, { model: 'Order', id: row.id, include: { customer: true } })
        .catch(() => undefined)
    } else if (pick < 0.44) {
      const note = await toolset
        .create(ctx, { model: 'Note', data: { order_id: row.id, body: `memory ${done % 10}` } })
        .catch(() => undefined)
      if (note) created.add(note.row['id'])
    } else if (pick < 0.5) {
      await toolset
        .update(ctx, { model: 'Note', id: row.noteId, data: { body: `memory ${done % 10}` } })
        .catch(() => undefined)
    } else if (pick < 0.72) {
      const page = await toolset.query(ctx, { model: 'Order', orderBy: [{ field: 'created_at' }], limit: 20 })
      if (page.nextCursor !== null) {
        cursors++
        if (random() < 0.5) {
          await toolset.query(ctx, {
            model: 'Order',
            orderBy: [{ field: 'created_at' }],
            limit: 20,
            cursor: page.nextCursor,
          })
        }
      }
    } else if (pick < 0.9) {
      await toolset.query(ctx, {
        model: 'Order',
        where: { field: 'status', op: 'eq', value: 'paid' },
        orderBy: [{ field: 'created_at', direction: 'desc' }],
        limit: 20,
      })
    } else {
      await toolset.aggregate(ctx, {
        model: 'Order',
        op: 'count',
        where: { field: 'status', op: 'eq', value: 'paid' },
      })
    }
  }

  let stop = false
  const worker = async (): Promise<void> => {
    while (!stop && done < options.calls) {
      done++
      await oneCall()
      const now = performance.now()
      const atMark = nextMark < marks.length && done >= (marks[nextMark] as number)
      const late = now - lastCheckpoint > 20_000 || (now - started) / 1000 > options.maxSeconds
      if ((atMark || late) && !stop) {
        if (atMark) nextMark++
        lastCheckpoint = now
        await created.flush()
        collectGarbage()
        const memory = process.memoryUsage()
        const checkpoint: MemoryCheckpoint = {
          calls: done,
          tenants: sampledTenants + freshTenants,
          cursors,
          seconds: (performance.now() - started) / 1000,
          rssMb: memory.rss / 1_048_576,
          heapUsedMb: memory.heapUsed / 1_048_576,
        }
        checkpoints.push(checkpoint)
        report(checkpoint)
        if (checkpoint.seconds > options.maxSeconds) stop = true
      }
    }
  }
  await Promise.all(Array.from({ length: options.concurrency }, () => worker()))
  await created.flush()
  return checkpoints
}
