/**
 * The audit's two per-call walks over a call's arguments, held to their original definitions: the argsDigest
 * is HMAC-SHA256 of canonicalJson over a plain copy of the raw arguments' data (the definition it was
 * introduced with, written out below as the oracle), and a frozen request with nothing to redact is stored as
 * it is only where the redacting copy would be the same data.
 */
import { createHmac } from 'node:crypto'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { canonicalJson } from '../../src/json/index.ts'
import {
  auditArgsText,
  type AuditRecordDraft,
  deferArgsDigest,
  digestAuditArgs,
  hashAuditRecord,
  MemoryAuditStore,
  REDACTED,
  sanitizeAuditInput,
  sealAuditRecord,
} from '../../src/stores/index.ts'
import { digestOfArgsText } from '../../src/stores/audit-sanitize.ts'
import { auditDraft } from '../support/audit-store-conformance.ts'

const KEY = new Uint8Array(32).fill(7)

/** The first definition of the digest's input: data properties copied, bigints as text, depth bounded. */
function plainCopy(value: unknown, depth: number): unknown {
  if (typeof value === 'bigint') return value.toString()
  if (typeof value !== 'object' || value === null) return value
  if (depth > 512) throw new RangeError('too deep')
  const own = (target: object, key: string): unknown => {
    const descriptor = Object.getOwnPropertyDescriptor(target, key)
    if (descriptor === undefined) return null
    return 'value' in descriptor ? plainCopy(descriptor.value, depth + 1) : '[accessor]'
  }
  if (Array.isArray(value)) {
    const out: unknown[] = []
    for (let i = 0; i < value.length; i++) out.push(own(value, String(i)))
    return out
  }
  const out: Record<string, unknown> = {}
  for (const key of Object.keys(value)) {
    Object.defineProperty(out, key, {
      value: own(value, key),
      enumerable: true,
      writable: true,
      configurable: true,
    })
  }
  return out
}

function oracleDigest(args: unknown): string | null {
  try {
    return createHmac('sha256', KEY)
      .update(canonicalJson(plainCopy(args, 0)), 'utf8')
      .digest('hex')
  } catch {
    return null
  }
}

/** Arguments as callers send them, and what else can reach the digest: bigints, undefined, functions, Dates. */
const anyArgs = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.string(),
    fc.integer(),
    fc.double(),
    fc.boolean(),
    fc.constant(null),
    fc.constant(undefined),
    fc.bigInt(),
    fc.constant(() => 1),
    fc.date({ noInvalidDate: false }),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.sparseArray(tie('value'), { maxLength: 4 }),
    fc.dictionary(fc.oneof(fc.string(), fc.constantFrom('__proto__', 'b', 'a', '10', '2')), tie('value'), {
      maxKeys: 4,
    }),
  ),
})).value

describe('audit argument digest', () => {
  it('is the HMAC of canonicalJson over a plain copy of the data, for any arguments', () => {
    fc.assert(
      fc.property(anyArgs, (args) => {
        expect(digestAuditArgs(args, KEY)).toBe(oracleDigest(args))
      }),
      { numRuns: 500, seed: 20261207 },
    )
  })

  it('hashes an accessor as "[accessor]" without running it, and refuses a cycle', () => {
    let ran = false
    const args = { model: 'Order' }
    Object.defineProperty(args, 'id', {
      enumerable: true,
      get: () => {
        ran = true
        return 'x'
      },
    })
    expect(digestAuditArgs(args, KEY)).toBe(oracleDigest(args))
    expect(ran).toBe(false)
    const cyclic: Record<string, unknown> = { model: 'Order' }
    cyclic['self'] = cyclic
    expect(digestAuditArgs(cyclic, KEY)).toBeNull()
  })

  it('is what createHmac gives, for keys of any length and any text, and follows a key changed in place', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 100 }),
        fc.string({ unit: 'grapheme', maxLength: 300 }),
        (key, text) => {
          const want = createHmac('sha256', key).update(text, 'utf8').digest('hex')
          expect(digestOfArgsText(text, key)).toBe(want)
          // The same key object again (its pads are remembered), then changed in place: the new bytes count.
          expect(digestOfArgsText(text, key)).toBe(want)
          if (key.length > 0) {
            key[0] = ((key[0] as number) + 1) & 0xff
            expect(digestOfArgsText(text, key)).toBe(
              createHmac('sha256', key).update(text, 'utf8').digest('hex'),
            )
          }
        },
      ),
      { numRuns: 300, seed: 20261207 },
    )
    expect(digestOfArgsText(null, KEY)).toBeNull()
    expect(digestOfArgsText('x', undefined as unknown as Uint8Array)).toBeNull()
  })

  it('is what createHmac gives for texts longer than the room kept for them, before and after', () => {
    const key = new Uint8Array(32).fill(7)
    const oracle = (text: string): string => createHmac('sha256', key).update(text, 'utf8').digest('hex')
    // Short, then one that grows the kept room, then one past what is ever kept, then short again: each
    // call hashes its own text only (no bytes of a longer earlier one).
    for (const text of ['{"a":1}', 'é'.repeat(2_000), 'x'.repeat(70_000), '{"b":2}', ''])
      expect(digestOfArgsText(text, key)).toBe(oracle(text))
  })
})

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const key of Object.keys(value)) deepFreeze((value as Record<string, unknown>)[key])
    Object.freeze(value)
  }
  return value
}

/** JSON-like requests, with the keys and fields the redaction looks at. */
const requestLike = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.string(),
    fc.integer(),
    fc.boolean(),
    fc.constant(null),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.record({
      field: fc.constantFrom('status', 'password_hash', 'Card.secret_note', 'total'),
      op: fc.constantFrom('eq', 'in'),
      value: tie('value'),
    }),
    fc.dictionary(fc.constantFrom('model', 'where', 'token', 'password_hash', 'limit', 'and'), tie('value'), {
      maxKeys: 3,
    }),
  ),
})).value

describe('full-mode audit inputs', () => {
  const sensitiveFields = new Set(['password_hash', 'secret_note'])

  it('are the same data whether the request is frozen (kept as it is) or not (copied)', () => {
    fc.assert(
      fc.property(requestLike, (request) => {
        const copied = sanitizeAuditInput(structuredClone(request), { sensitiveFields, full: true })
        const kept = sanitizeAuditInput(deepFreeze(structuredClone(request)), { sensitiveFields, full: true })
        expect(canonicalJson(kept)).toBe(canonicalJson(copied))
        expect(kept).toEqual(copied)
      }),
      { numRuns: 500, seed: 20261207 },
    )
  })

  it('keep a frozen request with nothing to redact by reference, and copy one with a secret in it', () => {
    const clean = deepFreeze({
      model: 'Order',
      where: { kind: 'cmp', field: 'status', op: 'eq', value: 'paid' },
    })
    expect(sanitizeAuditInput(clean, { sensitiveFields, full: true })).toBe(clean)
    const secret = deepFreeze({
      model: 'User',
      where: { kind: 'cmp', field: 'password_hash', op: 'eq', value: 'x' },
    })
    expect(sanitizeAuditInput(secret, { sensitiveFields, full: true })).toEqual({
      model: 'User',
      where: { kind: 'cmp', field: 'password_hash', op: 'eq', value: REDACTED },
    })
  })
})

describe('argsDigest computed at sealing', () => {
  const draft = (): AuditRecordDraft => auditDraft({ inputs: { model: 'Order', id: 1 }, argsDigest: null })

  it('seals the record an eager digest gives, over the arguments as they were when the call read them', async () => {
    const args = { model: 'Order', id: 1 }
    const eager = { ...draft(), argsDigest: digestAuditArgs(args, KEY) }
    const deferred = deferArgsDigest(draft(), auditArgsText(args), KEY)
    args.id = 2 // changed after the call: the record still pins what was submitted
    const at = new Date('2026-01-01T00:00:00Z')
    const sealed = sealAuditRecord(deferred, null, at)
    expect(sealed.argsDigest).toBe(eager.argsDigest)
    // The record's hash covers that digest, exactly as for a record sealed with it eagerly.
    const { hash, ...rest } = sealed
    expect(hashAuditRecord({ ...rest, argsDigest: eager.argsDigest })).toBe(hash)
    expect(hashAuditRecord({ ...rest, argsDigest: null })).not.toBe(hash)
    const store = new MemoryAuditStore()
    await store.record(deferArgsDigest(draft(), auditArgsText({ model: 'Order', id: 1 }), KEY))
    expect(store.all()[0]?.argsDigest).toBe(eager.argsDigest)
    expect(await store.verify()).toMatchObject({ ok: true })
  })
})
