/** In-memory AuditStore: the default, and the reference the other stores' conformance tests compare against. */
import { type AuditRecord, type AuditRecordDraft, sealAuditRecord } from './audit-record.ts'
import type { AuditQuery, AuditStore, StagedAudit } from './audit-store.ts'

export class MemoryAuditStore implements AuditStore {
  readonly #records: AuditRecord[] = []
  /** Staged records are sealed in commit order so the hash chain follows what actually committed. */
  #lastHash: string | null = null
  #failNext = 0

  async stage(draft: AuditRecordDraft): Promise<StagedAudit> {
    if (this.#failNext > 0) {
      this.#failNext -= 1
      throw new Error('audit store unavailable')
    }
    let committed: AuditRecord | undefined
    let aborted = false
    return {
      commit: async () => {
        if (aborted) throw new Error('audit record was aborted')
        if (committed) return committed
        committed = sealAuditRecord(draft, this.#lastHash)
        this.#records.push(committed)
        this.#lastHash = committed.hash
        return committed
      },
      abort: async () => {
        aborted = committed === undefined
      },
    }
  }

  async append(draft: AuditRecordDraft): Promise<AuditRecord> {
    const staged = await this.stage(draft)
    return staged.commit()
  }

  async query(filter: AuditQuery = {}): Promise<AuditRecord[]> {
    const from = filter.from === undefined ? undefined : new Date(filter.from).toISOString()
    const to = filter.to === undefined ? undefined : new Date(filter.to).toISOString()
    const matches = this.#records.filter(
      (r) =>
        (filter.tenantId === undefined || r.tenantId === filter.tenantId) &&
        (filter.userId === undefined || r.userId === filter.userId) &&
        (filter.tool === undefined || r.tool === filter.tool) &&
        (filter.model === undefined || r.model === filter.model) &&
        (filter.outcome === undefined || r.outcome === filter.outcome) &&
        (from === undefined || r.timestamp >= from) &&
        (to === undefined || r.timestamp <= to),
    )
    const offset = filter.offset ?? 0
    return matches.slice(offset, offset + (filter.limit ?? 1000))
  }

  /** Test hook: makes the next `n` stage/append calls fail, to prove writes fail closed without an audit. */
  failNext(n = 1): void {
    this.#failNext = n
  }

  /** Every committed record in order (for chain verification). */
  all(): readonly AuditRecord[] {
    return [...this.#records]
  }
}
