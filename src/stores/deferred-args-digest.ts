/**
 * An audit draft whose argsDigest is computed when its record is sealed rather than on the call path. The
 * toolset reads the raw arguments' text during the call (auditArgsText: later changes to the arguments do not
 * count) and hands the store a draft whose argsDigest is null, registered here with that text; sealAuditRecord,
 * which every store of this package seals through, computes the HMAC then — for records accepted by `record()`,
 * in the store's batch, off the call path. The record and its hash are exactly what an eager digest gives.
 *
 * Only for the stores of this package (the toolset checks): a host's own store, which does not seal through
 * sealAuditRecord, would keep the null.
 */
import { digestOfArgsText } from './audit-sanitize.ts'

interface DeferredDigest {
  readonly text: string | null
  readonly key: Uint8Array
  /** Computed on first use, so sealing the same draft twice hashes once. */
  digest?: string | null
}

/** What of an audit draft this module reads (structural: audit-record.ts imports this module). */
interface DraftDigest {
  readonly argsDigest?: string | null
}

/**
 * The deferred digest rides on the draft itself, under a symbol of this module, non-enumerable (so spreads,
 * Object.keys, JSON and deep-equality see the draft as it was): a WeakMap entry per call cost ~1 µs (an
 * ephemeron per draft for the garbage collector to process, bench/README.md). A draft that cannot take a
 * property (frozen) uses the WeakMap.
 */
const DEFERRED = Symbol('tessera.deferredArgsDigest')
const deferredFrozen = new WeakMap<DraftDigest, DeferredDigest>()

type Carrier = DraftDigest & { readonly [DEFERRED]?: DeferredDigest }

/** Registers `draft`'s argsDigest as the HMAC of `text` (auditArgsText) under `key`; returns the draft. */
export function deferArgsDigest<D extends DraftDigest>(draft: D, text: string | null, key: Uint8Array): D {
  const pending: DeferredDigest = { text, key }
  if (Object.isExtensible(draft) && !Object.prototype.hasOwnProperty.call(draft, DEFERRED)) {
    Object.defineProperty(draft, DEFERRED, { value: pending, writable: true })
  } else if (Object.isExtensible(draft)) {
    ;(draft as { [DEFERRED]?: DeferredDigest })[DEFERRED] = pending
  } else {
    deferredFrozen.set(draft, pending)
  }
  return draft
}

/** The argsDigest `draft` is sealed with: its deferred digest when it has one, else its own member. */
export function argsDigestOf(draft: DraftDigest): string | null | undefined {
  const pending = (draft as Carrier)[DEFERRED] ?? deferredFrozen.get(draft)
  if (pending === undefined) return draft.argsDigest
  if (pending.digest === undefined) pending.digest = digestOfArgsText(pending.text, pending.key)
  return pending.digest
}
