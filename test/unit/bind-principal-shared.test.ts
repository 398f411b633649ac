/**
 * bindConditionToPrincipal shares the bound form of a policy condition that mentions no principal
 * (src/planner/bind-principal-values.ts): made once per deep-frozen node, deep-frozen, the same object for every
 * principal — and always equal to what binding an unfrozen copy of the same condition gives, call by call.
 */
import { describe, expect, it } from 'vitest'
import type { Principal } from '../../src/context/index.ts'
import { bindConditionToPrincipal } from '../../src/planner/bind-principal-values.ts'
import { parseCondition } from '../../src/policy/condition/parse-condition.ts'
import type { ConditionNode } from '../../src/policy/condition/ast.ts'
import { deepFreeze } from '../../src/policy/deep-freeze.ts'

const ALICE: Principal = { tenantId: 't1', userId: 'alice', roles: ['admin'], metadata: { orgId: 'main' } }
const BOB: Principal = { tenantId: 't2', userId: 'bob', roles: ['member'], metadata: { orgId: 'labs' } }
const EVE: Principal = { tenantId: 't3', roles: [], metadata: { orgId: 'x', level: 3 } }

const CONDITIONS = [
  "status <> 'void'",
  "is_public = true OR status IN ('a', 'b')",
  "NOT (status = 'x') AND 'a' = 'a'",
  'status = null OR org_id IS NOT NULL',
  "status NOT IN ('closed', 'void') AND (total > 5 OR total <= 1.5)",
  "org_id = principal.metadata.orgId AND status <> 'void'",
  "'admin' IN principal.roles OR status IN ('a', principal.userId)",
  "owner_id = principal.userId OR (is_public = true AND 'x' = 'y')",
  'principal.metadata.level > 2 OR status IS NULL',
]

function isDeepFrozen(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return true
  return Object.isFrozen(value) && Object.values(value).every(isDeepFrozen)
}

function bind(node: ConditionNode, principal: Principal): ConditionNode | string {
  try {
    return bindConditionToPrincipal(node, null, principal)
  } catch (error) {
    return (error as Error).message
  }
}

describe('bound forms shared across principals', () => {
  it('binds every condition exactly as an unfrozen copy binds, for every principal, on first and later calls', () => {
    for (const text of CONDITIONS) {
      // parseCondition's nodes are deep-frozen already (as a bound policy's are); deepFreeze says so here.
      const frozen = deepFreeze(parseCondition(text))
      for (let pass = 0; pass < 2; pass++)
        for (const principal of [ALICE, BOB, EVE])
          expect(bind(frozen, principal)).toEqual(bind(structuredClone(parseCondition(text)), principal))
    }
  })

  it('gives every principal the same deep-frozen object for a condition without a principal operand', () => {
    const frozen = deepFreeze(parseCondition("is_public = true OR status IN ('a', 'b') OR 'a' = 'b'"))
    const a = bindConditionToPrincipal(frozen, null, ALICE)
    expect(bindConditionToPrincipal(frozen, null, BOB)).toBe(a)
    expect(isDeepFrozen(a)).toBe(true)
    // The literal-only part is decided (FALSE) in the shared form too.
    expect(a).toMatchObject({ kind: 'or', operands: [{}, {}, { kind: 'bool', value: false }] })
  })

  it('binds a condition with a principal operand per call, sharing only its principal-free parts', () => {
    const frozen = deepFreeze(parseCondition("org_id = principal.metadata.orgId AND status <> 'void'"))
    const a = bindConditionToPrincipal(frozen, null, ALICE) as Extract<ConditionNode, { kind: 'and' }>
    const b = bindConditionToPrincipal(frozen, null, BOB) as Extract<ConditionNode, { kind: 'and' }>
    expect(b).not.toBe(a)
    expect(a.operands[0]).toMatchObject({ right: { kind: 'claim', value: 'main' } })
    expect(b.operands[0]).toMatchObject({ right: { kind: 'claim', value: 'labs' } })
    expect(b.operands[1]).toBe(a.operands[1])
  })

  it('does not share the bound form of a condition that is not deep-frozen', () => {
    const open = structuredClone(parseCondition("status <> 'void'"))
    const a = bindConditionToPrincipal(open, null, ALICE)
    expect(bindConditionToPrincipal(open, null, ALICE)).not.toBe(a)
    expect(Object.isFrozen(a)).toBe(false)
  })
})
