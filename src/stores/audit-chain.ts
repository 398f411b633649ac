/**
 * Hash chains of stored audit records, shared by every AuditStore.
 *
 * Layout: one chain per (segment, tenant). A segment is one store instance — in practice one process — with a
 * random id, so a chain has exactly one writer: it keeps its head in memory, several processes append to the
 * same table or file without a shared lock, and tenants never wait for each other. Each stored record carries
 * its chain key and its position `seq` (1, 2, …) beside the record itself; the record's own hash definition
 * (audit-record.ts) does not change: `prevHash` is the hash of the previous record of the same chain, null for
 * seq 1.
 *
 * Verification walks each chain by seq and reports the first broken record of every chain: an edited record
 * (its hash no longer matches its content), a deleted or reordered one (the next record's prevHash or seq does
 * not follow), a record moved to another tenant's chain, and — when a verify key is configured — a record or
 * retention cut without a valid Ed25519 signature. The signature covers (chain, seq, hash), so someone who can
 * write the audit table but does not hold the private key cannot rebuild a consistent chain after deleting or
 * editing records. Deleting the newest records of a chain (its tail) leaves a shorter valid chain: compare the
 * heads `verify()` reports with heads kept elsewhere to catch that.
 */
import { createPrivateKey, createPublicKey, type KeyObject, randomUUID, sign, verify } from 'node:crypto'
import {
  type AuditRecord,
  type AuditRecordDraft,
  type SealedAuditText,
  sealAuditRecordText,
} from './audit-record.ts'

/** A record as a store keeps it: the record plus its place in its chain. */
export interface ChainedRecord {
  readonly chain: string
  readonly seq: number
  readonly record: AuditRecord
  /** Ed25519 signature (base64) over (chain, seq, hash), when the store signs. */
  readonly signature: string | null
}

/** Where retention cut a chain: the last deleted record's seq and hash (the next record links to it). */
export interface ChainCut {
  readonly chain: string
  readonly seq: number
  readonly hash: string
  readonly signature: string | null
}

export interface ChainHead {
  readonly chain: string
  readonly seq: number
  readonly hash: string
}

export type ChainBreakReason =
  /** The record's content does not hash to its stored hash: it was edited. */
  | 'edited'
  /** prevHash does not match the previous record (or the cut): a record before it was deleted or moved. */
  | 'link'
  /** seq does not follow the previous record's: records were deleted or reordered. */
  | 'gap'
  /** The record's tenant is not its chain's tenant. */
  | 'chain'
  /** Missing or invalid signature while a verify key is configured. */
  | 'signature'
  /** A stored entry that cannot be read as a record. */
  | 'unreadable'

export interface ChainBreak {
  readonly chain: string
  /** Position of the first broken record in its chain. */
  readonly seq: number
  readonly recordId: string | null
  readonly reason: ChainBreakReason
}

export interface AuditVerification {
  /** True when no chain is broken. */
  readonly ok: boolean
  readonly records: number
  readonly chains: number
  /** The first broken record of each broken chain, in chain order. */
  readonly breaks: readonly ChainBreak[]
  /** The newest record of every chain: keep them elsewhere to detect a truncated tail later. */
  readonly heads: readonly ChainHead[]
  /** Whether signatures were checked (a verify key was configured). */
  readonly signaturesChecked: boolean
}

export interface AuditSigningOptions {
  /** Ed25519 private key (PEM or KeyObject): records and cuts are signed; its public key verifies them. */
  readonly signingKey?: string | KeyObject
  /** Ed25519 public key (PEM or KeyObject) to verify with, for a reader that does not hold the private key. */
  readonly verifyKey?: string | KeyObject
}

export interface ChainKeys {
  readonly privateKey: KeyObject | null
  readonly publicKey: KeyObject | null
}

export function chainKeys(options: AuditSigningOptions): ChainKeys {
  const privateKey =
    options.signingKey === undefined
      ? null
      : typeof options.signingKey === 'string'
        ? createPrivateKey(options.signingKey)
        : options.signingKey
  if (privateKey !== null && privateKey.asymmetricKeyType !== 'ed25519') {
    throw new TypeError('signingKey must be an Ed25519 private key')
  }
  const publicKey =
    options.verifyKey !== undefined
      ? typeof options.verifyKey === 'string'
        ? createPublicKey(options.verifyKey)
        : options.verifyKey
      : privateKey === null
        ? null
        : createPublicKey(privateKey)
  if (publicKey !== null && publicKey.asymmetricKeyType !== 'ed25519') {
    throw new TypeError('verifyKey must be an Ed25519 public key')
  }
  return { privateKey, publicKey }
}

/** The tenant a chain key names: null for the no-tenant chain, undefined when the key is malformed. */
export function tenantOfChain(chain: string): string | null | undefined {
  const colon = chain.indexOf(':')
  if (colon < 0) return undefined
  const rest = chain.slice(colon + 1)
  if (rest === '-') return null
  return rest.startsWith('+') ? rest.slice(1) : undefined
}

function signedText(kind: 'record' | 'cut', chain: string, seq: number, hash: string): Buffer {
  return Buffer.from(`tessera-audit-${kind}-v1\n${chain}\n${seq}\n${hash}`, 'utf8')
}

export function signLink(
  keys: ChainKeys,
  kind: 'record' | 'cut',
  chain: string,
  seq: number,
  hash: string,
): string | null {
  if (keys.privateKey === null) return null
  return sign(null, signedText(kind, chain, seq, hash), keys.privateKey).toString('base64')
}

/** Whether `entry` carries a valid Ed25519 signature of (kind, chain, seq, hash) under `key`. */
export function signatureValid(
  key: KeyObject,
  kind: 'record' | 'cut',
  entry: { chain: string; seq: number; hash: string; signature: string | null },
): boolean {
  if (entry.signature === null) return false
  try {
    return verify(
      null,
      signedText(kind, entry.chain, entry.seq, entry.hash),
      key,
      Buffer.from(entry.signature, 'base64'),
    )
  } catch {
    return false
  }
}

/** Chains whose heads one store instance keeps in memory unless told otherwise (~400 bytes each). */
export const DEFAULT_MAX_OPEN_CHAINS = 100_000

export interface AuditChainOptions {
  /**
   * How many chains (one per tenant written) a store keeps open in memory; default 100,000. Beyond it the
   * chain written least recently ends (what is stored of it stays a valid chain) and that tenant's next record
   * starts a new chain, so a process serving any number of tenants holds bounded memory (docs/audit.md).
   */
  readonly maxOpenChains?: number
}

/** A record just sealed into its chain, with the canonical text its hash covers. */
export interface SealedLink {
  readonly chain: string
  readonly seq: number
  readonly sealed: SealedAuditText
  readonly signature: string | null
}

/** The open chain of one tenant: its key and its newest record (seq 0 / null before the first). */
interface OpenChain {
  /** Its key in the map of open chains, kept so moving the chain re-inserts this string, not a new one. */
  readonly slot: string
  readonly chain: string
  seq: number
  hash: string | null
}

/**
 * The chains one store instance writes: their heads in memory, so sealing needs no round trip. A store that
 * seals a batch and then fails to persist it puts the heads back with `restore`.
 *
 * At most `maxOpenChains` are open, least recently written evicted first. A tenant whose chain was evicted
 * continues on a new chain key (`<segment>.<epoch>:+<tenant>`, the epoch counting evictions), so no two
 * chains ever share a key and the ended chain's stored records verify as they are.
 */
export class SegmentChains {
  readonly segment: string
  readonly #keys: ChainKeys
  readonly #max: number
  /** Tenant slot (`-` or `+<tenantId>`) → its open chain; Map order is least recently written first. */
  readonly #open = new Map<string, OpenChain>()
  #epoch = 0

  constructor(keys: ChainKeys, segment: string = randomUUID(), options: AuditChainOptions = {}) {
    const max = options.maxOpenChains ?? DEFAULT_MAX_OPEN_CHAINS
    if (!Number.isSafeInteger(max) || max <= 0)
      throw new RangeError('maxOpenChains must be a positive integer')
    this.segment = segment
    this.#keys = keys
    this.#max = max
  }

  /**
   * The key of the chain `tenantId`'s next record goes to, opening that chain when needed (so queues keyed by
   * it and the seal that follows agree).
   */
  keyOf(tenantId: string | null): string {
    return this.#openChain(slotOf(tenantId)).chain
  }

  /** Seals `draft` as the next record of its tenant's chain and advances that chain's head. */
  seal(draft: AuditRecordDraft, at: Date): ChainedRecord {
    const { chain, seq, sealed, signature } = this.sealText(draft, at)
    return { chain, seq, record: sealed.record, signature }
  }

  /** `seal`, also handing back the record's canonical text (the sealed record is `sealed.record`). */
  sealText(draft: AuditRecordDraft, at: Date): SealedLink {
    const slot = slotOf(draft.tenantId)
    const open = this.#openChain(slot)
    const seq = open.seq + 1
    const sealed = sealAuditRecordText(draft, open.hash, at)
    const hash = sealed.record.hash
    // The head advances in place (a new object per record would live until the tenant's next record: old-
    // generation garbage); delete + set moves the chain to the most recently written end.
    open.seq = seq
    open.hash = hash
    this.#open.delete(open.slot)
    this.#open.set(open.slot, open)
    return {
      chain: open.chain,
      seq,
      sealed,
      signature: signLink(this.#keys, 'record', open.chain, seq, hash),
    }
  }

  /** The head of `chain` now (undefined before its first record, or once the chain has ended). */
  head(chain: string): ChainHead | undefined {
    const open = this.#open.get(slotOfChain(chain))
    if (open === undefined || open.chain !== chain || open.hash === null) return undefined
    return { chain, seq: open.seq, hash: open.hash }
  }

  /**
   * Puts a chain's head back (after the records sealed since were not stored). A chain evicted meanwhile stays
   * ended: its tenant already writes elsewhere, and its stored records end where they end.
   */
  restore(chain: string, head: ChainHead | undefined): void {
    const slot = slotOfChain(chain)
    if (this.#open.get(slot)?.chain !== chain) return
    // A copy: open heads advance in place, and the caller's object must not change with them.
    this.#open.set(slot, { slot, chain, seq: head?.seq ?? 0, hash: head?.hash ?? null })
  }

  /**
   * Ends `chain` where it stands: its stored records stay a valid chain, and its tenant's next record starts a
   * new one (a new epoch, as after an eviction). For a position whose fate is unknown — a COMMIT or INSERT whose
   * answer was lost may have stored it — reusing it could fail every later record of the tenant on the primary
   * key; a new chain cannot.
   */
  end(chain: string): void {
    const slot = slotOfChain(chain)
    if (this.#open.get(slot)?.chain !== chain) return
    this.#open.delete(slot)
    this.#epoch += 1
  }

  /** Chains open now (for tests and the memory bench). */
  get openChains(): number {
    return this.#open.size
  }

  #openChain(slot: string): OpenChain {
    const found = this.#open.get(slot)
    if (found !== undefined) return found
    const segment = this.#epoch === 0 ? this.segment : `${this.segment}.${this.#epoch}`
    const opened: OpenChain = { slot, chain: `${segment}:${slot}`, seq: 0, hash: null }
    this.#open.set(slot, opened)
    while (this.#open.size > this.#max) {
      const oldest = this.#open.keys().next().value as string
      this.#open.delete(oldest)
      this.#epoch += 1
    }
    return opened
  }
}

function slotOf(tenantId: string | null): string {
  return tenantId === null ? '-' : `+${tenantId}`
}

/** The tenant slot of a chain key (everything after the segment's colon). */
function slotOfChain(chain: string): string {
  return chain.slice(chain.indexOf(':') + 1)
}
