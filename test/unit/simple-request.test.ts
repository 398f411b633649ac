import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { TesseraError } from '../../src/errors/index.ts'
import { guardInput } from '../../src/request/input-guard.ts'
import { parseRequest, parseRequestWithSchema } from '../../src/request/request-schema.ts'
import {
  parseSimpleAggregateRequest,
  parseSimpleGetRequest,
  parseSimpleQueryRequest,
} from '../../src/request/simple-request.ts'
import { TOOLS } from '../../src/tools/tool-registry.ts'

type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown }

function outcome(parse: () => unknown): Outcome {
  try {
    return { ok: true, value: parse() }
  } catch (error) {
    if (error instanceof TesseraError) return { ok: false, error: error.toJSON() }
    throw error
  }
}

function isDeepFrozen(value: unknown): boolean {
  if (value === null || typeof value !== 'object') return true
  return Object.isFrozen(value) && Object.values(value).every(isDeepFrozen)
}

const identifier = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom('id', 'status', 'total', 'created_at', 'Order', '_x', 'a1') },
  { weight: 2, arbitrary: fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_]{0,70}$/) },
  { weight: 1, arbitrary: fc.constantFrom('', '1a', 'a-b', 'a b', 'é', 'x'.repeat(64), 'select *') },
)
const junk = fc.constantFrom(undefined, null, 0, 1.5, -1, 2 ** 53, true, 'x', '', [], {}, [1], { a: 1 })
const scalar = fc.oneof(
  fc.string({ maxLength: 6 }),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.boolean(),
  fc.constant(null),
)
const op = fc.constantFrom(
  'eq',
  'ne',
  'lt',
  'lte',
  'gt',
  'gte',
  'in',
  'not_in',
  'is_null',
  'contains',
  'startswith',
  'endswith',
  'between',
  'like',
  'EQ',
)
const value = fc.oneof(
  scalar,
  fc.array(scalar, { maxLength: 3 }),
  fc.tuple(scalar, scalar),
  fc.array(fc.oneof(scalar, junk), { maxLength: 3 }),
  junk,
)

/** Some of the given members (absent, present, or present as undefined), sometimes an unknown one. */
function someOf(members: Record<string, fc.Arbitrary<unknown>>): fc.Arbitrary<Record<string, unknown>> {
  const keys = Object.keys(members)
  return fc
    .tuple(
      fc.tuple(
        ...keys.map((k) => fc.option(members[k] as fc.Arbitrary<unknown>, { nil: undefined, freq: 4 })),
      ),
      fc.array(fc.constantFrom('absent', 'present', 'undefined'), {
        minLength: keys.length,
        maxLength: keys.length,
      }),
      fc.option(fc.constantFrom('extra', 'and', 'op', 'include', 'Model'), { freq: 8 }),
    )
    .map(([values, presence, extra]) => {
      const out: Record<string, unknown> = {}
      keys.forEach((k, i) => {
        if (presence[i] === 'present') out[k] = values[i]
        if (presence[i] === 'undefined') out[k] = undefined
      })
      if (extra !== null) out[extra] = 1
      return out
    })
}

const comparison = fc.oneof(
  { weight: 4, arbitrary: fc.record({ field: identifier, op, value }) },
  { weight: 1, arbitrary: someOf({ field: identifier, op, value }) },
)
const filter = fc.oneof(
  { weight: 4, arbitrary: comparison },
  { weight: 3, arbitrary: fc.record({ and: fc.array(comparison, { maxLength: 3 }) }) },
  { weight: 3, arbitrary: fc.array(comparison, { maxLength: 3 }) },
  { weight: 1, arbitrary: fc.record({ or: fc.array(comparison, { maxLength: 2 }) }) },
  { weight: 1, arbitrary: fc.record({ not: comparison }) },
  { weight: 1, arbitrary: fc.record({ and: fc.array(fc.record({ or: fc.array(comparison) })) }) },
  { weight: 1, arbitrary: junk },
)
const orderItem = fc.oneof(
  identifier,
  fc.record({ field: identifier }),
  fc.record({ field: identifier, direction: fc.constantFrom('asc', 'desc', 'ASC', undefined, 1) }),
  someOf({ field: identifier, direction: fc.constantFrom('asc', 'desc') }),
  junk,
)
const select = fc.oneof(fc.array(identifier, { maxLength: 3 }), junk)
const limit = fc.oneof(fc.integer({ min: -2, max: 500 }), fc.constantFrom(2 ** 53, 1.5, 0, '5', null))

const queryRequest = someOf({
  model: identifier,
  select,
  where: filter,
  orderBy: fc.oneof(fc.array(orderItem, { maxLength: 3 }), junk),
  limit,
  cursor: fc.oneof(fc.string({ maxLength: 12 }), junk),
  include: fc.oneof(fc.constant({ customer: true }), junk),
})

const getRequest = someOf({
  model: identifier,
  id: fc.oneof(
    fc.uuid(),
    fc.integer(),
    fc.constantFrom('', 2 ** 53, -(2 ** 53), 1.5, 0, -7, { id: 'x' }, { a: 1, b: 2 }, {}, null),
  ),
  select,
  include: fc.oneof(fc.constant({ customer: true }), junk),
})

const validIdentifier = fc.constantFrom('id', 'status', 'total', 'created_at', 'Order', '_x', 'a1')
const validComparison = fc.oneof(
  fc.record({
    field: validIdentifier,
    op: fc.constantFrom('eq', 'ne', 'lt', 'lte', 'gt', 'gte'),
    value: scalar,
  }),
  fc.record({ field: validIdentifier, op: fc.constantFrom('in', 'not_in'), value: fc.array(scalar) }),
  fc.record({
    field: validIdentifier,
    op: fc.constant('between'),
    value: fc.oneof(fc.tuple(scalar, scalar), fc.array(scalar, { maxLength: 3 })),
  }),
  fc.record({ field: validIdentifier, op: fc.constantFrom('contains', 'startswith'), value: fc.string() }),
  fc.record(
    { field: validIdentifier, op: fc.constant('is_null'), value: fc.constantFrom(true, false, undefined) },
    { requiredKeys: ['field', 'op'] },
  ),
)
/** Sometimes adds one unknown (or schema-only) member. */
function withStray<T extends object>(arb: fc.Arbitrary<T>): fc.Arbitrary<T> {
  return fc
    .tuple(arb, fc.option(fc.constantFrom('extra', 'include', 'and', 'Model', 'id'), { freq: 5 }))
    .map(([value, stray]) => (stray === null ? value : { ...value, [stray]: 1 }))
}

/** Mostly well-formed requests with a few near misses, so the hand-written path answers often. */
const nearlyValidQuery = withStray(
  fc.record(
    {
      model: validIdentifier,
      select: fc.array(validIdentifier, { minLength: 1, maxLength: 3 }),
      where: fc.oneof(
        validComparison,
        fc.record({ and: fc.array(validComparison, { maxLength: 3 }) }),
        fc.array(validComparison, { maxLength: 3 }),
        comparison,
      ),
      orderBy: fc.array(
        fc.oneof(
          validIdentifier,
          fc.record(
            { field: validIdentifier, direction: fc.constantFrom('asc', 'desc') },
            { requiredKeys: ['field'] },
          ),
          orderItem,
        ),
        { maxLength: 3 },
      ),
      limit: fc.oneof(fc.integer({ min: 1, max: 200 }), limit),
      cursor: fc.string({ minLength: 1, maxLength: 8 }),
    },
    { requiredKeys: ['model'] },
  ),
)
const nearlyValidGet = withStray(
  fc.record(
    {
      model: validIdentifier,
      id: fc.oneof(fc.uuid(), fc.integer(), fc.constantFrom('', 2 ** 53, 1.5)),
      select: fc.oneof(fc.array(validIdentifier, { minLength: 1, maxLength: 3 }), select),
    },
    { requiredKeys: ['model', 'id'] },
  ),
)

const aggregateOp = fc.constantFrom('count', 'sum', 'avg', 'min', 'max', 'COUNT', 'median', '')
const aggregateRequest = someOf({
  model: identifier,
  op: fc.oneof(aggregateOp, junk),
  field: fc.oneof(identifier, junk),
  where: filter,
  groupBy: fc.oneof(fc.array(identifier, { maxLength: 3 }), junk),
})
const nearlyValidAggregate = withStray(
  fc.record(
    {
      model: validIdentifier,
      op: fc.oneof(fc.constantFrom('count', 'sum', 'avg', 'min', 'max'), aggregateOp),
      field: fc.oneof({ weight: 3, arbitrary: validIdentifier }, { weight: 1, arbitrary: identifier }),
      where: fc.oneof(
        validComparison,
        fc.record({ and: fc.array(validComparison, { maxLength: 3 }) }),
        fc.array(validComparison, { maxLength: 3 }),
        comparison,
      ),
      groupBy: fc.oneof(
        { weight: 3, arbitrary: fc.array(validIdentifier, { minLength: 1, maxLength: 3 }) },
        { weight: 1, arbitrary: select },
      ),
    },
    { requiredKeys: ['model', 'op'] },
  ),
)

function passesGuard(input: unknown): boolean {
  try {
    guardInput(input)
    return true
  } catch {
    return false
  }
}

describe('hand-written parsing of simple requests', () => {
  it('gives exactly the schema path answer for query requests, valid or not', () => {
    let handled = 0
    fc.assert(
      fc.property(fc.oneof(queryRequest, nearlyValidQuery, nearlyValidQuery), (input) => {
        if (passesGuard(input) && parseSimpleQueryRequest(input) !== undefined) handled += 1
        const fast = outcome(() => parseRequest('query', input))
        expect(fast).toStrictEqual(outcome(() => parseRequestWithSchema('query', input)))
        // The reference is db_query's registered input: the fast path accepts exactly what it accepts.
        expect(fast.ok).toBe(passesGuard(input) && TOOLS.query.input.safeParse(input).success)
        if (fast.ok) expect(isDeepFrozen(fast.value)).toBe(true)
      }),
      { numRuns: 4000 },
    )
    // The property says something about the fast path only if it actually answered for many inputs.
    expect(handled).toBeGreaterThan(150)
  }, 120_000)

  it('gives exactly the schema path answer for get requests, valid or not', () => {
    let handled = 0
    fc.assert(
      fc.property(fc.oneof(getRequest, nearlyValidGet, nearlyValidGet), (input) => {
        if (passesGuard(input) && parseSimpleGetRequest(input) !== undefined) handled += 1
        const fast = outcome(() => parseRequest('get', input))
        expect(fast).toStrictEqual(outcome(() => parseRequestWithSchema('get', input)))
        expect(fast.ok).toBe(passesGuard(input) && TOOLS.get.input.safeParse(input).success)
        if (fast.ok) expect(isDeepFrozen(fast.value)).toBe(true)
      }),
      { numRuns: 3000 },
    )
    expect(handled).toBeGreaterThan(150)
  })

  it('gives exactly the schema path answer for aggregate requests, valid or not', () => {
    let handled = 0
    fc.assert(
      fc.property(
        fc.oneof({ weight: 1, arbitrary: aggregateRequest }, { weight: 4, arbitrary: nearlyValidAggregate }),
        (input) => {
          if (passesGuard(input) && parseSimpleAggregateRequest(input) !== undefined) handled += 1
          const fast = outcome(() => parseRequest('aggregate', input))
          expect(fast).toStrictEqual(outcome(() => parseRequestWithSchema('aggregate', input)))
          if (fast.ok) expect(isDeepFrozen(fast.value)).toBe(true)
        },
      ),
      // A fixed seed: the non-vacuity count below is then a fact about these inputs, not a matter of luck.
      { numRuns: 3000, seed: 20_261_207 },
    )
    expect(handled).toBeGreaterThan(150)
  })

  it('answers the benchmark shapes by hand', () => {
    const get = { model: 'Order', id: '3f9a1c2e-8b7d-4e6f-9a0b-1c2d3e4f5a6b' }
    const query = { model: 'Order', orderBy: [{ field: 'created_at' }], limit: 20 }
    expect(parseSimpleGetRequest(get)).toStrictEqual(parseRequestWithSchema('get', get))
    expect(parseSimpleQueryRequest(query)).toStrictEqual(parseRequestWithSchema('query', query))
    const count = { model: 'Order', op: 'count', where: { field: 'status', op: 'eq', value: 'paid' } }
    expect(parseSimpleAggregateRequest(count)).toStrictEqual(parseRequestWithSchema('aggregate', count))
  })

  it('leaves includes, OR, NOT and composite ids to the schema', () => {
    expect(parseSimpleQueryRequest({ model: 'Order', include: { customer: true } })).toBeUndefined()
    expect(parseSimpleQueryRequest({ model: 'Order', where: { or: [] } })).toBeUndefined()
    expect(
      parseSimpleQueryRequest({ model: 'Order', where: { not: { field: 'a', op: 'eq', value: 1 } } }),
    ).toBeUndefined()
    expect(parseSimpleGetRequest({ model: 'Order', id: { a: 1 } })).toBeUndefined()
  })
})
