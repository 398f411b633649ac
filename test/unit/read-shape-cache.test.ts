/**
 * The read fast path's cache (src/tools/read-shape-cache.ts) on its own: what its key holds and leaves out,
 * and its bounds. The differential suite (test/db/read-shape-cache.test.ts) holds its answers to the uncached
 * path on real databases.
 */
import { describe, expect, it } from 'vitest'
import type { PlanExecutor } from '../../src/executor/index.ts'
import type { GetPlan, QueryPlan, VisibilityPlan } from '../../src/planner/index.ts'
import { parseRequest } from '../../src/request/index.ts'
import { bindConditionToPrincipal, isSharedBinding } from '../../src/planner/index.ts'
import { parseCondition } from '../../src/policy/condition/parse-condition.ts'
import type { ConditionNode } from '../../src/policy/condition/ast.ts'
import {
  MAX_READ_SHAPE_KEY_LENGTH,
  MAX_READ_SHAPES,
  ReadShapeCache,
  requestShapeKey,
  visibilityKey,
} from '../../src/tools/read-shape-cache.ts'

/** Only readTemplate is used by the cache; no shape is templated here. */
const executor = { readTemplate: () => undefined } as unknown as PlanExecutor
const facts = () => ({
  model: 'Order',
  scopesInjected: [],
  rowPolicies: [],
  bypass: null,
  fieldsRedacted: [],
})

function visibility(tenant: string, over: Partial<VisibilityPlan> = {}): VisibilityPlan {
  return {
    model: 'Order',
    scopes: [{ column: 'tenant_id', source: 'principal.tenantId', value: tenant }],
    permissive: [],
    restrictive: [],
    bypass: null,
    softDeleteColumn: null,
    shared: false,
    ...over,
  }
}

function getPlan(v: VisibilityPlan): GetPlan {
  return { kind: 'get', root: { visibility: v, includes: [] } } as unknown as GetPlan
}

describe('read shape cache', () => {
  it('shares one shape between calls that differ only in values, tenant included', () => {
    const cache = new ReadShapeCache(executor)
    const a = cache.shapeOf(
      'get',
      parseRequest('get', { model: 'Order', id: 'x1' }),
      getPlan(visibility('A')),
      facts,
    )
    const b = cache.shapeOf(
      'get',
      parseRequest('get', { model: 'Order', id: 'y2' }),
      getPlan(visibility('B')),
      facts,
    )
    expect(a).toBeDefined()
    expect(b).toBe(a)
    expect(cache.size).toBe(1)
  })

  it('keeps shapes apart when the visibility differs: a bypass, a rule decided otherwise, a value type', () => {
    const cache = new ReadShapeCache(executor)
    const req = parseRequest('get', { model: 'Order', id: 'x1' })
    const rule = (value: boolean | null) => ({ name: 'r', condition: { kind: 'bool' as const, value } })
    const plans = [
      visibility('A'),
      visibility('A', { bypass: 'support', scopes: [] }),
      visibility('A', { restrictive: [rule(true)] }),
      visibility('A', { restrictive: [rule(false)] }),
      visibility('A', { restrictive: [rule(null)] }),
      visibility('A', {
        restrictive: [
          {
            name: 'r',
            condition: {
              kind: 'compare',
              op: '=',
              left: { kind: 'field', name: 'org_id' },
              right: { kind: 'claim', path: ['metadata', 'orgId'], value: 'main' },
            },
          },
        ],
      }),
      visibility('A', { scopes: [{ column: 'tenant_id', source: 'principal.tenantId', value: 7 }] }),
    ]
    const shapes = new Set(plans.map((v) => cache.shapeOf('get', req, getPlan(v), facts)))
    expect(shapes.size).toBe(plans.length)
  })

  it("keeps shapes apart that differ only in a row policy's literal: its value, its type, a list's items", () => {
    // The template binds a policy's literals as fixed parameters (src/sql/statement-cache.ts): a key without
    // them would hand one policy's statement to another's plan.
    const cache = new ReadShapeCache(executor)
    const req = parseRequest('get', { model: 'Order', id: 'x1' })
    const field = { kind: 'field' as const, name: 'status' }
    const compare = (value: string | number | boolean | null) => ({
      name: 'r',
      condition: {
        kind: 'compare' as const,
        op: '=' as const,
        left: field,
        right: { kind: 'literal' as const, value },
      },
    })
    const list = (...values: string[]) => ({
      name: 'r',
      condition: {
        kind: 'in' as const,
        negated: false,
        left: field,
        right: { kind: 'list' as const, items: values.map((value) => ({ kind: 'literal' as const, value })) },
      },
    })
    const rules = [
      compare(true),
      compare(false),
      compare('true'),
      compare(1),
      compare('1'),
      compare(0),
      compare(-0),
      compare(Number.NaN),
      compare(null),
      compare('a'),
      compare('b'),
      list('a'),
      list('b'),
      list('a', 'b'),
      list('a,b'),
    ]
    const shapes = new Set(
      rules.map((r) => cache.shapeOf('get', req, getPlan(visibility('A', { permissive: [r] })), facts)),
    )
    expect(shapes.size).toBe(rules.length)
  })

  it('writes a shared bound rule the same key as a fresh copy of it, and keeps shared rules apart by literal', () => {
    const principal = { tenantId: 'A' }
    const shared = (text: string) => bindConditionToPrincipal(parseCondition(text), null, principal)
    const a = shared("status = 'a' OR is_public = true")
    const b = shared("status = 'b' OR is_public = true")
    expect(isSharedBinding(a)).toBe(true)
    const key = (condition: ConditionNode) =>
      visibilityKey(visibility('A', { restrictive: [{ name: 'r', condition }] }))
    // Remembered by identity: the same text on every call as a fresh, unshared copy is written.
    expect(key(a)).toBe(key(structuredClone(a)))
    expect(key(a)).toBe(key(structuredClone(a)))
    expect(isSharedBinding(structuredClone(a))).toBe(false)
    expect(key(b)).not.toBe(key(a))
  })

  it('keeps no value in its keys, only what prints verbatim', () => {
    const key = requestShapeKey(
      'query',
      parseRequest('query', {
        model: 'Order',
        where: [
          { field: 'status', op: 'eq', value: 'secret-status' },
          { field: 'deleted_at', op: 'is_null', value: false },
        ],
        limit: 7,
      }),
    )
    expect(key).not.toContain('secret-status')
    expect(key).toContain('false')
    expect(key).toContain('7;')
    const v = visibilityKey(visibility('tenant-secret'))
    expect(v).not.toContain('tenant-secret')
  })

  it('does not keep a shape whose key is too long', () => {
    const cache = new ReadShapeCache(executor)
    const select = Array.from({ length: 1_000 }, (_, i) => `field_${i}`)
    const req = parseRequest('query', { model: 'Order', select })
    expect(requestShapeKey('query', req)?.length).toBeGreaterThan(MAX_READ_SHAPE_KEY_LENGTH)
    const plan = {
      kind: 'query',
      root: { visibility: visibility('A'), includes: [] },
    } as unknown as QueryPlan
    expect(cache.shapeOf('query', req, plan, facts)).toBeUndefined()
    expect(cache.size).toBe(0)
  })

  it(`keeps at most ${MAX_READ_SHAPES} shapes, dropping the oldest`, () => {
    const cache = new ReadShapeCache(executor)
    const plan = {
      kind: 'query',
      root: { visibility: visibility('A'), includes: [] },
    } as unknown as QueryPlan
    const first = parseRequest('query', { model: 'Order', limit: 1 })
    const kept = cache.shapeOf('query', first, plan, facts)
    for (let limit = 2; limit <= MAX_READ_SHAPES + 1; limit++)
      cache.shapeOf('query', parseRequest('query', { model: 'Order', limit }), plan, facts)
    expect(cache.size).toBe(MAX_READ_SHAPES)
    expect(cache.shapeOf('query', first, plan, facts)).not.toBe(kept)
  })
})
