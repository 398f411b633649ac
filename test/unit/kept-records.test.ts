/**
 * The memory store's kept records off the V8 heap (src/stores/kept-records.ts): whatever mix of text-kept and
 * object-kept records, sizes (across slabs, larger than a slab), capacities, drops, retention and signatures, the
 * ring gives back exactly the entries a plain array would hold, and reports each dropped record's chain, seq and
 * hash in order.
 */
import { generateKeyPairSync } from 'node:crypto'
import { getHeapStatistics, setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { describe, expect, it } from 'vitest'
import { MemoryAuditStore, type AuditRecordDraft } from '../../src/stores/index.ts'
import { sealAuditRecordText } from '../../src/stores/audit-record.ts'
import type { ChainedRecord } from '../../src/stores/audit-chain.ts'
import { KeptRecords } from '../../src/stores/kept-records.ts'
import { auditDraft } from '../support/audit-store-conformance.ts'

/** A small deterministic generator (the test must not depend on Math.random's sequence). */
function random(seed: number): () => number {
  let s = seed >>> 0
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0
    return s / 2 ** 32
  }
}

interface Kept {
  readonly entry: ChainedRecord
  readonly text: string | null
}

/** A sealed record of `size` characters of inputs (some non-ASCII), on one of a few chains. */
function sealed(next: () => number, n: number, size: number): { entry: ChainedRecord; text: string } {
  const chain = `seg:+t${Math.floor(next() * 5)}`
  const body = 'é€x𝄞'.repeat(Math.ceil(size / 5)).slice(0, size)
  const draft: AuditRecordDraft = auditDraft({ requestId: `r${n}`, inputs: { body, n } })
  const { record, text } = sealAuditRecordText(draft, null, new Date(1_700_000_000_000 + n))
  return { entry: { chain, seq: n + 1, record, signature: null }, text }
}

describe('KeptRecords', () => {
  for (const capacity of [1, 3, 7, 300, Number.POSITIVE_INFINITY]) {
    it(`holds what a plain array of capacity ${capacity} holds, and drops in order`, () => {
      const next = random(capacity === Number.POSITIVE_INFINITY ? 99 : capacity)
      const dropped: [string, number, string][] = []
      const kept = new KeptRecords(capacity, (chain, seq, hash, bytes, at) =>
        dropped.push([chain, seq, hash ?? Buffer.from(bytes.subarray(at, at + 32)).toString('hex')]),
      )
      const model: Kept[] = []
      const modelDropped: [string, number, string][] = []
      for (let n = 0; n < 400; n++) {
        // Mostly small records; now and then one of ~300 KB (slabs fill and roll over) or ~1.1 MB (its own slab).
        const r = next()
        const size = r < 0.01 ? 1_100_000 : r < 0.05 ? 300_000 : Math.floor(next() * 400)
        const { entry, text } = sealed(next, n, size)
        const asObject = next() < 0.2
        if (asObject) kept.pushObject(entry)
        else kept.pushText(entry.chain, entry.seq, entry.signature, text, entry.record.hash)
        model.push({ entry, text: asObject ? null : text })
        if (model.length > capacity) {
          const gone = model.shift() as Kept
          modelDropped.push([gone.entry.chain, gone.entry.seq, gone.entry.record.hash])
        }
        if (n % 97 === 0 || n === 399) {
          expect(kept.size).toBe(model.length)
          expect(kept.entries()).toEqual(model.map((m) => m.entry))
          expect(dropped).toEqual(modelDropped)
        }
        if (n % 151 === 150) {
          // Retention: drop every third kept record, in place; nothing is reported as dropped.
          const keep = (e: ChainedRecord) => e.seq % 3 !== 0
          kept.retain(keep)
          model.splice(0, model.length, ...model.filter((m) => keep(m.entry)))
          expect(kept.entries()).toEqual(model.map((m) => m.entry))
        }
      }
      for (const m of model) expect(kept.hasChain(m.entry.chain)).toBe(true)
      const chains = new Set(model.map((m) => m.entry.chain))
      for (let t = 0; t < 5; t++) expect(kept.hasChain(`seg:+t${t}`)).toBe(chains.has(`seg:+t${t}`))
    })
  }

  it('keeps a record whose hash or signature would not read back from bytes as an object, with the same entry', () => {
    const kept = new KeptRecords(10, () => undefined)
    const { entry, text } = sealed(random(1), 0, 10)
    const short = entry.record.hash.slice(2)
    kept.pushText(entry.chain, 1, null, text, short)
    kept.pushText(entry.chain, 2, 'not base64 of 64 bytes', text, entry.record.hash)
    const signature = Buffer.alloc(64, 7).toString('base64')
    kept.pushText(entry.chain, 3, signature, text, entry.record.hash)
    const got = kept.entries()
    expect(got.map((e) => [e.seq, e.record.hash, e.signature])).toEqual([
      [1, short, null],
      [2, entry.record.hash, 'not base64 of 64 bytes'],
      [3, entry.record.hash, signature],
    ])
  })
})

setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc') as () => void
/** Full garbage collections, with time for freed Buffers to be swept, so external memory counts what is held. */
async function collect(): Promise<void> {
  for (let i = 0; i < 3; i++) {
    gc()
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

describe('MemoryAuditStore keeps recorded text off the heap', () => {
  it('holds the kept text in Buffers (external memory), not in heap strings', async () => {
    const store = new MemoryAuditStore({ capacity: 4000 })
    const body = 'x'.repeat(1000)
    await collect()
    // This isolate's external memory (test files may run in other threads of the process).
    const before = getHeapStatistics().external_memory
    for (let i = 0; i < 4000; i++) await store.record(auditDraft({ requestId: `r${i}`, inputs: { body, i } }))
    expect(store.pending).toBeGreaterThan(0)
    expect(store.all()).toHaveLength(4000)
    await collect()
    // 4,000 records of over 1 KB of text each: at least ~4 MB of slabs.
    expect(getHeapStatistics().external_memory - before).toBeGreaterThan(3_500_000)
    const all = store.all()
    expect(all).toHaveLength(4000)
    expect(all[3999]?.inputs).toEqual({ body, i: 3999 })
  })

  it('verifies signed text-kept records, full and cut, after retention too', async () => {
    const { privateKey } = generateKeyPairSync('ed25519')
    const store = new MemoryAuditStore({ capacity: 100, signingKey: privateKey })
    const tenant = (i: number) => (i % 3 === 0 ? 'a' : 'b')
    for (let i = 0; i < 40; i++) await store.record(auditDraft({ requestId: `r${i}`, tenantId: tenant(i) }))
    expect(store.all()).toHaveLength(40)
    await new Promise((resolve) => setTimeout(resolve, 5))
    for (let i = 40; i < 120; i++) await store.record(auditDraft({ requestId: `r${i}`, tenantId: tenant(i) }))
    expect(await store.verify()).toMatchObject({ ok: true, records: 100, signaturesChecked: true })
    expect(store.entries().every((e) => typeof e.signature === 'string')).toBe(true)
    const second = store.all().find((r) => r.requestId === 'r40')?.timestamp as string
    expect(await store.deleteBefore(second)).toMatchObject({ deleted: 20 })
    expect(store.all().map((r) => r.requestId)).toEqual(Array.from({ length: 80 }, (_, i) => `r${i + 40}`))
    expect(await store.verify()).toMatchObject({ ok: true, records: 80, signaturesChecked: true })
    for (let i = 0; i < 60; i++) await store.record(auditDraft({ requestId: `s${i}`, tenantId: 'a' }))
    expect(await store.verify()).toMatchObject({ ok: true, records: 100, signaturesChecked: true })
  })
})
