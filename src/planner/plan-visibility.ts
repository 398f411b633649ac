/**
 * Which rows of a model the principal may see (docs/contract.md §3), as a VisibilityPlan. The same function serves the
 * root of a query, every include, aggregates and (later) the write path, so visibility is decided in one place.
 */
import type { Principal } from '../context/index.ts'
import { tenantScopeRequired } from '../errors/index.ts'
import { evaluateCondition, resolvePrincipalPath, type BoundModel } from '../policy/index.ts'
import type { ScopePredicate, VisibilityPlan } from './query-plan.ts'
import { bindConditionToPrincipal, principalValueFor } from './bind-principal-values.ts'

export function planVisibility(model: BoundModel, principal: Principal): VisibilityPlan {
  const policy = model.policy
  // Rules are bound to this principal (principal values become typed literals) so SQL and the in-memory
  // evaluators compare the same values.
  const restrictive = policy.rowPolicies
    .filter((r) => r.mode === 'restrictive' && !r.bypass)
    .map((r) => ({ name: r.name, condition: bindConditionToPrincipal(r.condition, model, principal) }))
  const softDeleteColumn = policy.write.softDelete?.field ?? null

  // A bypass rule's condition mentions only the principal (checked at load time), so it is decided here, in
  // memory, and never reaches SQL. A principal path that does not resolve simply means the bypass does not hold.
  const bypass = policy.rowPolicies.find((r) => r.bypass && bypassHolds(r.condition, principal))
  if (bypass) {
    return {
      model: model.name,
      scopes: [],
      permissive: [],
      restrictive,
      bypass: bypass.name,
      softDeleteColumn,
      shared: false,
    }
  }

  const scopes: ScopePredicate[] = policy.scoping.map((rule) => {
    const resolved = resolvePrincipalPath(principal, rule.path)
    if (!resolved.found) throw tenantScopeRequired(rule.source)
    const value = resolved.value
    if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') {
      throw tenantScopeRequired(rule.source)
    }
    const field = Object.hasOwn(model.fields, rule.column) ? model.fields[rule.column] : undefined
    if (!field) throw tenantScopeRequired(rule.source)
    // A principal value that cannot be a value of the column can match no row; refusing is the fail-closed
    // answer and keeps the database from ever parsing it (docs/threats.md fact 1). A value that is one only in
    // a non-canonical spelling ('01' on an integer column) is refused too: it would alias another tenant.
    return {
      column: rule.column,
      source: rule.source,
      value: principalValueFor(field.column, value, rule.source, field.tenantText),
    }
  })

  const permissive = policy.rowPolicies
    .filter((r) => r.mode === 'permissive' && !r.bypass)
    .map((r) => ({ name: r.name, condition: bindConditionToPrincipal(r.condition, model, principal) }))

  return {
    model: model.name,
    scopes,
    permissive,
    restrictive,
    bypass: null,
    softDeleteColumn,
    shared: policy.shared && scopes.length === 0 && permissive.length === 0,
  }
}

function bypassHolds(condition: Parameters<typeof evaluateCondition>[0], principal: Principal): boolean {
  try {
    return evaluateCondition(condition, {}, principal) === true
  } catch {
    return false
  }
}
