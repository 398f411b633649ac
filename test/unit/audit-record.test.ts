import { createHash } from 'node:crypto'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  AUDIT_HASH_FIELDS,
  hashAuditRecord,
  MemoryAuditStore,
  sealAuditRecord,
  verifyAuditChain,
  type AuditRecord,
  type AuditRecordDraft,
} from '../../src/stores/index.ts'

/** The hash definition, written the slow generic way: keys sorted at every level, undefined members dropped. */
function referenceCanonical(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null'
  if (Array.isArray(value)) return `[${value.map((v) => referenceCanonical(v)).join(',')}]`
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${referenceCanonical(v)}`).join(',')}}`
}

/** The record without its `hash`: what the hash covers. */
function unsealed(record: AuditRecord): Omit<AuditRecord, 'hash'> {
  const { hash: _hash, ...rest } = record
  return rest
}

function referenceHash(record: Omit<AuditRecord, 'hash'>): string {
  return createHash('sha256').update(referenceCanonical(record)).digest('hex')
}

function draft(overrides: Partial<AuditRecordDraft> = {}): AuditRecordDraft {
  return {
    tool: 'db_get',
    model: 'Order',
    action: 'read',
    outcome: 'success',
    errorCode: null,
    tenantId: 'tenant-a',
    userId: null,
    roles: [],
    requestId: 'req-1',
    traceId: null,
    inputs: { model: 'Order', id: 'o-1' },
    scopesInjected: ['Order.tenant_id = principal.tenantId'],
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

const nullable = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: null })
const jsonish = fc.jsonValue()
const anyValue = fc.anything({
  withBoxedValues: false,
  withMap: false,
  withSet: false,
  withTypedArray: false,
  withSparseArray: true,
  withNullPrototype: true,
  withObjectString: false,
})

const draftArb: fc.Arbitrary<AuditRecordDraft> = fc.record({
  tool: fc.string(),
  model: nullable(fc.string()),
  action: fc.constantFrom('describe', 'read', 'aggregate', 'create', 'update', 'delete', 'bulk_update'),
  outcome: fc.constantFrom('success', 'denied', 'error'),
  errorCode: nullable(fc.string()),
  tenantId: nullable(fc.string()),
  userId: nullable(fc.string()),
  roles: fc.array(fc.string()),
  requestId: fc.string(),
  traceId: nullable(fc.string()),
  inputs: fc.oneof(jsonish, anyValue),
  scopesInjected: fc.array(fc.string()),
  rowPolicies: fc.array(fc.string()),
  bypass: nullable(fc.string()),
  fieldsRedacted: fc.array(fc.string()),
  rowCount: nullable(fc.integer()),
  affectedRows: nullable(fc.integer()),
  durationMs: fc.double({ noNaN: true, noDefaultInfinity: true }),
  reason: nullable(fc.string({ unit: 'binary' })),
  before: fc.oneof(jsonish, anyValue),
  after: fc.oneof(jsonish, anyValue),
  policyVersion: fc.string(),
}) as fc.Arbitrary<AuditRecordDraft>

describe('audit record hash', () => {
  it('lists every hashed member of a record in sorted order', () => {
    // argsDigest is optional (records from before it existed lack it); a draft that has it seals it.
    const sealed = sealAuditRecord({ ...draft(), argsDigest: 'f'.repeat(64) }, null)
    const members = Object.keys(sealed)
      .filter((k) => k !== 'hash')
      .sort()
    expect([...AUDIT_HASH_FIELDS]).toEqual(members)
  })

  it('seals exactly the sha256 of the sorted canonical JSON, for any draft', () => {
    fc.assert(
      fc.property(draftArb, nullable(fc.stringMatching(/^[0-9a-f]{64}$/)), (d, prev) => {
        const sealed = sealAuditRecord(d, prev)
        expect(sealed.hash).toBe(referenceHash(unsealed(sealed)))
        expect(hashAuditRecord(unsealed(sealed))).toBe(sealed.hash)
        expect(sealed.prevHash).toBe(prev)
      }),
      { numRuns: 300 },
    )
  })

  it('seals the canonical hash when a tool recurs with its repeating members the same or changed', () => {
    // Few tools and small pools of repeating members, so records reuse their tool's text template, miss it and
    // replace it; lists are also changed in place between two records of one tool.
    const small = <T>(...values: T[]) => fc.constantFrom(...values)
    const scopes = ['Order.tenant_id = principal.tenantId', 'Order.region = principal.region']
    const recurring = fc.record({
      tool: small('db_get', 'db_query', 'é"tool\\'),
      model: small<string | null>('Order', 'Note', null),
      action: small('read', 'aggregate'),
      outcome: small('success', 'denied'),
      errorCode: small<string | null>(null, 'NOT_FOUND'),
      affectedRows: small<number | null>(null, 0, -0, 3, Number.NaN),
      bypass: small<string | null>(null, 'Order.admin'),
      reason: small<string | null>(null, 'why\n'),
      policyVersion: small('v1', 'v2'),
      scopesInjected: fc.subarray(scopes),
      rowPolicies: fc.subarray(['Order.own', 'Order.open']),
      fieldsRedacted: fc.subarray(['salary']),
      argsDigest: small<string | null>('a'.repeat(64), null),
      before: small<unknown>(null, null, { a: 1 }),
      after: small<unknown>(null, null, undefined),
      roles: fc.array(fc.string(), { maxLength: 2 }),
      tenantId: nullable(fc.string()),
      inputs: fc.oneof(jsonish, fc.constant(undefined)),
      durationMs: fc.double({ noNaN: true, noDefaultInfinity: true }),
      mutateScopes: fc.boolean(),
    })
    fc.assert(
      fc.property(fc.array(recurring, { minLength: 2, maxLength: 12 }), (calls) => {
        let prev: string | null = null
        // One list object reused across records and changed in place between them.
        const shared = ['Order.tenant_id = principal.tenantId']
        for (const [i, { mutateScopes, ...members }] of calls.entries()) {
          if (mutateScopes) shared[0] = i % 2 === 0 ? 'Order.tenant_id = principal.tenantId' : 'changed'
          const d = draft({
            ...(members as Partial<AuditRecordDraft>),
            ...(mutateScopes ? { scopesInjected: shared } : {}),
          })
          const sealed = sealAuditRecord(d, prev)
          expect(sealed.hash).toBe(referenceHash(unsealed(sealed)))
          prev = sealed.hash
        }
      }),
      { numRuns: 300, seed: 20261207 },
    )
  })

  it('keeps the hash of a known record (the definition does not drift)', () => {
    const record: Omit<AuditRecord, 'hash'> = {
      ...draft({
        roles: ['b', 'a'],
        inputs: { z: [1, undefined, 'x'], a: { b: null, c: undefined }, é: 'ü' },
        after: { total: '1.50' },
      }),
      id: '00000000-0000-4000-8000-000000000000',
      timestamp: '2024-01-02T03:04:05.678Z',
      prevHash: 'f'.repeat(64),
    }
    expect(referenceCanonical(record)).toContain('"inputs":{"a":{"b":null},"z":[1,null,"x"],"é":"ü"}')
    // Computed by the original (generic, sorting) implementation.
    expect(hashAuditRecord(record)).toBe('97857f8da3ebf8253b413b296072c7b757aa4f78884a1b52c300708895b99707')
  })

  it('hashes a record carrying members beyond the known ones over all of them', () => {
    const sealed = sealAuditRecord(draft(), null)
    const extended = { ...unsealed(sealed), extra: 'tampered' }
    expect(hashAuditRecord(extended)).toBe(referenceHash(extended))
    expect(hashAuditRecord(extended)).not.toBe(sealed.hash)
  })

  it('stamps each record with the ISO time of its own millisecond, records of one millisecond alike', () => {
    const at = Date.UTC(2026, 11, 7, 13, 45, 1, 999)
    const stamps = [at, at, at + 1, at, at - 86_400_000].map(
      (ms) => sealAuditRecord(draft(), null, new Date(ms)).timestamp,
    )
    expect(stamps).toEqual([at, at, at + 1, at, at - 86_400_000].map((ms) => new Date(ms).toISOString()))
    expect(() => sealAuditRecord(draft(), null, new Date(Number.NaN))).toThrow(RangeError)
  })

  it('seals only the documented members of a draft', () => {
    const sealed = sealAuditRecord({ ...draft(), smuggled: 1 } as AuditRecordDraft, null)
    expect(Object.hasOwn(sealed, 'smuggled')).toBe(false)
    expect(verifyAuditChain([sealed])).toBe(-1)
  })
})

describe('verifyAuditChain', () => {
  const chain = (n: number): AuditRecord[] => {
    const out: AuditRecord[] = []
    for (let i = 0; i < n; i++)
      out.push(sealAuditRecord(draft({ requestId: `r${i}` }), out[i - 1]?.hash ?? null))
    return out
  }

  it('accepts an intact chain from the genesis', () => {
    expect(verifyAuditChain(chain(5))).toBe(-1)
  })

  it('reports the first edited, removed or reordered record', () => {
    const records = chain(5)
    expect(verifyAuditChain(records.map((r, i) => (i === 2 ? { ...r, rowCount: 7 } : r)))).toBe(2)
    expect(verifyAuditChain([...records.slice(0, 1), ...records.slice(2)])).toBe(1)
    expect(verifyAuditChain([records[1] as AuditRecord, records[0] as AuditRecord])).toBe(0)
  })

  it('requires the first record to link to the anchor', () => {
    const records = chain(5)
    expect(verifyAuditChain(records.slice(2))).toBe(0)
    expect(verifyAuditChain(records.slice(2), records[1]?.hash)).toBe(-1)
    expect(verifyAuditChain(records.slice(2), records[0]?.hash)).toBe(0)
  })
})

describe('MemoryAuditStore', () => {
  it('keeps the most recent records up to its capacity and verifies from where it cut the chain', async () => {
    const store = new MemoryAuditStore({ capacity: 3 })
    const appended: AuditRecord[] = []
    for (let i = 0; i < 7; i++) appended.push(await store.append(draft({ requestId: `r${i}` })))
    const kept = store.all()
    expect(kept.map((r) => r.requestId)).toEqual(['r4', 'r5', 'r6'])
    expect(verifyAuditChain(kept, appended[3]?.hash)).toBe(-1)
    expect(verifyAuditChain(kept)).toBe(0)
    expect(await store.verify()).toMatchObject({ ok: true, records: 3, chains: 1 })
    expect((await store.query()).map((r) => r.requestId)).toEqual(['r6', 'r5', 'r4'])
    expect((await store.query({ offset: 1, limit: 1 })).map((r) => r.requestId)).toEqual(['r5'])
  })

  it('chains every record across the drop boundary', async () => {
    const store = new MemoryAuditStore({ capacity: 4 })
    const appended: AuditRecord[] = []
    for (let i = 0; i < 10; i++) appended.push(await store.append(draft({ requestId: `r${i}` })))
    expect(verifyAuditChain(appended)).toBe(-1)
  })

  it('starts from the genesis while nothing was dropped', async () => {
    const store = new MemoryAuditStore()
    expect(store.capacity).toBe(10_000)
    await store.append(draft())
    expect(verifyAuditChain(store.all())).toBe(-1)
    expect((await store.verify()).ok).toBe(true)
  })

  it('keeps everything with an infinite capacity', async () => {
    const store = new MemoryAuditStore({ capacity: Number.POSITIVE_INFINITY })
    for (let i = 0; i < 20; i++) await store.append(draft())
    expect(store.all()).toHaveLength(20)
  })

  it('rejects a capacity that is not a positive integer', () => {
    for (const capacity of [0, -1, 1.5, Number.NaN])
      expect(() => new MemoryAuditStore({ capacity })).toThrow(RangeError)
  })

  it('seals staged records in commit order and never keeps an aborted one', async () => {
    const store = new MemoryAuditStore({ capacity: 2 })
    const first = await store.stage(draft({ requestId: 'first' }))
    const second = await store.stage(draft({ requestId: 'second' }))
    const aborted = await store.stage(draft({ requestId: 'aborted' }))
    await second.commit()
    await first.commit()
    await aborted.abort()
    await expect(aborted.commit()).rejects.toThrow('aborted')
    expect(store.all().map((r) => r.requestId)).toEqual(['second', 'first'])
    expect(verifyAuditChain(store.all())).toBe(-1)
  })

  it('fails the next calls on request, for stage and append alike', async () => {
    const store = new MemoryAuditStore()
    store.failNext(2)
    await expect(store.append(draft())).rejects.toThrow('unavailable')
    await expect(store.stage(draft())).rejects.toThrow('unavailable')
    await expect(store.append(draft())).resolves.toMatchObject({ requestId: 'req-1' })
  })
})

describe('MemoryAuditStore.record (sealed off the caller path)', () => {
  it('seals recorded drafts in acceptance order, interleaved with appends and commits', async () => {
    const store = new MemoryAuditStore()
    await store.record(draft({ requestId: 'r1' }))
    const staged = await store.stage(draft({ requestId: 'staged' }))
    await store.record(draft({ requestId: 'r2' }))
    await staged.commit()
    await store.append(draft({ requestId: 'a1' }))
    await store.record(draft({ requestId: 'r3' }))
    const records = store.all()
    expect(records.map((r) => r.requestId)).toEqual(['r1', 'r2', 'staged', 'a1', 'r3'])
    expect(verifyAuditChain(records)).toBe(-1)
    for (const r of records) expect(r.hash).toBe(referenceHash(unsealed(r)))
  })

  it('stamps a record with the time it was accepted', async () => {
    const store = new MemoryAuditStore()
    const before = new Date().toISOString()
    await store.record(draft())
    const after = new Date().toISOString()
    await new Promise((resolve) => setTimeout(resolve, 5))
    const [record] = await store.query()
    expect(record !== undefined && record.timestamp >= before && record.timestamp <= after).toBe(true)
  })

  it('seals pending records on its own shortly after, and at once when a batch is full', async () => {
    const store = new MemoryAuditStore({ capacity: 2 })
    for (let i = 0; i < 5; i++) await store.record(draft({ requestId: `r${i}` }))
    expect(store.pending).toBe(5)
    await new Promise((resolve) => setTimeout(resolve, 50))
    expect(store.pending).toBe(0)
    expect(store.all().map((r) => r.requestId)).toEqual(['r3', 'r4'])
    expect(await store.verify()).toMatchObject({ ok: true, records: 2 })
    for (let i = 0; i < 200; i++) await store.record(draft())
    expect(store.pending).toBeLessThan(64)
  })

  it('rejects exactly when append rejects', async () => {
    const cyclic: Record<string, unknown> = {}
    cyclic['self'] = cyclic
    const throwing = Object.defineProperty({}, 'x', {
      enumerable: true,
      get() {
        throw new Error('getter')
      },
    })
    for (const bad of [{ before: { total: 10n } }, { before: throwing }, { inputs: cyclic }]) {
      const appendError = await new MemoryAuditStore().append(draft(bad)).then(
        () => null,
        (e: unknown) => (e as Error).name,
      )
      const recordError = await new MemoryAuditStore().record(draft(bad)).then(
        () => null,
        (e: unknown) => (e as Error).name,
      )
      expect(appendError).not.toBeNull()
      expect(recordError).toBe(appendError)
    }
    const store = new MemoryAuditStore()
    store.failNext(1)
    await expect(store.record(draft())).rejects.toThrow('unavailable')
    await store.record(draft())
    expect(store.all()).toHaveLength(1)
  })

  it('seals drafts holding dates or class instances at once, with the same hash as append', async () => {
    const store = new MemoryAuditStore()
    await store.record(draft({ after: { at: new Date(0) }, requestId: 'dated' }))
    await store.record(draft({ requestId: 'plain' }))
    const records = store.all()
    expect(records.map((r) => r.requestId)).toEqual(['dated', 'plain'])
    expect(verifyAuditChain(records)).toBe(-1)
  })
})

describe('MemoryAuditStore keeps recorded drafts as their canonical text', () => {
  it('reads back, for any plain-data draft, the record sealing it gives, with the same hash and member order', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(draftArb, { minLength: 1, maxLength: 4 }), async (drafts) => {
        // Plain JSON-like data, as the toolset's drafts are (-0 is not JSON: it reads back as 0, the same hash).
        const plain = drafts.map((d) => ({
          ...d,
          inputs: JSON.parse(JSON.stringify(d.inputs ?? null)) as unknown,
          durationMs: d.durationMs + 0,
        }))
        const recorded = new MemoryAuditStore()
        const appended = new MemoryAuditStore()
        const expected: AuditRecord[] = []
        for (const d of plain) {
          await recorded.record({ ...d, before: null, after: null })
          expected.push(await appended.append({ ...d, before: null, after: null }))
        }
        const got = recorded.all()
        expect(got).toHaveLength(expected.length)
        for (let i = 0; i < got.length; i++) {
          const r = got[i] as AuditRecord
          const e = expected[i] as AuditRecord
          // Everything but the id, the timestamp and the chain (other store, other moment) is the appended record's.
          expect(Object.keys(r)).toEqual(Object.keys(e))
          const { id: _i, timestamp: _t, prevHash: _p, hash: _h, ...same } = r
          const { id: _i2, timestamp: _t2, prevHash: _p2, hash: _h2, ...sameE } = e
          expect(same).toEqual(sameE)
          expect(r.hash).toBe(referenceHash(unsealed(r)))
        }
        expect(await recorded.verify()).toMatchObject({ ok: true, records: got.length })
      }),
      { numRuns: 100, seed: 20261207 },
    )
  })

  it('detects an edit to a kept record, and a record taken out of the middle', async () => {
    const store = new MemoryAuditStore()
    for (let i = 0; i < 5; i++) await store.record(draft({ requestId: `r${i}` }))
    expect((await store.verify()).ok).toBe(true)
    store.tamperForTesting((entries) =>
      entries.map((e, i) => (i === 2 ? { ...e, record: { ...e.record, rowCount: 99 } } : e)),
    )
    expect(await store.verify()).toMatchObject({ ok: false, breaks: [{ seq: 3, reason: 'edited' }] })

    const other = new MemoryAuditStore()
    for (let i = 0; i < 5; i++) await other.record(draft({ requestId: `r${i}` }))
    other.tamperForTesting((entries) => entries.filter((_, i) => i !== 1))
    expect(await other.verify()).toMatchObject({ ok: false, breaks: [{ seq: 3, reason: 'gap' }] })
  })

  it('cuts text-kept records for capacity and retention and still verifies, tenants on their own chains', async () => {
    const store = new MemoryAuditStore({ capacity: 5 })
    for (let i = 0; i < 12; i++)
      await store.record(draft({ requestId: `r${i}`, tenantId: i % 2 === 0 ? 'tenant-a' : 'tenant-b' }))
    expect(store.all().map((r) => r.requestId)).toEqual(['r7', 'r8', 'r9', 'r10', 'r11'])
    expect(await store.verify()).toMatchObject({ ok: true, records: 5, chains: 2 })
    const newest = (await store.query({ tenantId: 'tenant-a' })).map((r) => r.requestId)
    expect(newest).toEqual(['r10', 'r8'])
    const result = await store.deleteBefore(new Date(Date.now() + 60_000))
    expect(result.deleted).toBe(5)
    expect(store.all()).toEqual([])
    await store.record(draft({ requestId: 'after', tenantId: 'tenant-a' }))
    expect(await store.verify()).toMatchObject({ ok: true, records: 1 })
  })
})
