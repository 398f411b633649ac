/**
 * The records a MemoryAuditStore keeps, held off the V8 heap: a sealed record's canonical text (the very text its
 * hash covers, audit-record.ts) as UTF-8 in large Buffers ("slabs"), and its chain, seq, hash and signature in
 * typed arrays indexed by a ring of slots. A full default store holds 10,000 records; kept as strings and objects
 * they were ~30,000 heap objects (~10 MB of old space) that every scavenge copied on their way in and every major
 * GC marked, which cost a read call more CPU than sealing its record (bench/README.md). In slabs a record is bytes
 * the collector never traces: the heap holds a few typed arrays, one pointer per slot and the slabs' handles.
 *
 * Reading decodes: the text back to a string and through parseSealedRecord (exact for the plain-data records
 * the store keeps as text, see memory-audit-store.ts), the hash from its 32 bytes to hex, a signature from its 64
 * bytes to base64. The canonical text is well-formed UTF-16 (canonicalJson escapes lone surrogates), so its UTF-8
 * round trip is exact; a hash that is not 64 hex digits or a signature whose bytes would not give back the same
 * text keeps its entry as an object instead (sealing writes hashes in lowercase hex, see audit-record.ts).
 * Entries handed over as objects (records from `append` and `stage`, a tampered test store) are kept as they
 * are, in the same ring.
 *
 * Slabs are written front to back and records leave the ring oldest first, so a slab empties as a whole; an
 * emptied slab is reused as the next one (one spare kept) rather than handed back, so a full store writing
 * steadily allocates no new external memory.
 */
import { type AuditRecord, parseSealedRecord } from './audit-record.ts'
import type { ChainedRecord } from './audit-chain.ts'

/** Bytes of a slab: ~1,000 records of a typical read's audit text. A larger record gets a slab of its own. */
const SLAB_BYTES = 1 << 20
/** Slots allocated at first (grown by doubling up to the capacity). */
const INITIAL_SLOTS = 256
const HASH_BYTES = 32
const SIGNATURE_BYTES = 64

class Slab {
  used = 0
  /** Slots whose text is in this slab. */
  live = 0
  constructor(readonly buf: Buffer) {}
}

/**
 * Called with the oldest record when a full ring drops it (the store makes it its chain's cut): its hash as
 * text, or — for a record kept as text, so that a drop decodes nothing — undefined and its 32 bytes at `at` of
 * `bytes`, valid during the call only.
 */
export type DropHandler = (
  chain: string,
  seq: number,
  hash: string | undefined,
  bytes: Uint8Array,
  at: number,
) => void

export class KeptRecords {
  readonly #capacity: number
  readonly #onDrop: DropHandler
  #slots = 0
  /** Index of the oldest kept slot, and how many are kept. */
  #head = 0
  #size = 0
  /** Per slot: where its text is (a slab, or undefined for an entry kept as an object). */
  #slab: (Slab | undefined)[] = []
  #offset = new Int32Array(0)
  #length = new Int32Array(0)
  #seq = new Float64Array(0)
  #chain = new Int32Array(0)
  #hash = Buffer.alloc(0)
  /** 1 where the slot's signature is in #signature, 0 for none (null). */
  #signed = new Uint8Array(0)
  #signature: Buffer | undefined
  /** Per slot: the entry itself, for one kept as an object. */
  #object: (ChainedRecord | undefined)[] = []
  #current: Slab | undefined
  #spare: Slab | undefined
  /** Chain keys interned: id by key, key by id, and how many kept slots name each id. */
  readonly #chainIds = new Map<string, number>()
  #chainNames: string[] = []
  #chainRefs: number[] = []
  #freeChainIds: number[] = []

  constructor(capacity: number, onDrop: DropHandler) {
    this.#capacity = capacity
    this.#onDrop = onDrop
  }

  /** Records kept. */
  get size(): number {
    return this.#size
  }

  /** Whether a kept record belongs to `chain`. */
  hasChain(chain: string): boolean {
    return this.#chainIds.has(chain)
  }

  /** Keeps a sealed record as its canonical `text` (see the header); drops the oldest when full. */
  pushText(chain: string, seq: number, signature: string | null, text: string, hash: string): void {
    const i = this.#nextSlot()
    const h = i * HASH_BYTES
    // Sealing writes a sha256 as 64 lowercase hex digits, which its 32 bytes give back; anything else stays an object.
    if (hash.length !== 2 * HASH_BYTES || this.#hash.write(hash, h, HASH_BYTES, 'hex') !== HASH_BYTES) {
      this.#fillObject(i, { chain, seq, record: parseSealedRecord(text, hash), signature })
      return
    }
    if (signature !== null && !this.#writeSignature(i, signature)) {
      this.#fillObject(i, { chain, seq, record: parseSealedRecord(text, hash), signature })
      return
    }
    this.#signed[i] = signature === null ? 0 : 1
    const slab = this.#slabFor(text)
    const n = slab.buf.write(text, slab.used, 'utf8')
    this.#slab[i] = slab
    this.#offset[i] = slab.used
    this.#length[i] = n
    slab.used += n
    slab.live += 1
    this.#seq[i] = seq
    this.#chain[i] = this.#intern(chain)
  }

  /** Keeps `entry` as the object it is; drops the oldest when full. */
  pushObject(entry: ChainedRecord): void {
    this.#fillObject(this.#nextSlot(), entry)
  }

  /** Every kept entry, oldest first, decoded. */
  entries(): ChainedRecord[] {
    const out: ChainedRecord[] = []
    for (let k = 0; k < this.#size; k++) out.push(this.#entryAt((this.#head + k) % this.#slots))
    return out
  }

  /** Keeps only the entries `keep` accepts, in order, where they are (for retention; no drop is reported). */
  retain(keep: (entry: ChainedRecord) => boolean): void {
    const order: number[] = []
    for (let k = 0; k < this.#size; k++) {
      const i = (this.#head + k) % this.#slots
      if (keep(this.#entryAt(i))) order.push(i)
      else this.#release(i)
    }
    this.#reorder(order, this.#slots)
  }

  /** Replaces every kept entry with `entries`, kept as objects (a test's tampering; no drop is reported). */
  replaceWithObjects(entries: readonly ChainedRecord[]): void {
    for (let k = 0; k < this.#size; k++) this.#release((this.#head + k) % this.#slots)
    this.#head = 0
    this.#size = 0
    for (const e of entries) this.#fillObject(this.#nextSlot(true), e)
  }

  #entryAt(i: number): ChainedRecord {
    const object = this.#object[i]
    if (object !== undefined) return object
    const slab = this.#slab[i] as Slab
    const start = this.#offset[i] as number
    const text = slab.buf.toString('utf8', start, start + (this.#length[i] as number))
    const hash = this.#hashAt(i)
    const record: AuditRecord = parseSealedRecord(text, hash)
    return {
      chain: this.#chainNames[this.#chain[i] as number] as string,
      seq: this.#seq[i] as number,
      record,
      signature: this.#signed[i] === 1 ? this.#signatureAt(i) : null,
    }
  }

  #hashAt(i: number): string {
    return this.#hash.toString('hex', i * HASH_BYTES, (i + 1) * HASH_BYTES)
  }

  #signatureAt(i: number): string {
    return (this.#signature as Buffer).toString('base64', i * SIGNATURE_BYTES, (i + 1) * SIGNATURE_BYTES)
  }

  #writeSignature(i: number, signature: string): boolean {
    this.#signature ??= Buffer.alloc(this.#slots * SIGNATURE_BYTES)
    const at = i * SIGNATURE_BYTES
    if (this.#signature.write(signature, at, SIGNATURE_BYTES, 'base64') !== SIGNATURE_BYTES) return false
    // Signing is far costlier than this check; a non-canonical base64 text stays an object.
    return this.#signatureAt(i) === signature
  }

  #fillObject(i: number, entry: ChainedRecord): void {
    this.#object[i] = entry
    this.#seq[i] = entry.seq
    this.#chain[i] = this.#intern(entry.chain)
  }

  /**
   * The slot the next record goes to: a free one, a grown ring's, or — when full — the oldest's, which is
   * dropped first. `unbounded` grows past the capacity instead of dropping (rebuilding what was kept).
   */
  #nextSlot(unbounded = false): number {
    if (this.#size === this.#slots) {
      if (this.#slots < this.#capacity || unbounded) {
        this.#grow(unbounded)
      } else {
        const i = this.#head
        this.#drop(i)
        this.#head = (i + 1) % this.#slots
        return i
      }
    }
    const i = (this.#head + this.#size) % this.#slots
    this.#size += 1
    return i
  }

  /** Forgets slot `i` (the oldest), reporting it to the drop handler. */
  #drop(i: number): void {
    const object = this.#object[i]
    const chainId = this.#chain[i] as number
    const chain = this.#chainNames[chainId] as string
    const seq = this.#seq[i] as number
    this.#release(i)
    this.#onDrop(chain, seq, object?.record.hash, this.#hash, i * HASH_BYTES)
  }

  /** Frees what slot `i` holds: its object or its text's share of a slab, and its chain reference. */
  #release(i: number): void {
    if (this.#object[i] !== undefined) {
      this.#object[i] = undefined
    } else {
      const slab = this.#slab[i] as Slab
      this.#slab[i] = undefined
      slab.live -= 1
      if (slab.live === 0 && slab !== this.#current && slab.buf.length === SLAB_BYTES) {
        slab.used = 0
        this.#spare = slab
      }
    }
    const id = this.#chain[i] as number
    const refs = (this.#chainRefs[id] as number) - 1
    this.#chainRefs[id] = refs
    if (refs === 0) {
      this.#chainIds.delete(this.#chainNames[id] as string)
      this.#chainNames[id] = ''
      this.#freeChainIds.push(id)
    }
  }

  /** A slab with room for `text`'s UTF-8: the current one, the spare, or a new one. */
  #slabFor(text: string): Slab {
    const current = this.#current
    const room = current === undefined ? -1 : current.buf.length - current.used
    if (current !== undefined && room >= text.length * 3) return current
    const bytes = Buffer.byteLength(text, 'utf8')
    if (current !== undefined && room >= bytes) return current
    let next: Slab
    if (bytes <= SLAB_BYTES && this.#spare !== undefined) {
      next = this.#spare
      this.#spare = undefined
    } else {
      next = new Slab(Buffer.allocUnsafeSlow(Math.max(SLAB_BYTES, bytes)))
    }
    // A current slab left behind with nothing in it is emptied already: reuse it as the spare.
    if (current !== undefined && current.live === 0 && current.buf.length === SLAB_BYTES) {
      current.used = 0
      this.#spare = current
    }
    this.#current = next
    return next
  }

  #intern(chain: string): number {
    let id = this.#chainIds.get(chain)
    if (id === undefined) {
      id = this.#freeChainIds.pop() ?? this.#chainNames.length
      this.#chainIds.set(chain, id)
      this.#chainNames[id] = chain
      this.#chainRefs[id] = 0
    }
    this.#chainRefs[id] = (this.#chainRefs[id] as number) + 1
    return id
  }

  /** Doubles the slots (up to the capacity unless `unbounded`), moving the kept ones to the front in order. */
  #grow(unbounded: boolean): void {
    const doubled = Math.max(INITIAL_SLOTS, this.#slots * 2)
    const order: number[] = []
    for (let k = 0; k < this.#size; k++) order.push((this.#head + k) % this.#slots)
    this.#reorder(order, unbounded ? doubled : Math.min(doubled, this.#capacity))
  }

  /** Moves the slots `order` names to the front of new arrays of `slots` slots, in that order. */
  #reorder(order: readonly number[], slots: number): void {
    const move = <T extends { [i: number]: number }>(from: T, to: T): T => {
      order.forEach((src, dst) => (to[dst] = from[src] as number))
      return to
    }
    this.#offset = move(this.#offset, new Int32Array(slots))
    this.#length = move(this.#length, new Int32Array(slots))
    this.#seq = move(this.#seq, new Float64Array(slots))
    this.#chain = move(this.#chain, new Int32Array(slots))
    this.#signed = move(this.#signed, new Uint8Array(slots))
    const hash = Buffer.alloc(slots * HASH_BYTES)
    const fromHash = this.#hash
    order.forEach((src, dst) =>
      fromHash.copy(hash, dst * HASH_BYTES, src * HASH_BYTES, (src + 1) * HASH_BYTES),
    )
    this.#hash = hash
    const fromSignature = this.#signature
    if (fromSignature !== undefined) {
      const signature = Buffer.alloc(slots * SIGNATURE_BYTES)
      order.forEach((src, dst) =>
        fromSignature.copy(
          signature,
          dst * SIGNATURE_BYTES,
          src * SIGNATURE_BYTES,
          (src + 1) * SIGNATURE_BYTES,
        ),
      )
      this.#signature = signature
    }
    const slab = order.map((src) => this.#slab[src])
    const object = order.map((src) => this.#object[src])
    slab.length = slots
    object.length = slots
    this.#slab = slab
    this.#object = object
    this.#slots = slots
    this.#head = 0
    this.#size = order.length
  }
}
