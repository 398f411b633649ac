/**
 * `tessera audit tail --follow`: after the newest records, keep polling the store and print each record the
 * first time it is seen, oldest first, until the signal aborts (SIGINT). The PostgreSQL store has no change
 * feed, so a poll re-reads a short window before the newest timestamp seen (LOOKBACK_MS) and drops the ids
 * already printed: records do not become visible in timestamp order (the store batches reads' records), and a
 * record that shows up late but inside the window is still printed once; one that becomes visible more than
 * LOOKBACK_MS after its own timestamp is missed (docs/audit.md). A JSONL file is followed by the bytes appended
 * to it (JsonlTail), so a poll costs what was written since the last one and no record is missed; when the
 * file is rotated, truncated or rewritten, the window is re-read once as above.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import { JsonlAuditStore, JsonlTail, type AuditRecord, type AuditStore } from '../stores/index.ts'

/** How far before the newest timestamp seen each poll looks again. */
export const LOOKBACK_MS = 5_000
const PAGE = 1_000

/** The ids seen within the look-back window, and the newest timestamp seen. */
export class FollowWindow {
  readonly #seen = new Map<string, number>()
  #newest: number

  constructor(now: number) {
    this.#newest = now
  }

  /** Where the next poll starts. */
  since(): Date {
    return new Date(this.#newest - LOOKBACK_MS)
  }

  /** The records not seen before (each once, however often `records` holds it), oldest first. */
  admit(records: readonly AuditRecord[]): AuditRecord[] {
    const fresh: AuditRecord[] = []
    for (const r of records) {
      if (this.#seen.has(r.id)) continue
      const at = Date.parse(r.timestamp)
      this.#seen.set(r.id, at)
      if (at > this.#newest) this.#newest = at
      fresh.push(r)
    }
    const horizon = this.#newest - LOOKBACK_MS
    for (const [id, at] of this.#seen) if (at < horizon) this.#seen.delete(id)
    return fresh.sort((a, b) => a.timestamp.localeCompare(b.timestamp))
  }
}

/** Every record from `since` on (paged; newest first as the store returns them). */
async function recordsSince(store: AuditStore, since: Date): Promise<AuditRecord[]> {
  const out: AuditRecord[] = []
  for (let offset = 0; ; offset += PAGE) {
    const page = await store.query({ from: since, limit: PAGE, offset })
    out.push(...page)
    if (page.length < PAGE) return out
  }
}

export interface FollowOptions {
  readonly lines: number
  readonly intervalMs: number
  readonly signal: AbortSignal
  /** Prints one batch of records, oldest first (a batch may be empty). */
  readonly print: (records: readonly AuditRecord[]) => void
}

/** Prints the newest `lines` records, then every new record until `signal` aborts. */
export async function followAudit(store: AuditStore, options: FollowOptions): Promise<void> {
  const { signal } = options
  const window = new FollowWindow(Date.now())
  // Held before the first read: a record appended meanwhile is read twice (and admitted once), never missed.
  const appended = store instanceof JsonlAuditStore ? await JsonlTail.open(store.path) : null
  try {
    // Mark the current window seen before printing the tail, so nothing older than the tail is printed as new.
    window.admit(await recordsSince(store, window.since()))
    const tail = (await store.query({ limit: options.lines })).reverse()
    window.admit(tail)
    options.print(tail)
    while (!signal.aborted) {
      try {
        await sleep(options.intervalMs, undefined, { signal })
      } catch {
        return // aborted while waiting
      }
      const fresh = window.admit(await newRecords(store, appended, window))
      if (fresh.length > 0) options.print(fresh)
    }
  } finally {
    await appended?.close()
  }
}

/** What a poll finds: the bytes appended to a followed file, or the store's window. */
async function newRecords(
  store: AuditStore,
  appended: JsonlTail | null,
  window: FollowWindow,
): Promise<AuditRecord[]> {
  if (appended === null) return recordsSince(store, window.since())
  const { records, reset } = await appended.read()
  return reset ? [...records, ...(await recordsSince(store, window.since()))] : records
}
