import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { parseRunContext, parseRunContextWithSchema } from '../../src/context/principal.ts'
import { TesseraError } from '../../src/errors/index.ts'

type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown }

function outcome(parse: (input: unknown) => unknown, input: unknown): Outcome {
  try {
    return { ok: true, value: parse(input) }
  } catch (error) {
    if (error instanceof TesseraError) return { ok: false, error: error.toJSON() }
    return { ok: false, error: { name: (error as Error).name, message: (error as Error).message } }
  }
}

function isDeepFrozen(value: unknown): boolean {
  if (value === null || typeof value !== 'object') return true
  return Object.isFrozen(value) && Object.values(value).every(isDeepFrozen)
}

class Holder {
  tenantId = 'tenant-a'
}

const text = fc.oneof(
  fc.constantFrom(
    '',
    ' ',
    '\t\n ',
    'a\u0000b',
    '\u0000',
    'x'.repeat(256),
    'x'.repeat(257),
    ' x ',
    'tenant-a',
  ),
  fc.string({ maxLength: 8 }),
  fc.string({ minLength: 250, maxLength: 260 }),
)
const notText = fc.oneof(
  fc.integer(),
  fc.constantFrom(null, undefined, true, Number.NaN),
  fc.constant(['tenant-a']),
  fc.constant({ id: 'tenant-a' }),
  fc.constant(new String('tenant-a')),
)
const textish = fc.oneof({ weight: 4, arbitrary: text }, { weight: 1, arbitrary: notText })

const roles = fc.oneof(
  fc.array(textish, { maxLength: 4 }),
  fc.array(fc.constant('agent'), { minLength: 255, maxLength: 258 }),
  fc.constant(Object.assign(['a'], { extra: 1 })),
  // A sparse array: the hole reads as undefined.
  fc.constant([, 'a'] as unknown[]), // eslint-disable-line no-sparse-arrays
  notText,
)

const metadata = fc.oneof(
  fc.dictionary(fc.string({ maxLength: 6 }), fc.jsonValue({ maxDepth: 2 })),
  fc.constantFrom(
    {},
    { a: undefined },
    { org: 'o-1', tenantHierarchy: ['t1', 't2'] },
    { fn: () => 1 },
    { [Symbol('s')]: 1 },
    { nested: { deep: [1, { x: new Date(0) }] } },
    Object.create(null) as object,
    new Holder(),
    new Date(0),
    [],
    JSON.parse('{"__proto__": {"polluted": true}, "a": 1}') as object,
  ),
  notText,
)

/** An object with some of the given members (each present or not), sometimes an extra or odd key. */
function partialRecord(
  members: Record<string, fc.Arbitrary<unknown>>,
): fc.Arbitrary<Record<string, unknown>> {
  return fc
    .record(
      Object.fromEntries(
        Object.entries(members).map(([k, arb]) => [k, fc.option(arb, { nil: undefined, freq: 3 })]),
      ),
    )
    .chain((values) =>
      fc
        .record({
          keep: fc.array(fc.boolean(), {
            minLength: Object.keys(values).length,
            maxLength: Object.keys(values).length,
          }),
          extra: fc.option(fc.constantFrom('foo', '__proto__', 'constructor', 'tenantid'), { freq: 6 }),
          extraValue: fc.constantFrom(undefined, 1, 'x'),
        })
        .map(({ keep, extra, extraValue }) => {
          const out: Record<string, unknown> = {}
          Object.keys(values).forEach((k, i) => {
            // Absent, or present (possibly as undefined).
            if (keep[i] || values[k] !== undefined) out[k] = values[k]
          })
          if (extra !== null) Object.defineProperty(out, extra, { value: extraValue, enumerable: true })
          return out
        }),
    )
}

const principal = fc.oneof(
  { weight: 8, arbitrary: partialRecord({ tenantId: textish, userId: textish, roles, metadata }) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      null,
      undefined,
      'tenant-a',
      [],
      new Holder(),
      Object.assign(Object.create(null) as object, { tenantId: 'tenant-a' }),
    ),
  },
)

const context = fc.oneof(
  { weight: 8, arbitrary: partialRecord({ principal, requestId: textish, traceId: textish }) },
  { weight: 1, arbitrary: fc.constantFrom(null, undefined, 'ctx', 42, [], new Holder()) },
)

describe('parseRunContext fast path', () => {
  it('gives exactly the schema path answer: same value, or the same error', () => {
    fc.assert(
      fc.property(context, (input) => {
        const fast = outcome(parseRunContext, input)
        const reference = outcome(parseRunContextWithSchema, input)
        expect(fast).toStrictEqual(reference)
        if (fast.ok) expect(isDeepFrozen(fast.value)).toBe(true)
      }),
      { numRuns: 3000 },
    )
  })

  it('agrees on the common shapes it handles by hand', () => {
    const common = fc.record(
      {
        principal: fc.record(
          { tenantId: text, userId: text, roles: fc.array(text, { maxLength: 3 }) },
          { requiredKeys: ['tenantId'] },
        ),
        requestId: text,
        traceId: text,
      },
      { requiredKeys: ['principal'] },
    )
    fc.assert(
      fc.property(common, (input) => {
        expect(outcome(parseRunContext, input)).toStrictEqual(outcome(parseRunContextWithSchema, input))
      }),
      { numRuns: 2000 },
    )
  })

  it('returns a context it returned before as it is, and a copy of anything else', () => {
    const input = { principal: { tenantId: 'tenant-a', roles: ['agent'] }, requestId: 'r-1' }
    const parsed = parseRunContext(input)
    expect(parsed).not.toBe(input)
    expect(parseRunContext(parsed)).toBe(parsed)
    expect(parseRunContext({ ...parsed })).not.toBe(parsed)
    expect(parseRunContext({ ...parsed })).toStrictEqual(parsed)
    expect(isDeepFrozen(parsed)).toBe(true)
  })

  it('copies metadata on every call, so a later change of the input cannot leak in', () => {
    const meta = { tenantHierarchy: ['t1'] }
    const parsed = parseRunContext({ principal: { tenantId: 't1', metadata: meta } })
    meta.tenantHierarchy.push('t2')
    expect(parsed.principal.metadata).toStrictEqual({ tenantHierarchy: ['t1'] })
    expect(isDeepFrozen(parsed)).toBe(true)
  })

  it('rejects a blank tenant and a NUL in a role, like the schema', () => {
    expect(() => parseRunContext({ principal: { tenantId: '  ' } })).toThrow(
      expect.objectContaining({ code: 'TENANT_SCOPE_REQUIRED' }),
    )
    expect(() => parseRunContext({ principal: { tenantId: 't', roles: ['a\u0000'] } })).toThrow(
      expect.objectContaining({ code: 'VALIDATION_ERROR' }),
    )
  })
})
