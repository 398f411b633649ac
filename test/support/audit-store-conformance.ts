/**
 * One behaviour contract for every AuditStore (memory, JSONL, PostgreSQL on PGlite and PostgreSQL). A store
 * passes by providing a fresh store per test and a way to rewrite what it holds (the tamper-evidence tests act
 * as someone with write access to the storage would).
 */
import { generateKeyPairSync } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { describe, expect, it } from 'vitest'
import {
  type AuditRecord,
  type AuditRecordDraft,
  type AuditStore,
  type AuditChainOptions,
  type AuditSigningOptions,
  type ChainedRecord,
  hashAuditRecord,
  parseAuditLine,
} from '../../src/stores/index.ts'
import { TesseraError } from '../../src/errors/index.ts'

export interface AuditStoreHarness {
  readonly store: AuditStore
  /** Replaces every stored record with what `edit` returns from them (sorted by chain, then seq). */
  rewrite(edit: (entries: ChainedRecord[]) => ChainedRecord[]): Promise<void>
}

export type AuditStoreFactory = (
  options?: AuditSigningOptions & AuditChainOptions,
) => Promise<AuditStoreHarness>

export function auditDraft(overrides: Partial<AuditRecordDraft> = {}): AuditRecordDraft {
  return {
    tool: 'db_get',
    model: 'Order',
    action: 'read',
    outcome: 'success',
    errorCode: null,
    tenantId: 'tenant-a',
    userId: 'user-1',
    roles: ['agent'],
    requestId: 'req-1',
    traceId: null,
    inputs: { model: 'Order', id: 'o-1' },
    scopesInjected: ['Order.tenant_id = $1 (tenant-a)'],
    rowPolicies: [],
    bypass: null,
    fieldsRedacted: [],
    rowCount: 1,
    affectedRows: null,
    durationMs: 0.25,
    reason: null,
    before: null,
    after: null,
    policyVersion: 'v1',
    ...overrides,
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

function byChainSeq(entries: ChainedRecord[]): ChainedRecord[] {
  return [...entries].sort((a, b) => (a.chain === b.chain ? a.seq - b.seq : a.chain < b.chain ? -1 : 1))
}

/** Re-seals `record` with a new prevHash: what a forger without the signing key can still compute. */
function reseal(record: AuditRecord, prevHash: string | null): AuditRecord {
  const { hash: _old, ...rest } = record
  const relinked = { ...rest, prevHash }
  return { ...relinked, hash: hashAuditRecord(relinked) }
}

async function errorCode(promise: Promise<unknown>): Promise<string | null> {
  try {
    await promise
    return null
  } catch (error) {
    return error instanceof TesseraError ? error.code : `not a TesseraError: ${String(error)}`
  }
}

export function auditStoreConformance(name: string, factory: AuditStoreFactory): void {
  describe(`AuditStore conformance: ${name}`, () => {
    it('hands back the sealed record and returns it unchanged from query, odd characters included', async () => {
      const { store } = await factory()
      const inputs = {
        model: 'Order',
        filter: { note: "'); drop table tessera_audit; --", nul: 'a\u0000b', emoji: '🦜', rtl: '\u202e' },
        nested: [1, 2.5, -0.125, null, true, { deep: ['x'] }],
      }
      const appended = await store.append(auditDraft({ inputs, requestId: 'odd' }))
      expect(appended).toMatchObject({ requestId: 'odd', prevHash: null })
      expect(appended.hash).toMatch(/^[0-9a-f]{64}$/)
      expect(await store.query()).toEqual([appended])
      expect((await store.query())[0]?.inputs).toEqual(inputs)
    })

    it('answers newest first, filters by every documented field, pages, and counts', async () => {
      const { store } = await factory()
      const drafts = [
        auditDraft({ requestId: 'a1', tenantId: 'tenant-a', userId: 'u1', tool: 'db_get', model: 'Order' }),
        auditDraft({
          requestId: 'b1',
          tenantId: 'tenant-b',
          userId: 'u2',
          tool: 'db_query',
          model: 'Customer',
        }),
        auditDraft({ requestId: 'a2', tenantId: 'tenant-a', outcome: 'denied', errorCode: 'NOT_FOUND' }),
        auditDraft({
          requestId: 'n1',
          tenantId: null,
          userId: null,
          tool: 'db_describe_schema',
          model: null,
        }),
        auditDraft({ requestId: 'a3', tenantId: 'tenant-a', tool: 'db_update', action: 'update' }),
      ]
      const stamps: string[] = []
      for (const d of drafts) {
        stamps.push((await store.append(d)).timestamp)
        await sleep(3)
      }
      const ids = (rs: AuditRecord[]) => rs.map((r) => r.requestId)
      expect(ids(await store.query())).toEqual(['a3', 'n1', 'a2', 'b1', 'a1'])
      expect(ids(await store.query({ tenantId: 'tenant-a' }))).toEqual(['a3', 'a2', 'a1'])
      expect(ids(await store.query({ userId: 'u2' }))).toEqual(['b1'])
      expect(ids(await store.query({ tool: 'db_update' }))).toEqual(['a3'])
      expect(ids(await store.query({ model: 'Customer' }))).toEqual(['b1'])
      expect(ids(await store.query({ outcome: 'denied' }))).toEqual(['a2'])
      expect(
        ids(await store.query({ from: stamps[1] as string, to: new Date(stamps[3] as string) })),
      ).toEqual(['n1', 'a2', 'b1'])
      expect(ids(await store.query({ limit: 2, offset: 1 }))).toEqual(['n1', 'a2'])
      expect(ids(await store.query({ tenantId: 'tenant-a', limit: 1, offset: 2 }))).toEqual(['a1'])
      expect(ids(await store.query({ tenantId: 'nobody' }))).toEqual([])
      expect(await store.count()).toBe(5)
      expect(await store.count({ tenantId: 'tenant-a' })).toBe(3)
      expect(await store.count({ tenantId: 'tenant-a', outcome: 'success', from: stamps[2] as string })).toBe(
        1,
      )
    })

    it('refuses a malformed query with VALIDATION_ERROR instead of answering something else', async () => {
      const { store } = await factory()
      for (const bad of [
        { limit: 10_001 },
        { limit: 0 },
        { limit: 1.5 },
        { offset: -1 },
        { outcome: 'maybe' },
        { from: 'yesterday' },
        { to: new Date(Number.NaN) },
        { tenantId: 7 },
        { tenant: 'tenant-a' },
      ]) {
        expect(await errorCode(store.query(bad as never))).toBe('VALIDATION_ERROR')
      }
      expect(await errorCode(store.count({ limit: 5 } as never))).toBe('VALIDATION_ERROR')
      expect(await store.query({ limit: 10_000 })).toEqual([])
    })

    it('shows a staged record only once committed and never an aborted one', async () => {
      const { store } = await factory()
      const staged = await store.stage(auditDraft({ requestId: 'staged' }))
      const dropped = await store.stage(auditDraft({ requestId: 'dropped' }))
      expect(await store.count()).toBe(0)
      const committed = await staged.commit()
      await dropped.abort()
      await expect(dropped.commit()).rejects.toThrow()
      expect((await store.query()).map((r) => r.requestId)).toEqual(['staged'])
      expect(await store.query()).toEqual([committed])
      await store.append(auditDraft({ requestId: 'after' }))
      expect(await store.verify()).toMatchObject({ ok: true, records: 2, chains: 1, breaks: [] })
    })

    it('stages through a reservation exactly as through stage (skipped for a store that stages only inside the write transaction: it offers none)', async (ctx) => {
      const { store } = await factory()
      if (store.reserve === undefined) {
        ctx.skip('the store stages only inside the write transaction')
        return
      }
      const kept = store.reserve().stage(auditDraft({ requestId: 'reserved' }))
      const dropped = store.reserve().stage(auditDraft({ requestId: 'reserved-dropped' }))
      expect(await store.count()).toBe(0)
      const committed = await kept.commit()
      await dropped.abort()
      await expect(dropped.commit()).rejects.toThrow()
      expect(await store.query()).toEqual([committed])
      expect(await store.verify()).toMatchObject({ ok: true, records: 1, breaks: [] })
    })

    it('keeps a staged record taken by accept() as commit() would keep it, in acceptance order (skipped for a store without accept)', async (ctx) => {
      const { store } = await factory()
      const probe = await store.stage(auditDraft({ requestId: 'probe' }))
      await probe.abort()
      if (probe.accept === undefined) {
        ctx.skip('the store has no accept')
        return
      }
      const first = await store.stage(auditDraft({ requestId: 'w1', after: { id: 1, note: 'a' } }))
      const dropped = await store.stage(auditDraft({ requestId: 'w-dropped' }))
      expect(await store.count()).toBe(0)
      await first.accept?.()
      await store.append(auditDraft({ requestId: 'a2' }))
      const third = await store.stage(auditDraft({ requestId: 'w3', tenantId: 'tenant-b' }))
      await third.accept?.()
      await dropped.abort()
      await expect(dropped.accept?.()).rejects.toThrow()
      // One handle takes commit or accept: the record accepted is never sealed twice.
      await expect(first.commit()).rejects.toThrow()
      await first.abort()
      const records = await store.query({ limit: 10 })
      expect(records.map((r) => r.requestId).sort()).toEqual(['a2', 'w1', 'w3'])
      expect(records.find((r) => r.requestId === 'w1')).toMatchObject({ after: { id: 1, note: 'a' } })
      // Sealed in the order accepted: w1's link comes before a2's on tenant-a's chain.
      const w1 = records.find((r) => r.requestId === 'w1')
      expect(records.find((r) => r.requestId === 'a2')?.prevHash).toBe(w1?.hash)
      expect(await store.verify()).toMatchObject({ ok: true, records: 3, chains: 2, breaks: [] })
    })

    it('keeps one valid chain per tenant under concurrent appends', async () => {
      const { store } = await factory()
      const tenants = ['tenant-a', 'tenant-b', null]
      await Promise.all(
        Array.from({ length: 60 }, (_, i) =>
          store.append(auditDraft({ tenantId: tenants[i % 3] ?? null, requestId: `c${i}` })),
        ),
      )
      const report = await store.verify()
      expect(report).toMatchObject({ ok: true, records: 60, chains: 3, breaks: [] })
      expect(report.heads.map((h) => h.seq)).toEqual([20, 20, 20])
      const chainA = (await store.query({ tenantId: 'tenant-a' })).reverse()
      expect(chainA[0]?.prevHash).toBeNull()
      for (let i = 1; i < chainA.length; i++) expect(chainA[i]?.prevHash).toBe(chainA[i - 1]?.hash)
    })

    it('keeps memory bounded across many tenants: an evicted chain ends valid and its tenant continues on a new one', async () => {
      const { store, rewrite } = await factory({ maxOpenChains: 2 })
      const accept = (d: AuditRecordDraft) =>
        store.record ? store.record(d) : store.append(d).then(() => undefined)
      // a, b fill the two open chains; c evicts a; a comes back on a new chain and evicts b; and so on.
      const order = ['a', 'b', 'a', 'c', 'a', 'b', 'b', 'c', 'a', 'a']
      for (const [i, t] of order.entries()) {
        const draft = auditDraft({ tenantId: `tenant-${t}`, requestId: `m${i}` })
        if (i % 2 === 0) await store.append(draft)
        else await accept(draft)
      }
      const report = await store.verify()
      expect(report).toMatchObject({ ok: true, records: order.length, breaks: [] })
      // More chains than tenants (evicted ones ended), every record kept, every chain key distinct per tenant.
      expect(report.chains).toBeGreaterThan(3)
      expect(new Set(report.heads.map((h) => h.chain)).size).toBe(report.chains)
      expect(report.heads.every((h) => h.chain.includes(':+tenant-'))).toBe(true)
      expect((await store.query({ tenantId: 'tenant-a' })).map((r) => r.requestId).sort()).toEqual(
        ['m0', 'm2', 'm4', 'm8', 'm9'].sort(),
      )
      // Tamper evidence still holds on the chains: drop the first record of a two-record chain.
      await rewrite((entries) => {
        const long = entries.find((e) => e.seq === 2)
        if (long === undefined) throw new Error('expected a chain with two records')
        return entries.filter((e) => !(e.chain === long.chain && e.seq === 1))
      })
      const tampered = await store.verify()
      expect(tampered.ok).toBe(false)
      expect(tampered.breaks.map((b) => b.reason)).toEqual(['gap'])
    })

    it('refuses a maxOpenChains that is not a positive integer', async () => {
      await expect(factory({ maxOpenChains: 0 })).rejects.toThrow(/maxOpenChains/)
      await expect(factory({ maxOpenChains: 1.5 })).rejects.toThrow(/maxOpenChains/)
    })

    it('keeps a record accepted by record() like an appended one: same chain, in query, count and verify', async () => {
      const { store } = await factory()
      const accept = (d: AuditRecordDraft) =>
        store.record ? store.record(d) : store.append(d).then(() => undefined)
      await accept(auditDraft({ requestId: 'r1' }))
      await store.append(auditDraft({ requestId: 'a2' }))
      await Promise.all([
        accept(auditDraft({ requestId: 'r3' })),
        accept(auditDraft({ requestId: 'r4', tenantId: 'tenant-b' })),
      ])
      expect(await store.count()).toBe(4)
      expect((await store.query({ tenantId: 'tenant-a' })).map((r) => r.requestId).sort()).toEqual([
        'a2',
        'r1',
        'r3',
      ])
      expect(await store.verify()).toMatchObject({ ok: true, records: 4, chains: 2, breaks: [] })
      // Refused like append: a value sealing cannot serialise.
      await expect(accept(auditDraft({ before: { total: 10n } }))).rejects.toThrow()
      expect(await store.verify()).toMatchObject({ ok: true, records: 4 })
    })

    it('rejects a record it cannot store and keeps the chain valid', async () => {
      const { store } = await factory()
      await store.append(auditDraft({ requestId: 'ok-1' }))
      await expect(store.append(auditDraft({ before: { total: 10n } }))).rejects.toThrow()
      await store.append(auditDraft({ requestId: 'ok-2' }))
      expect(await store.verify()).toMatchObject({ ok: true, records: 2 })
    })

    describe('tamper evidence', () => {
      async function fiveRecords(signing?: AuditSigningOptions) {
        const h = await factory(signing)
        for (let i = 1; i <= 5; i++) await h.store.append(auditDraft({ requestId: `t${i}` }))
        await h.store.append(auditDraft({ tenantId: 'tenant-b', requestId: 'other' }))
        expect((await h.store.verify()).ok).toBe(true)
        return h
      }
      const inA = (e: ChainedRecord) => e.record.tenantId === 'tenant-a'

      it('reports an edited record at its position', async () => {
        const h = await fiveRecords()
        await h.rewrite((entries) =>
          entries.map((e) => (inA(e) && e.seq === 3 ? { ...e, record: { ...e.record, rowCount: 1000 } } : e)),
        )
        const report = await h.store.verify()
        expect(report.ok).toBe(false)
        expect(report.breaks).toEqual([
          expect.objectContaining({ seq: 3, reason: 'edited', recordId: expect.any(String) }),
        ])
        expect(report.breaks[0]?.chain).toMatch(/:\+tenant-a$/)
      })

      it('reports a record deleted from the middle at the position after it', async () => {
        const h = await fiveRecords()
        await h.rewrite((entries) => entries.filter((e) => !(inA(e) && e.seq === 3)))
        const report = await h.store.verify()
        expect(report.breaks).toEqual([expect.objectContaining({ seq: 4, reason: 'gap' })])
      })

      it('reports reordered records', async () => {
        const h = await fiveRecords()
        await h.rewrite((entries) =>
          entries.map((e) =>
            inA(e) && e.seq === 2 ? { ...e, seq: 3 } : inA(e) && e.seq === 3 ? { ...e, seq: 2 } : e,
          ),
        )
        const report = await h.store.verify()
        expect(report.breaks).toEqual([expect.objectContaining({ seq: 2, reason: 'link' })])
      })

      it('reports a record moved to another tenant', async () => {
        const h = await fiveRecords()
        await h.rewrite((entries) =>
          entries.map((e) =>
            inA(e) && e.seq === 5
              ? { ...e, record: reseal({ ...e.record, tenantId: 'tenant-b' }, e.record.prevHash) }
              : e,
          ),
        )
        const report = await h.store.verify()
        expect(report.breaks).toEqual([expect.objectContaining({ seq: 5, reason: 'chain' })])
      })

      it('catches a chain rebuilt after a deletion only with a signing key', async () => {
        const { privateKey } = generateKeyPairSync('ed25519')
        const forge = (entries: ChainedRecord[]) => {
          const kept = byChainSeq(entries).filter((e) => !(inA(e) && e.seq === 2))
          let prev: string | null = null
          let seq = 0
          return kept.map((e) => {
            if (!inA(e)) return e
            seq += 1
            const record = reseal(e.record, prev)
            prev = record.hash
            return { ...e, seq, record }
          })
        }
        const unsigned = await fiveRecords()
        await unsigned.rewrite(forge)
        // Without signatures a consistent rebuilt chain is indistinguishable from an honest one.
        expect(await unsigned.store.verify()).toMatchObject({
          ok: true,
          records: 5,
          signaturesChecked: false,
        })

        const signed = await fiveRecords({ signingKey: privateKey })
        expect(await signed.store.verify()).toMatchObject({ ok: true, signaturesChecked: true })
        await signed.rewrite(forge)
        const report = await signed.store.verify()
        expect(report.breaks).toEqual([expect.objectContaining({ seq: 2, reason: 'signature' })])
      })
    })

    describe('retention', () => {
      it('deletes only older records, returns the count, archives them, and verify still passes', async () => {
        const { store } = await factory()
        for (let i = 0; i < 3; i++) await store.append(auditDraft({ requestId: `old-a${i}` }))
        await store.append(auditDraft({ tenantId: 'tenant-b', requestId: 'old-b' }))
        await sleep(5)
        const cutoff = new Date()
        await sleep(5)
        await store.append(auditDraft({ requestId: 'new-a' }))
        await store.append(auditDraft({ tenantId: 'tenant-c', requestId: 'new-c' }))
        const archive = `${process.env['TMPDIR'] ?? '/tmp'}/tessera-archive-${process.pid}-${Date.now()}.jsonl`
        const result = await store.deleteBefore(cutoff, { archive })
        expect(result).toEqual({ deleted: 4, archivedTo: archive })
        expect((await store.query()).map((r) => r.requestId)).toEqual(['new-c', 'new-a'])
        expect(await store.verify()).toMatchObject({ ok: true, records: 2, breaks: [] })
        const archived = (await readFile(archive, 'utf8'))
          .trim()
          .split('\n')
          .map((line) => parseAuditLine(line))
        expect(archived.map((p) => (p.kind === 'entry' ? p.entry.record.requestId : p.kind)).sort()).toEqual([
          'old-a0',
          'old-a1',
          'old-a2',
          'old-b',
        ])
        // The chains continue across the cut, and a second retention run deletes nothing older.
        await store.append(auditDraft({ requestId: 'newer-a' }))
        await store.append(auditDraft({ tenantId: 'tenant-b', requestId: 'newer-b' }))
        expect(await store.verify()).toMatchObject({ ok: true, records: 4 })
        expect(await store.deleteBefore(cutoff)).toEqual({ deleted: 0, archivedTo: null })
        expect(await store.deleteBefore(new Date(Date.now() + 60_000))).toMatchObject({ deleted: 4 })
        expect(await store.count()).toBe(0)
        await store.append(auditDraft({ requestId: 'last' }))
        expect(await store.verify()).toMatchObject({ ok: true, records: 1 })
      })

      it('still catches a deletion after a cut, and a forged cut when signing', async () => {
        const { privateKey } = generateKeyPairSync('ed25519')
        const { store, rewrite } = await factory({ signingKey: privateKey })
        for (let i = 0; i < 3; i++) await store.append(auditDraft({ requestId: `old${i}` }))
        await sleep(5)
        const cutoff = new Date()
        await sleep(5)
        for (let i = 0; i < 3; i++) await store.append(auditDraft({ requestId: `new${i}` }))
        await store.deleteBefore(cutoff)
        expect(await store.verify()).toMatchObject({ ok: true, records: 3, signaturesChecked: true })
        await rewrite((entries) => entries.filter((e) => e.seq !== 4))
        expect((await store.verify()).breaks).toEqual([expect.objectContaining({ seq: 5, reason: 'gap' })])
      })

      it('refuses a cutoff that is not a time', async () => {
        const { store } = await factory()
        expect(await errorCode(store.deleteBefore('not a date'))).toBe('VALIDATION_ERROR')
      })
    })
  })
}

/** Reads a JSONL store's or archive's entries (for rewrite in JSONL harnesses). */
export async function readJsonlEntries(path: string): Promise<{ entries: ChainedRecord[]; other: string[] }> {
  const entries: ChainedRecord[] = []
  const other: string[] = []
  for (const line of (await readFile(path, 'utf8')).split('\n')) {
    if (line === '') continue
    const parsed = parseAuditLine(line)
    if (parsed.kind === 'entry') entries.push(parsed.entry)
    else other.push(line)
  }
  return { entries: byChainSeq(entries), other }
}
