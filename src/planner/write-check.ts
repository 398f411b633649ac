/**
 * WITH CHECK for writes (docs/contract.md §4), decided from a VisibilityPlan — planVisibility stays the one place that
 * decides which rules apply. A written row must satisfy every restrictive rule and, unless a bypass holds or
 * the model is shared, the scoping (every scoped column equal to the principal's value); only a model with no
 * scoping may rely on permissive rules instead, and then on all of those that can grant a write. That is
 * stricter than read visibility on purpose: a permissive rule such as `is_public = true` lets a caller read
 * another tenant's row, never write one into it.
 *
 * The same rule exists twice: here in memory (checked before any statement, with the row as it will be) and
 * as SQL in src/sql/print-write.ts (the write's WHERE and RETURNING), so neither can be skipped.
 */
import { validationError, type TesseraError } from '../errors/index.ts'
import { compareHolds, evaluateCondition, referencedFields } from '../policy/index.ts'
import type { AppliedRowPolicy, VisibilityPlan } from './query-plan.ts'
import type { RowValues } from './write-plan.ts'

/** `unknown`: the row lacks a value the check needs (a database default); the SQL check decides. */
export type WriteCheckResult = 'pass' | 'fail' | 'unknown'

/** Reads no principal: the plan's rules were bound to it by planVisibility. */
export function checkWrittenRow(
  v: VisibilityPlan,
  row: RowValues,
  known: ReadonlySet<string>,
): WriteCheckResult {
  let unknown = false
  for (const rule of v.restrictive) {
    const result = evaluateKnown(rule, row, known)
    if (result === 'unknown') unknown = true
    else if (result !== true) return 'fail'
  }
  if (v.bypass !== null || v.shared) return unknown ? 'unknown' : 'pass'
  if (v.scopes.length > 0) {
    for (const scope of v.scopes) {
      if (!known.has(scope.column)) unknown = true
      else if (compareHolds('=', row[scope.column] ?? null, scope.value) !== true) return 'fail'
    }
    return unknown ? 'unknown' : 'pass'
  }
  const grants = writeGrants(v)
  if (grants.length === 0) return 'fail'
  for (const rule of grants) {
    const result = evaluateKnown(rule, row, known)
    if (result === 'unknown') unknown = true
    else if (result !== true) return 'fail'
  }
  return unknown ? 'unknown' : 'pass'
}

/**
 * The permissive rules that can grant a write (write-grant.ts reduced the others to FALSE). On a model with no
 * scoping a written row must satisfy ALL of them: were any one enough, a caller could plant a row into another
 * tenant through a rule that does not mention the tenant (`owner_id = principal.userId`).
 */
export function writeGrants(v: VisibilityPlan): AppliedRowPolicy[] {
  return v.permissive.filter((r) => !(r.condition.kind === 'bool' && r.condition.value === false))
}

/** Columns the check reads: scoped columns and every field a rule names. */
export function writeCheckColumns(v: VisibilityPlan): string[] {
  const columns = new Set<string>(v.scopes.map((s) => s.column))
  for (const rule of [...v.restrictive, ...v.permissive])
    for (const f of referencedFields(rule.condition)) columns.add(f)
  return [...columns]
}

/** The error for a write whose row would leave the caller's scope or break a rule; names no rule. */
export function outsideScope(): TesseraError {
  return validationError('The record would be outside what you may access after this write', [
    { path: 'data', message: 'the record must stay within your scope and the rules of the policy' },
  ])
}

function evaluateKnown(
  rule: AppliedRowPolicy,
  row: RowValues,
  known: ReadonlySet<string>,
): boolean | null | 'unknown' {
  for (const field of referencedFields(rule.condition)) if (!known.has(field)) return 'unknown'
  const complete: Record<string, unknown> = {}
  for (const field of referencedFields(rule.condition)) complete[field] = row[field] ?? null
  return evaluateCondition(rule.condition, complete, null)
}
