/**
 * Verifying the hash chains of stored audit records (audit-chain.ts describes the layout): every record is
 * re-hashed, linked to the one before it in its chain, held to its chain's tenant and, with a verify key, to its
 * signature; the first broken record of every chain is reported. Also the retention prefix, which follows the
 * same (chain, seq) order.
 */
import type { KeyObject } from 'node:crypto'
import {
  type AuditVerification,
  type ChainBreak,
  type ChainBreakReason,
  type ChainCut,
  type ChainedRecord,
  type ChainHead,
  signatureValid,
  tenantOfChain,
} from './audit-chain.ts'
import { hashAuditRecord } from './audit-record.ts'

interface ChainState {
  readonly chain: string
  /** seq and hash of the last record seen (of the cut, or 0/null, before the first). */
  seq: number
  hash: string | null
  broken: boolean
}

/**
 * Incremental verifier: feed every stored record sorted by (chain, seq), then `finish`. Holds one chain's
 * state at a time, so a store can stream its records in pages.
 */
export class ChainVerifier {
  readonly #cuts: ReadonlyMap<string, ChainCut>
  readonly #key: KeyObject | null
  readonly #breaks: ChainBreak[] = []
  readonly #heads: ChainHead[] = []
  #records = 0
  #current: ChainState | null = null

  constructor(cuts: Iterable<ChainCut>, key: KeyObject | null) {
    this.#cuts = new Map([...cuts].map((c) => [c.chain, c]))
    this.#key = key
  }

  add(entry: ChainedRecord): void {
    this.#records += 1
    const current = this.#chain(entry.chain)
    const reason = this.#check(current, entry)
    if (reason !== null && !current.broken) {
      current.broken = true
      this.#breaks.push({ chain: entry.chain, seq: entry.seq, recordId: recordIdOf(entry), reason })
    }
    current.seq = entry.seq
    current.hash = typeof entry.record?.hash === 'string' ? entry.record.hash : null
  }

  /** An entry of `chain` at `seq` found broken by its store (unreadable, or columns that disagree with it). */
  addBroken(chain: string, seq: number, reason: ChainBreakReason, recordId: string | null): void {
    this.#records += 1
    const current = this.#chain(chain)
    if (!current.broken) {
      current.broken = true
      this.#breaks.push({ chain, seq, recordId, reason })
    }
    current.seq = seq
    current.hash = null
  }

  finish(): AuditVerification {
    this.#endChain()
    return {
      ok: this.#breaks.length === 0,
      records: this.#records,
      chains: this.#heads.length,
      breaks: this.#breaks,
      heads: this.#heads,
      signaturesChecked: this.#key !== null,
    }
  }

  /** The state of `chain`, starting it (from its cut, if any) when the previous entry was of another chain. */
  #chain(chain: string): ChainState {
    if (this.#current !== null && this.#current.chain === chain) return this.#current
    this.#endChain()
    const cut = this.#cuts.get(chain)
    const state: ChainState = { chain, seq: cut?.seq ?? 0, hash: cut?.hash ?? null, broken: false }
    if (cut !== undefined && this.#key !== null && !signatureValid(this.#key, 'cut', cut)) {
      state.broken = true
      this.#breaks.push({ chain, seq: cut.seq + 1, recordId: null, reason: 'signature' })
    }
    this.#current = state
    return state
  }

  #endChain(): void {
    const c = this.#current
    if (c !== null && c.hash !== null) this.#heads.push({ chain: c.chain, seq: c.seq, hash: c.hash })
    this.#current = null
  }

  #check(current: ChainState, entry: ChainedRecord): ChainBreakReason | null {
    const record = entry.record
    if (typeof record !== 'object' || record === null || typeof record.hash !== 'string') return 'unreadable'
    const { hash, ...rest } = record
    let computed: string
    try {
      computed = hashAuditRecord(rest)
    } catch {
      return 'unreadable'
    }
    if (computed !== hash) return 'edited'
    if (entry.seq !== current.seq + 1) return 'gap'
    if (record.prevHash !== current.hash) return 'link'
    const tenant = tenantOfChain(entry.chain)
    if (tenant === undefined || tenant !== record.tenantId) return 'chain'
    if (this.#key !== null && !signatureValid(this.#key, 'record', { ...entry, hash })) return 'signature'
    return null
  }
}

function recordIdOf(entry: ChainedRecord): string | null {
  const id: unknown = (entry.record as { id?: unknown } | null)?.id
  return typeof id === 'string' ? id : null
}

/** Verifies records of any order: sorts them by (chain, seq) first. */
export function verifyChainedRecords(
  entries: Iterable<ChainedRecord>,
  cuts: Iterable<ChainCut>,
  key: KeyObject | null,
): AuditVerification {
  const sorted = [...entries].sort(byChainThenSeq)
  const verifier = new ChainVerifier(cuts, key)
  for (const entry of sorted) verifier.add(entry)
  return verifier.finish()
}

function byChainThenSeq(a: ChainedRecord, b: ChainedRecord): number {
  return a.chain === b.chain ? a.seq - b.seq : a.chain < b.chain ? -1 : 1
}

/**
 * What retention deletes, sorted by (chain, seq): per chain, the records before its first record at or after
 * `cutoff` (ISO-8601), so every chain keeps a contiguous newest part even if the clock went backwards.
 */
export function retentionPrefix(entries: readonly ChainedRecord[], cutoff: string): ChainedRecord[] {
  const stopped = new Set<string>()
  const deleted: ChainedRecord[] = []
  for (const e of [...entries].sort(byChainThenSeq)) {
    if (!stopped.has(e.chain) && e.record.timestamp < cutoff) deleted.push(e)
    else stopped.add(e.chain)
  }
  return deleted
}
