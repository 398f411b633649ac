import { describe, expect, it } from 'vitest'
import type { Principal } from '../../src/context/index.ts'
import { isTesseraError } from '../../src/errors/index.ts'
import { parseCondition } from '../../src/policy/condition/parse-condition.ts'
import type { ScopePredicate, VisibilityPlan } from '../../src/planner/query-plan.ts'
import { isRowVisible as isBoundRowVisible } from '../../src/planner/row-visibility.ts'
import { bindConditionToPrincipal } from '../../src/planner/bind-principal-values.ts'

const who: Principal = { tenantId: 't1', userId: 'u1', roles: ['member'], metadata: { orgId: 'o1' } }

const TENANT_SCOPE: ScopePredicate = { column: 'tenant_id', source: 'principal.tenantId', value: 't1' }
const ORG_SCOPE: ScopePredicate = { column: 'org_id', source: 'principal.metadata.orgId', value: 'o1' }

function plan(overrides: Partial<VisibilityPlan> = {}): VisibilityPlan {
  return {
    model: 'Doc',
    scopes: [TENANT_SCOPE],
    permissive: [],
    restrictive: [],
    bypass: null,
    softDeleteColumn: null,
    shared: false,
    ...overrides,
  }
}

const rule = (
  name: string,
  text: string,
): { name: string; condition: ReturnType<typeof parseCondition> } => ({
  name,
  condition: parseCondition(text),
})

function row(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id: 1,
    tenant_id: 't1',
    org_id: 'o1',
    owner_id: 'u1',
    is_public: false,
    level: 1,
    deleted_at: null,
    ...overrides,
  }
}

function errorCode(fn: () => unknown): string | undefined {
  try {
    fn()
  } catch (error) {
    return isTesseraError(error) ? error.code : 'not a TesseraError'
  }
  return undefined
}

/**
 * These plans are written by hand with unbound conditions; a real plan has them bound by planVisibility, which
 * binds the rules the SQL side prints (permissive ones only without a bypass or `shared`). So does this.
 */
function isRowVisible(v: VisibilityPlan, r: Record<string, unknown>, principal: Principal): boolean {
  const bind = (rules: VisibilityPlan['permissive']) =>
    rules.map((x) => ({ name: x.name, condition: bindConditionToPrincipal(x.condition, null, principal) }))
  const unrestricted = v.bypass !== null || v.shared
  return isBoundRowVisible(
    {
      ...v,
      permissive: unrestricted ? v.permissive : bind(v.permissive),
      restrictive: bind(v.restrictive),
    },
    r,
  )
}

describe('isRowVisible', () => {
  describe('scoping', () => {
    it("shows a row whose scoped column equals the principal's value", () => {
      expect(isRowVisible(plan(), row(), who)).toBe(true)
    })

    it("hides another tenant's row", () => {
      expect(isRowVisible(plan(), row({ tenant_id: 't2' }), who)).toBe(false)
    })

    it('never matches a scope against a NULL column, nor an undefined value', () => {
      expect(isRowVisible(plan(), row({ tenant_id: null }), who)).toBe(false)
      expect(isRowVisible(plan(), row({ tenant_id: undefined }), who)).toBe(false)
    })

    it('requires every scoped column to match, not just one', () => {
      const both = plan({ scopes: [TENANT_SCOPE, ORG_SCOPE] })
      expect(isRowVisible(both, row(), who)).toBe(true)
      expect(isRowVisible(both, row({ org_id: 'o2' }), who)).toBe(false)
      expect(isRowVisible(both, row({ org_id: null }), who)).toBe(false)
      expect(isRowVisible(both, row({ tenant_id: 't2' }), who)).toBe(false)
    })

    it('compares a scope value with the database value as PostgreSQL would (int column, number value)', () => {
      const byLevel = plan({ scopes: [{ column: 'level', source: 'principal.metadata.level', value: 2 }] })
      expect(isRowVisible(byLevel, row({ level: 2 }), who)).toBe(true)
      expect(isRowVisible(byLevel, row({ level: 3 }), who)).toBe(false)
    })
  })

  describe('permissive rules', () => {
    const publicOrScoped = plan({ permissive: [rule('public', 'is_public = true')] })

    it('widen the scope: a public row of another tenant is visible', () => {
      expect(isRowVisible(publicOrScoped, row({ tenant_id: 't2', is_public: true }), who)).toBe(true)
      expect(isRowVisible(publicOrScoped, row({ tenant_id: 't2', is_public: false }), who)).toBe(false)
    })

    it('grant only when TRUE: a NULL result grants nothing', () => {
      expect(isRowVisible(publicOrScoped, row({ tenant_id: 't2', is_public: null }), who)).toBe(false)
    })

    it('alone decide a model without scoping; any one TRUE rule is enough', () => {
      const ruled = plan({
        scopes: [],
        permissive: [rule('public', 'is_public = true'), rule('mine', 'owner_id = principal.userId')],
      })
      expect(isRowVisible(ruled, row({ is_public: false, owner_id: 'u1' }), who)).toBe(true)
      expect(isRowVisible(ruled, row({ is_public: true, owner_id: 'u2' }), who)).toBe(true)
      expect(isRowVisible(ruled, row({ is_public: false, owner_id: 'u2' }), who)).toBe(false)
    })
  })

  describe('restrictive rules', () => {
    const levelled = plan({
      permissive: [rule('public', 'is_public = true')],
      restrictive: [rule('low', 'level < 2')],
    })

    it('narrow both the scope and the permissive rules', () => {
      expect(isRowVisible(levelled, row({ level: 1 }), who)).toBe(true)
      expect(isRowVisible(levelled, row({ level: 2 }), who)).toBe(false)
      expect(isRowVisible(levelled, row({ tenant_id: 't2', is_public: true, level: 3 }), who)).toBe(false)
    })

    it('hide a row for which they are NULL', () => {
      expect(isRowVisible(levelled, row({ level: null }), who)).toBe(false)
    })

    it('must all hold', () => {
      const two = plan({ restrictive: [rule('low', 'level < 2'), rule('owned', 'owner_id IS NOT NULL')] })
      expect(isRowVisible(two, row(), who)).toBe(true)
      expect(isRowVisible(two, row({ owner_id: null }), who)).toBe(false)
    })
  })

  describe('bypass', () => {
    const bypassed = plan({
      bypass: 'admin',
      restrictive: [rule('low', 'level < 2')],
      softDeleteColumn: 'deleted_at',
    })

    it("removes the scope: another tenant's row, even one with a NULL tenant, is visible", () => {
      expect(isRowVisible(bypassed, row({ tenant_id: 't2' }), who)).toBe(true)
      expect(isRowVisible(bypassed, row({ tenant_id: null }), who)).toBe(true)
    })

    it('keeps the restrictive rules', () => {
      expect(isRowVisible(bypassed, row({ tenant_id: 't2', level: 5 }), who)).toBe(false)
    })

    it('keeps soft delete', () => {
      expect(isRowVisible(bypassed, row({ deleted_at: new Date('2024-01-01T00:00:00Z') }), who)).toBe(false)
    })

    it('does not evaluate the permissive rules, as the SQL side does not compile them', () => {
      // planVisibility leaves no permissive rule under a bypass; a plan that had one must still not throw on it.
      const withRule = plan({
        bypass: 'admin',
        permissive: [rule('orgs', 'org_id IN principal.metadata.orgs')],
      })
      expect(isRowVisible(withRule, row(), who)).toBe(true)
    })
  })

  describe('shared models', () => {
    it('show every row, whatever its tenant', () => {
      const shared = plan({ scopes: [], shared: true })
      expect(isRowVisible(shared, row({ tenant_id: 't2' }), who)).toBe(true)
      expect(isRowVisible(shared, row({ tenant_id: null }), who)).toBe(true)
    })

    it('keep restrictive rules and soft delete', () => {
      const shared = plan({
        scopes: [],
        shared: true,
        restrictive: [rule('low', 'level < 2')],
        softDeleteColumn: 'deleted_at',
      })
      expect(isRowVisible(shared, row({ level: 2 }), who)).toBe(false)
      expect(isRowVisible(shared, row({ deleted_at: new Date() }), who)).toBe(false)
      expect(isRowVisible(shared, row(), who)).toBe(true)
    })
  })

  describe('soft delete', () => {
    const softDeleting = plan({ softDeleteColumn: 'deleted_at' })

    it('hides a soft-deleted row and shows a live one', () => {
      expect(isRowVisible(softDeleting, row({ deleted_at: new Date('2024-01-01T00:00:00Z') }), who)).toBe(
        false,
      )
      expect(isRowVisible(softDeleting, row({ deleted_at: null }), who)).toBe(true)
    })

    it('hides a soft-deleted row that a permissive rule would show', () => {
      const widened = plan({
        softDeleteColumn: 'deleted_at',
        permissive: [rule('public', 'is_public = true')],
      })
      expect(
        isRowVisible(widened, row({ tenant_id: 't2', is_public: true, deleted_at: new Date() }), who),
      ).toBe(false)
    })
  })

  describe('failing closed', () => {
    it('shows nothing for a plan with no scope, no permissive rule, no bypass and not shared', () => {
      const empty = plan({ scopes: [] })
      expect(isRowVisible(empty, row(), who)).toBe(false)
      expect(isRowVisible({ ...empty, restrictive: [rule('any', 'true')] }, row(), who)).toBe(false)
    })

    it('throws TENANT_SCOPE_REQUIRED for an unresolvable principal path in a rule, even when the scope already decides', () => {
      const permissive = plan({ permissive: [rule('orgs', 'org_id IN principal.metadata.orgs')] })
      expect(errorCode(() => isRowVisible(permissive, row(), who))).toBe('TENANT_SCOPE_REQUIRED')
      const restrictive = plan({ restrictive: [rule('mine', 'owner_id = principal.metadata.owner')] })
      expect(errorCode(() => isRowVisible(restrictive, row({ tenant_id: 't2' }), who))).toBe(
        'TENANT_SCOPE_REQUIRED',
      )
    })

    it('throws INTERNAL_ERROR when the row lacks a column the plan reads, rather than reading it as NULL', () => {
      const { tenant_id: _tenant, ...noTenant } = row()
      expect(errorCode(() => isRowVisible(plan(), noTenant, who))).toBe('INTERNAL_ERROR')
      const { deleted_at: _deleted, ...noDeletedAt } = row()
      expect(errorCode(() => isRowVisible(plan({ softDeleteColumn: 'deleted_at' }), noDeletedAt, who))).toBe(
        'INTERNAL_ERROR',
      )
    })
  })
})
