/**
 * parseWriteRequest's hand-written path for `{ model, data }` / `{ model, id, data }` with scalar data gives
 * exactly what the zod path gives — the same frozen request, member order included, or the same error — on
 * generated input (src/request/write-request-schema.ts parseSimpleWriteRequest).
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { TesseraError } from '../../src/errors/index.ts'
import { guardInput } from '../../src/request/input-guard.ts'
import {
  parseWriteRequest,
  parseWriteRequestWithSchema,
  type WriteKind,
} from '../../src/request/write-request-schema.ts'

type Outcome = { ok: true; value: unknown; keys: string } | { ok: false; error: unknown }

function outcome(parse: () => unknown): Outcome {
  try {
    const value = parse()
    return { ok: true, value, keys: JSON.stringify(keyOrder(value)) }
  } catch (error) {
    if (error instanceof TesseraError) return { ok: false, error: error.toJSON() }
    throw error
  }
}

/** Every object's keys in order, nested: toEqual alone ignores member order. */
function keyOrder(value: unknown): unknown {
  if (value === null || typeof value !== 'object') return null
  return Object.entries(value).map(([k, v]) => [k, keyOrder(v)])
}

function isDeepFrozen(value: unknown): boolean {
  if (value === null || typeof value !== 'object') return true
  return Object.isFrozen(value) && Object.values(value).every(isDeepFrozen)
}

const identifier = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom('id', 'body', 'status', 'order_id', 'Note', '_x', 'a1') },
  { weight: 2, arbitrary: fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_]{0,70}$/) },
  { weight: 1, arbitrary: fc.constantFrom('', '1a', 'a-b', 'a b', 'é', 'x'.repeat(64), '__proto__') },
)
const junk = fc.constantFrom(undefined, null, 0, 1.5, -1, 2 ** 53, true, 'x', '', [], {}, [1], { a: 1 })
const scalar = fc.oneof(
  fc.string({ maxLength: 6 }),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.constantFrom(-0, 2 ** 60, Number.MAX_VALUE),
  fc.boolean(),
  fc.constant(null),
)
const fieldValue = fc.oneof(
  { weight: 6, arbitrary: scalar },
  { weight: 1, arbitrary: fc.array(scalar, { maxLength: 2 }) },
  { weight: 1, arbitrary: fc.dictionary(fc.constantFrom('a', 'b'), scalar, { maxKeys: 2 }) },
  { weight: 1, arbitrary: junk },
)
const data = fc.oneof(
  { weight: 6, arbitrary: fc.dictionary(identifier, fieldValue, { maxKeys: 4 }) },
  { weight: 1, arbitrary: junk },
)
const id = fc.oneof(
  fc.uuid(),
  fc.integer(),
  fc.constantFrom('', 2 ** 53, -(2 ** 53), 1.5, 0, -0, -7, { id: 'x' }, { a: 1, b: 2 }, {}, null),
)

/** Some of the given members (absent, present, or present as undefined), sometimes an unknown one. */
function someOf(members: Record<string, fc.Arbitrary<unknown>>): fc.Arbitrary<Record<string, unknown>> {
  const keys = Object.keys(members)
  return fc
    .tuple(
      fc.tuple(...keys.map((k) => members[k] as fc.Arbitrary<unknown>)),
      fc.array(fc.constantFrom('present', 'present', 'present', 'absent', 'undefined'), {
        minLength: keys.length,
        maxLength: keys.length,
      }),
      fc.option(fc.constantFrom('extra', 'reason', 'approvalId', 'ids', 'hard', 'Model'), { freq: 6 }),
      fc.boolean(),
    )
    .map(([values, presence, extra, reversed]) => {
      const out: Record<string, unknown> = {}
      const order = keys.map((k, i) => [k, i] as const)
      for (const [k, i] of reversed ? order.reverse() : order) {
        if (presence[i] === 'present') out[k] = values[i]
        if (presence[i] === 'undefined') out[k] = undefined
      }
      if (extra !== null) out[extra] = extra === 'reason' ? 'because it is due' : 1
      return out
    })
}

const requests: Record<'create' | 'update', fc.Arbitrary<Record<string, unknown>>> = {
  create: someOf({ model: identifier, data }),
  update: someOf({ model: identifier, id, data }),
}

function guarded(input: unknown): boolean {
  try {
    guardInput(input)
    return true
  } catch {
    return false
  }
}

describe('parseWriteRequest: the hand-written path agrees with the schema path', () => {
  for (const kind of ['create', 'update'] as const satisfies readonly WriteKind[]) {
    it(`${kind}: same request (member order too) or same error, frozen`, () => {
      fc.assert(
        fc.property(requests[kind], (input) => {
          fc.pre(guarded(input))
          const fast = outcome(() => parseWriteRequest(kind, input))
          const slow = outcome(() => parseWriteRequestWithSchema(kind, input))
          expect(fast).toEqual(slow)
          if (fast.ok) expect(isDeepFrozen(fast.value)).toBe(true)
        }),
        { numRuns: 3000 },
      )
    })
  }

  it('keeps a private copy of data: changing the caller’s object afterwards changes nothing', () => {
    const input = { model: 'Note', id: 7, data: { body: 'first' } }
    const request = parseWriteRequest('update', input)
    input.data.body = 'changed'
    expect(request).toEqual({ kind: 'update', model: 'Note', id: 7, data: { body: 'first' } })
    expect(Object.isFrozen(request.data)).toBe(true)
  })
})
