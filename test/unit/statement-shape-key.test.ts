import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { guardedProbe, shapeKeyOf } from '../../src/sql/statement-shape-key.ts'
import { isPlanConstant, planGet } from '../../src/planner/index.ts'
import { bindSynthetic } from '../support/synthetic-schema.ts'

/** Stand-in slot markers: objects recognised by identity, as statement-cache's are. */
const slots = [0, 1, 2, 3].map((i) => Object.freeze({ $slot: i }))
const slotIndex = (v: unknown): number => slots.indexOf(v as (typeof slots)[number])

// Strings full of the characters the key uses as delimiters, to look for collisions.
const text = fc.string({
  unit: fc.constantFrom('a', '1', ':', '{', '}', '[', ';', '$', 'u', 'Z', 'T', 's', 'n'),
  maxLength: 5,
})
const slot = fc.constantFrom(...slots)
const value = fc.oneof(slot, fc.boolean(), fc.constant(null), fc.tuple(slot, slot))

const filter: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  node: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.record({ kind: fc.constant('cmp'), column: text, op: text, value }),
    fc.record({ kind: fc.constantFrom('and', 'or'), items: fc.array(tie('node'), { maxLength: 2 }) }),
    fc.record({ kind: fc.constant('not'), item: tie('node') }),
  ),
})).node

const rule = fc.record({ action: text, pattern: text, style: text }, { requiredKeys: ['action'] })
const select: fc.Arbitrary<Record<string, unknown>> = fc.letrec((tie) => ({
  select: fc.record({
    model: text,
    table: fc.record({ schema: text, name: text }),
    fields: fc.array(fc.record({ name: text, typeClass: text, transform: text, rule }), { maxLength: 3 }),
    visibility: fc.record({
      model: text,
      scopes: fc.array(fc.record({ column: text, source: text, value: slot }), { maxLength: 2 }),
      permissive: fc.constant([]),
      restrictive: fc.constant([]),
      bypass: fc.option(text, { nil: null }),
      softDeleteColumn: fc.option(text, { nil: null }),
      shared: fc.boolean(),
    }),
    filter: fc.option(filter, { nil: null }),
    orderBy: fc.array(fc.record({ column: text, direction: text, nullable: fc.boolean() }), { maxLength: 2 }),
    fetchLimit: fc.integer({ min: 0, max: 30 }),
    includes: fc.array(
      fc.record({
        relation: text,
        cardinality: text,
        pairs: fc.array(fc.record({ local: text, remote: text }), { maxLength: 2 }),
        select: tie('select'),
      }),
      { maxLength: 1 },
    ),
  }),
})).select as fc.Arbitrary<Record<string, unknown>>

const budget = fc.record({ maxResultBytes: fc.integer({ min: 1_024, max: 1_073_741_824 }) })

const probe = fc.oneof(
  fc.record({ kind: fc.constant('get'), root: select, budget }),
  fc.record({
    kind: fc.constant('query'),
    root: select,
    after: fc.option(fc.array(fc.option(slot, { nil: null }), { maxLength: 2 }), { nil: null }),
    budget,
  }),
)

/** A deep copy that keeps slot markers (they are recognised by identity). */
function copy<T>(value: T): T {
  if (typeof value !== 'object' || value === null || slotIndex(value) >= 0) return value
  if (Array.isArray(value)) return value.map(copy) as T
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, copy(v)])) as T
}

/** What the key must distinguish: the described members, slots by index. */
function described(p: unknown): string {
  return JSON.stringify(p, (_k, v: unknown) => (slotIndex(v) >= 0 ? `slot#${slotIndex(v)}` : v))
}

describe('plan shape keys', () => {
  it('gives two probes the same key exactly when they describe the same shape', () => {
    fc.assert(
      fc.property(probe, probe, (a, b) => {
        const ka = shapeKeyOf(a, slotIndex)
        const kb = shapeKeyOf(b, slotIndex)
        expect(ka).toBeDefined()
        expect(ka === kb).toBe(described(a) === described(b))
        expect(shapeKeyOf(copy(a), slotIndex)).toBe(ka)
      }),
      { numRuns: 2000 },
    )
  })

  it('tells apart probes that differ in one string, even across delimiters', () => {
    fc.assert(
      fc.property(probe, text, (p, other) => {
        const changed = copy(p)
        const before = (changed.root as { model: string }).model
        ;(changed.root as { model: string }).model = other
        expect(shapeKeyOf(changed, slotIndex) === shapeKeyOf(p, slotIndex)).toBe(before === other)
      }),
    )
  })

  it('refuses a plan outside the description', () => {
    const base = {
      kind: 'get',
      root: {
        model: 'M',
        table: { schema: 's', name: 't' },
        fields: [],
        visibility: {
          model: 'M',
          scopes: [],
          permissive: [],
          restrictive: [],
          bypass: null,
          softDeleteColumn: null,
          shared: true,
        },
        filter: null,
        orderBy: [],
        fetchLimit: 1,
        includes: [],
      },
      budget: { maxResultBytes: 8_388_608 },
    }
    expect(shapeKeyOf(base, slotIndex)).toBeDefined()
    const otherBudget = structuredClone(base)
    otherBudget.budget.maxResultBytes = 1_024
    expect(shapeKeyOf(otherBudget, slotIndex)).not.toBe(shapeKeyOf(base, slotIndex))
    const withObjectValue = structuredClone(base)
    ;(withObjectValue.root as Record<string, unknown>)['filter'] = {
      kind: 'cmp',
      column: 'c',
      op: 'eq',
      value: { raw: 1 },
    }
    expect(shapeKeyOf(withObjectValue, slotIndex)).toBeUndefined()
    const withRowPolicy = structuredClone(base)
    withRowPolicy.root.visibility.permissive = [
      { name: 'p', condition: { kind: 'bool', value: true } },
    ] as never[]
    expect(shapeKeyOf(withRowPolicy, slotIndex)).not.toBe(shapeKeyOf(base, slotIndex))
    const withOddRule = structuredClone(base)
    withOddRule.root.visibility.permissive = [{ name: 'p', condition: new Map() }] as never[]
    expect(shapeKeyOf(withOddRule, slotIndex)).toBeUndefined()
    const withBadLimit = structuredClone(base)
    ;(withBadLimit.root as Record<string, unknown>)['fetchLimit'] = '1'
    expect(shapeKeyOf(withBadLimit, slotIndex)).toBeUndefined()
  })
})

describe('guarded probes', () => {
  const plan = {
    kind: 'get',
    root: {
      model: 'M',
      table: { schema: 's', name: 't' },
      fields: [{ name: 'id', typeClass: 'uuid', transform: 'none', rule: { action: 'allow' }, extra: 1 }],
      visibility: {
        model: 'M',
        scopes: [{ column: 'tenant_id', source: 'principal.tenantId', value: slots[0] }],
        permissive: [],
        restrictive: [],
        bypass: null,
        softDeleteColumn: null,
        shared: false,
      },
      filter: { kind: 'cmp', column: 'id', op: 'eq', value: slots[1] },
      orderBy: [],
      fetchLimit: 1,
      includes: [],
      future: true,
    },
  }
  const guarded = guardedProbe(plan, slotIndex) as unknown as typeof plan

  it('lets the builder read every described member, and slots as they are', () => {
    expect(guarded.root.model).toBe('M')
    expect(guarded.root.fields.map((f) => [f.name, f.rule.action])).toEqual([['id', 'allow']])
    expect(guarded.root.visibility.scopes[0]?.value).toBe(slots[0])
    expect(guarded.root.filter.value).toBe(slots[1])
  })

  it('throws when the builder reads or tests a member the key does not cover', () => {
    expect(() => guarded.root.future).toThrow(/does not cover/)
    expect(() => (guarded.root as Record<string, unknown>)['distinct']).toThrow(/does not cover/)
    expect(() => guarded.root.fields[0]?.extra).toThrow(/does not cover/)
    expect(() => 'distinct' in guarded.root).toThrow(/does not cover/)
    expect(() => (guarded.root.filter as Record<string, unknown>)['items']).toThrow(/does not cover/)
    expect(() => String(guarded.root.table)).toThrow(/does not cover/)
    expect(() => Object.keys(guarded.root)).toThrow(/does not cover/)
    expect(() => ({ ...guarded.root.table })).toThrow(/does not cover/)
  })
})

describe('shape keys of shared plan parts', () => {
  const bound = bindSynthetic({
    models: {
      Widget: {
        table: 'widgets',
        fields: { id: 'allow', tenant_id: 'allow', name: 'allow', secret: 'deny', made_at: 'allow' },
        scoping: { tenant_id: 'principal.tenantId' },
      },
    },
  })
  const tenant = 'a0000000-0000-4000-8000-000000000000'
  const get = (id: string, select?: string[]) =>
    planGet(bound, { tenantId: tenant }, { model: 'Widget', id, ...(select ? { select } : {}) })
  const keyOf = (plan: ReturnType<typeof get>) => {
    const probe: { kind: string; root: unknown; budget: unknown } = {
      kind: 'get',
      root: plan.root,
      budget: { maxResultBytes: plan.budget.maxResultBytes },
    }
    return shapeKeyOf(probe, slotIndex)
  }

  it('shares one deep-frozen table and default field list among every plan of a model', () => {
    const a = get('b0000000-0000-4000-8000-000000000001')
    const b = get('b0000000-0000-4000-8000-000000000002')
    expect(b.root.fields).toBe(a.root.fields)
    expect(b.root.table).toBe(a.root.table)
    expect(isPlanConstant(a.root.fields)).toBe(true)
    expect(Object.isFrozen(a.root.fields)).toBe(true)
    expect(a.root.fields.every((f) => Object.isFrozen(f) && Object.isFrozen(f.rule))).toBe(true)
    expect(() => (a.root.fields as unknown[]).push({})).toThrow(TypeError)
    // A plan with its own `select` gets its own list, never the shared one.
    expect(isPlanConstant(get('b0000000-0000-4000-8000-000000000003', ['id', 'name']).root.fields)).toBe(
      false,
    )
  })

  it('gives plans of one shape one key with the shared parts standing as tokens, and other shapes others', () => {
    const a = keyOf(get('b0000000-0000-4000-8000-000000000001'))
    expect(a).toBeDefined()
    expect(keyOf(get('b0000000-0000-4000-8000-000000000001'))).toBe(a)
    // The field list is encoded once, then stands as a token: its names no longer appear in the key.
    expect(a).not.toContain('made_at')
    expect(a).toMatch(/#\d+;/)
    // The same fields selected explicitly are encoded in full: a key of its own (one more template, same SQL).
    const explicit = keyOf(
      get('b0000000-0000-4000-8000-000000000001', ['id', 'tenant_id', 'name', 'made_at']),
    )
    expect(explicit).toContain('made_at')
    expect(explicit).not.toBe(a)
    expect(keyOf(get('b0000000-0000-4000-8000-000000000001', ['id']))).not.toBe(explicit)
  })
})
