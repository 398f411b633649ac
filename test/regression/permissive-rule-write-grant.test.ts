/**
 * Regression: on a model scoped only through permissive row policies, the write check accepted any permissive
 * rule, so with `is_public = true` (or the one-rule form `is_public = true OR tenant_id = principal.tenantId`)
 * tenant A could update, delete and create tenant B's public rows. Only the caller-dependent part of a rule now
 * grants a write; it never grants more than the rule grants for reading.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import type { Principal } from '../../src/context/index.ts'
import { evaluateCondition } from '../../src/policy/condition/evaluate-condition.ts'
import { parseCondition } from '../../src/policy/condition/parse-condition.ts'
import { printCondition } from '../../src/policy/condition/print-condition.ts'
import { planWrite } from '../../src/planner/plan-write.ts'
import { parseWriteRequest } from '../../src/request/write-request-schema.ts'
import { checkWrittenRow } from '../../src/planner/write-check.ts'
import { writeGrantCondition } from '../../src/planner/write-grant.ts'
import { bindSynthetic } from '../support/synthetic-schema.ts'

const A: Principal = { tenantId: 'A', userId: 'u1', roles: ['member'] }
const ADMIN: Principal = { tenantId: 'A', userId: 'u1', roles: ['admin'] }

const grant = (text: string): string => printCondition(writeGrantCondition(parseCondition(text)))

describe('the write-granting part of a permissive rule', () => {
  it.each([
    ['is_public = true', 'FALSE'],
    ["status = 'open'", 'FALSE'],
    ['is_public = true OR tenant_id = principal.tenantId', 'tenant_id = principal.tenantId'],
    ['NOT (is_public = false AND tenant_id != principal.tenantId)', 'NOT (tenant_id != principal.tenantId)'],
  ])('reduces %s to a caller-dependent grant', (rule, expected) => {
    expect(grant(rule).replace(/^\((.*)\)$/, '$1')).toBe(
      printCondition(parseCondition(expected)).replace(/^\((.*)\)$/, '$1'),
    )
  })

  it("never grants a write on another tenant's public row, and still grants one on the caller's own", () => {
    const rule = writeGrantCondition(parseCondition('is_public = true OR tenant_id = principal.tenantId'))
    expect(evaluateCondition(rule, { is_public: true, tenant_id: 'B' }, A)).toBe(false)
    expect(evaluateCondition(rule, { is_public: false, tenant_id: 'A' }, A)).toBe(true)
    expect(evaluateCondition(rule, { is_public: true, tenant_id: 'A' }, A)).toBe(true)
  })

  it('keeps a conjunction that needs both the caller and a row condition', () => {
    const rule = writeGrantCondition(
      parseCondition("(is_public = true OR owner_id = principal.userId) AND status = 'open'"),
    )
    expect(evaluateCondition(rule, { is_public: true, owner_id: 'u2', status: 'open' }, A)).toBe(false)
    expect(evaluateCondition(rule, { is_public: false, owner_id: 'u1', status: 'open' }, A)).toBe(true)
    expect(evaluateCondition(rule, { is_public: false, owner_id: 'u1', status: 'closed' }, A)).toBe(false)
  })

  it('never grants a write the rule does not grant for reading (any row, three-valued logic)', () => {
    const rules = [
      'is_public = true OR tenant_id = principal.tenantId',
      "NOT (is_public = false OR status IN ('closed', 'void')) OR owner_id = principal.userId",
      "(tenant_id = principal.tenantId AND status != 'void') OR 'admin' IN principal.roles OR is_public IS NULL",
      "NOT (NOT (owner_id = principal.userId) AND NOT (is_public = true AND status = 'open'))",
    ].map((text) => parseCondition(text))
    const value = <T>(...xs: T[]): fc.Arbitrary<T | null> => fc.constantFrom<T | null>(...xs, null)
    const row = fc.record({
      is_public: value(true, false),
      tenant_id: value('A', 'B'),
      status: value('open', 'closed', 'void'),
      owner_id: value('u1', 'u2'),
    })
    fc.assert(
      fc.property(row, fc.constantFrom(A, ADMIN), fc.constantFrom(...rules), (r, principal, rule) => {
        if (evaluateCondition(writeGrantCondition(rule), r, principal) === true) {
          expect(evaluateCondition(rule, r, principal)).toBe(true)
        }
      }),
      { numRuns: 500 },
    )
  })

  it('is what the write planner checks rows against, for the one-rule and the two-rule form', () => {
    const TA = '0a000000-0000-4000-8000-000000000000'
    const TB = '0b000000-0000-4000-8000-000000000000'
    const forms = [
      [
        {
          name: 'own_or_public',
          condition: 'flag = true OR tenant_id = principal.tenantId',
          mode: 'permissive' as const,
        },
      ],
      [
        { name: 'own', condition: 'tenant_id = principal.tenantId', mode: 'permissive' as const },
        { name: 'public', condition: 'flag = true', mode: 'permissive' as const },
      ],
    ]
    for (const rowPolicies of forms) {
      const bound = bindSynthetic({
        models: {
          Widget: {
            table: 'widgets',
            fields: { id: 'allow', tenant_id: 'allow', name: 'allow', flag: 'allow' },
            rowPolicies,
            write: { update: 'allow' },
          },
        },
      })
      const request = parseWriteRequest('update', { model: 'Widget', id: TB, data: { name: 'x' } })
      const plan = planWrite(bound, { tenantId: TA }, request)
      const known = new Set(['tenant_id', 'flag'])
      expect(checkWrittenRow(plan.visibility, { tenant_id: TB, flag: true }, known)).toBe('fail')
      expect(checkWrittenRow(plan.visibility, { tenant_id: TA, flag: false }, known)).toBe('pass')
    }
  })
})
