/**
 * fast-check arbitraries for hostile tool calls over a bound policy and sampled data: random models (and
 * ones that do not exist), fields including denied and nonexistent ones, every operator, OR/NOT nesting,
 * includes (valid and not), keys and cursors that belong to other principals, type-confused values, and writes
 * that aim at other tenants' rows or plant foreign keys to them.
 */
import fc from 'fast-check'
import { AGGREGATE_OPS, FILTER_OPS } from '../request/index.ts'
import type { BoundModel, BoundPolicy } from '../policy/index.ts'
import { TOOL_NAMES } from '../tools/index.ts'

export interface FuzzCall {
  readonly principal: string
  readonly tool: string
  readonly args: Record<string, unknown>
}

/** Data the fuzzer draws from: values of each model's columns across all tenants, and cursors of others. */
export interface FuzzSamples {
  readonly principals: readonly string[]
  /** model → column → sampled stored values (every tenant's). */
  readonly values: Readonly<Record<string, Readonly<Record<string, readonly unknown[]>>>>
  readonly cursors: readonly string[]
}

const WEIRD_VALUES: readonly unknown[] = [
  null,
  '',
  ' ',
  "' OR 1=1 --",
  '%',
  '_',
  '\\',
  0,
  -1,
  1e308,
  true,
  'NaN',
  '2026-02-01T10:00:00Z',
  [],
  {},
  { or: [] },
  ['a', 'b'],
  'b0000000-0000-4000-8000-000000000000',
]

/** Mostly valid, sometimes hostile: enough calls get past validation to reach the database. */
function mostly<T, U>(valid: fc.Arbitrary<T>, hostile: fc.Arbitrary<U>): fc.Arbitrary<T | U> {
  return fc.oneof({ arbitrary: valid, weight: 4 }, { arbitrary: hostile, weight: 1 })
}

const BAD_FIELDS = ['nope', 'tenant_id', '__proto__', 'id; drop table orders'] as const

function fieldNames(model: BoundModel): string[] {
  return [...Object.keys(model.fields), ...BAD_FIELDS]
}

/** Field names the caller is likely to use: the model's own (denied ones included), sometimes bad ones. */
function fieldArb(model: BoundModel): fc.Arbitrary<string> {
  const own = Object.keys(model.fields)
  return own.length === 0
    ? fc.constantFrom(...BAD_FIELDS)
    : mostly(fc.constantFrom(...own), fc.constantFrom(...BAD_FIELDS))
}

function selectArb(model: BoundModel): fc.Arbitrary<string[]> {
  const readable = Object.values(model.fields)
    .filter((f) => f.rule.action !== 'deny')
    .map((f) => f.name)
  return mostly(
    fc.subarray(readable, {
      minLength: Math.min(1, readable.length),
      maxLength: Math.min(4, readable.length),
    }),
    fc.subarray(fieldNames(model), { maxLength: 4 }),
  )
}

function valueArb(samples: FuzzSamples, model: string, field: string): fc.Arbitrary<unknown> {
  const stored = samples.values[model]?.[field] ?? []
  const weird = fc.oneof(
    fc.constantFrom(...WEIRD_VALUES),
    fc.integer({ min: -5, max: 1000 }),
    fc.string({ maxLength: 8 }),
  )
  return stored.length > 0 ? mostly(fc.constantFrom(...stored), weird) : weird
}

function filterArb(samples: FuzzSamples, model: BoundModel): fc.Arbitrary<unknown> {
  const { tree } = fc.letrec<{ tree: unknown; leaf: unknown }>((tie) => ({
    leaf: fieldArb(model).chain((field) =>
      fc.record({
        field: fc.constant(field),
        op: mostly(
          fc.constantFrom('eq', 'ne', 'in', 'gt', 'is_null'),
          fc.constantFrom(...FILTER_OPS, 'like', 'raw'),
        ),
        value: fc.oneof(
          valueArb(samples, model.name, field),
          fc.array(valueArb(samples, model.name, field), { maxLength: 3 }),
        ),
      }),
    ),
    tree: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      tie('leaf'),
      fc.record({ or: fc.array(tie('tree'), { minLength: 1, maxLength: 3 }) }),
      fc.record({ and: fc.array(tie('tree'), { minLength: 1, maxLength: 3 }) }),
      fc.record({ not: tie('tree') }),
    ),
  }))
  return tree
}

function includeArb(reference: BoundPolicy, model: BoundModel): fc.Arbitrary<Record<string, unknown>> {
  const entries = Object.entries(model.relations).map(([relation, r]) => {
    const target = reference.models[r.target]
    const options: fc.Arbitrary<unknown>[] = [fc.constant({})]
    if (target) {
      options.push(fc.record({ select: selectArb(target) }))
      const nested = Object.keys(target.relations)[0]
      if (nested !== undefined) options.push(fc.constant({ include: { [nested]: {} } }))
    }
    return fc.tuple(fc.constant(relation), fc.oneof(...options))
  })
  const bad = fc.tuple(fc.constantFrom('tenant', 'nope'), fc.constant({}))
  const one = entries.length === 0 ? bad : mostly(fc.oneof(...entries), bad)
  return fc.array(one, { minLength: 1, maxLength: 2 }).map((pairs) => Object.fromEntries(pairs))
}

function idArb(samples: FuzzSamples, model: BoundModel): fc.Arbitrary<unknown> {
  const pk = model.primaryKey[0] ?? 'id'
  return valueArb(samples, model.name, pk)
}

function dataArb(samples: FuzzSamples, model: BoundModel): fc.Arbitrary<Record<string, unknown>> {
  return fc
    .uniqueArray(
      fieldArb(model).filter((f) => f !== '__proto__'),
      { minLength: 1, maxLength: 3 },
    )
    .chain((keys) =>
      fc
        .tuple(...keys.map((k) => valueArb(samples, model.name, k)))
        .map((values) => Object.fromEntries(keys.map((k, i) => [k, values[i]]))),
    )
}

function modelCall(
  reference: BoundPolicy,
  samples: FuzzSamples,
  model: BoundModel,
): fc.Arbitrary<{ tool: string; args: Record<string, unknown> }> {
  const name = model.name
  const optional = <T>(arb: fc.Arbitrary<T>): fc.Arbitrary<T | undefined> =>
    fc.option(arb, { nil: undefined, freq: 2 })
  const rarely = <T>(arb: fc.Arbitrary<T>): fc.Arbitrary<T | undefined> =>
    fc.option(arb, { nil: undefined, freq: 6 })
  const clean = (o: Record<string, unknown>): Record<string, unknown> =>
    Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined))
  const query = fc
    .record({
      select: optional(selectArb(model)),
      where: optional(filterArb(samples, model)),
      orderBy: rarely(
        fc.array(
          fc.record({
            field: fieldArb(model),
            direction: mostly(fc.constantFrom('asc', 'desc'), fc.constant('sideways')),
          }),
          {
            maxLength: 2,
          },
        ),
      ),
      limit: optional(mostly(fc.integer({ min: 1, max: 30 }), fc.constantFrom(0, -1, 1e9, '5'))),
      include: optional(includeArb(reference, model)),
      cursor:
        samples.cursors.length > 0
          ? rarely(mostly(fc.constantFrom(...samples.cursors), fc.constant('garbage')))
          : fc.constant(undefined),
    })
    .map((a) => ({ tool: TOOL_NAMES.query, args: clean({ model: name, ...a }) }))
  const get = fc
    .record({
      id: idArb(samples, model),
      select: optional(selectArb(model)),
      include: optional(includeArb(reference, model)),
    })
    .map((a) => ({ tool: TOOL_NAMES.get, args: clean({ model: name, ...a }) }))
  const aggregate = fc
    .record({
      op: mostly(fc.constantFrom(...AGGREGATE_OPS), fc.constant('median')),
      field: optional(fieldArb(model)),
      groupBy: optional(fc.array(fieldArb(model), { minLength: 1, maxLength: 2 })),
      where: optional(filterArb(samples, model)),
    })
    .map((a) => ({ tool: TOOL_NAMES.aggregate, args: clean({ model: name, ...a }) }))
  const reason = fc.constantFrom('fuzz', undefined)
  const update = fc
    .record({ id: idArb(samples, model), data: dataArb(samples, model), reason })
    .map((a) => ({ tool: TOOL_NAMES.update, args: clean({ model: name, ...a }) }))
  const create = fc
    .record({ data: dataArb(samples, model), reason })
    .map((a) => ({ tool: TOOL_NAMES.create, args: clean({ model: name, ...a }) }))
  const del = fc
    .record({ id: idArb(samples, model), reason })
    .map((a) => ({ tool: TOOL_NAMES.delete, args: clean({ model: name, ...a }) }))
  const bulk = fc
    .record({
      ids: fc.array(idArb(samples, model), { minLength: 1, maxLength: 3 }),
      data: dataArb(samples, model),
      reason,
    })
    .map((a) => ({ tool: TOOL_NAMES.bulkUpdate, args: clean({ model: name, ...a }) }))
  return fc.oneof(
    { arbitrary: query, weight: 6 },
    { arbitrary: get, weight: 3 },
    { arbitrary: aggregate, weight: 2 },
    { arbitrary: update, weight: 1 },
    { arbitrary: create, weight: 1 },
    { arbitrary: del, weight: 1 },
    { arbitrary: bulk, weight: 1 },
  )
}

/** One hostile call: a principal by name and a tool call on a random (sometimes nonexistent) model. */
export function fuzzCallArb(reference: BoundPolicy, samples: FuzzSamples): fc.Arbitrary<FuzzCall> {
  const models = Object.values(reference.models)
  const calls = models.map((m) => modelCall(reference, samples, m))
  const unknownModel = fc
    .constantFrom('Nope', '__proto__', 'orders', 'Order ')
    .map((model) => ({ tool: TOOL_NAMES.query, args: { model } }))
  return fc
    .tuple(
      fc.constantFrom(...samples.principals),
      fc.oneof({ arbitrary: fc.oneof(...calls), weight: 20 }, { arbitrary: unknownModel, weight: 1 }),
    )
    .map(([principal, call]) => ({ principal, tool: call.tool, args: call.args }))
}
