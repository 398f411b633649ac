/**
 * Row visibility decided in memory (docs/contract.md §3), from the same VisibilityPlan the SQL side compiles in
 * src/sql/print-predicates.ts (`visibilityPredicate`): planVisibility stays the one place that decides which rules
 * apply, and the two must agree on every row (test/db/visibility-differential.test.ts). The eval harness uses
 * it to ask, for a row re-read through an unscoped oracle, whether the principal may see it.
 *
 *   visible = (bypass ∨ shared ∨ (every scope equal ∨ some permissive rule TRUE))
 *             ∧ every restrictive rule TRUE ∧ soft-delete column NULL
 *
 * with SQL's three-valued logic: only TRUE counts, so a scope compared with a NULL column never matches.
 */
import { internalError } from '../errors/index.ts'
import { compareHolds, evaluateCondition, type Row } from '../policy/index.ts'
import type { AppliedRowPolicy, VisibilityPlan } from './query-plan.ts'

/**
 * `row` must hold every column the plan reads (scoped columns, fields the rules name, the soft-delete column)
 * as own properties, with the values node-postgres returns; a missing one throws INTERNAL_ERROR.
 *
 * The plan's rules are bound to the principal already (planVisibility threw TENANT_SCOPE_REQUIRED for a
 * principal path that does not resolve), so this reads no principal and throws only for a missing column.
 */
export function isRowVisible(v: VisibilityPlan, row: Row): boolean {
  // The SQL side compiles the permissive rules only when neither a bypass nor `shared` replaces them.
  const unrestricted = v.bypass !== null || v.shared
  const permissive = unrestricted ? [] : v.permissive.map((rule) => holds(rule, row))
  const restrictive = v.restrictive.map((rule) => holds(rule, row))
  const scoped =
    v.scopes.length > 0 &&
    v.scopes
      .map((s) => compareHolds('=', columnValue(row, s.column), s.value) === true)
      .every((matches) => matches)
  const live = v.softDeleteColumn === null || columnValue(row, v.softDeleteColumn) === null

  // Neither scope nor permissive rule (and no bypass, not shared) grants nothing: fail closed, like `or([])`.
  const granted = unrestricted || scoped || permissive.some((granting) => granting)
  return granted && restrictive.every((passes) => passes) && live
}

function holds(rule: AppliedRowPolicy, row: Row): boolean {
  return evaluateCondition(rule.condition, row, null) === true
}

/** As in evaluateCondition: undefined reads as NULL, a missing column is a caller bug, not a NULL. */
function columnValue(row: Row, column: string): unknown {
  if (!Object.hasOwn(row, column)) {
    throw internalError(
      undefined,
      new Error(`visibility column '${column}' is missing from the evaluated row`),
    )
  }
  return row[column] ?? null
}
