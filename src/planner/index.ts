/**
 * The planner: policy × principal × request → QueryPlan / GetPlan / AggregatePlan / WritePlan, plain immutable
 * data (docs/contract.md §1). Every decision that needs no database is taken here and recorded in the plan — which model
 * and fields, how values are typed, which rows are visible (one function, plan-visibility.ts, for reads,
 * includes, aggregates and writes), budgets, the cursor's binding and sealing, the write checks — so that
 * src/sql/ only prints what the plan says and the audit reads the decisions from the plan itself.
 *
 * Layout: `plan-*.ts` build plans (plan-read: query/get/aggregate; plan-select: the SELECT part they share,
 * includes with each target's own visibility; plan-filter; plan-visibility; plan-write); `query-plan.ts` and
 * `write-plan.ts` are the plan IR; `row-visibility.ts` and `write-check.ts` are the in-memory twins of the
 * SQL predicates, held to them by differential tests; `cursor.ts` seals keyset cursors.
 *
 * Never imports kysely: a plan is data, printed by src/sql/.
 */
export { aggregateOpsFor, planAggregate, planGet, planQuery } from './plan-read.ts'
export type { PlannerOptions } from './plan-read.ts'
export { DEFAULT_INCLUDE_LIMIT, DEFAULT_PAGE_SIZE, SORTABLE } from './plan-select.ts'
export { planFilter, complexityScore, filterOperatorsFor } from './plan-filter.ts'
export type { FilterCost } from './plan-filter.ts'
export { planVisibility } from './plan-visibility.ts'
export { bindConditionToClaims, bindConditionToPrincipal, isSharedBinding } from './bind-principal-values.ts'
export type { DatabaseRule, DatabaseRules } from './database-enforced.ts'
export { createAutoSetResolves, maxAffectedRowsExceeded, planWrite, policyOperation } from './plan-write.ts'
export { fieldFor, nameableField, readableFields } from './field-access.ts'
export type { FieldUsage } from './field-access.ts'
export { writableField, writableFieldNames, writeFieldProblem } from './write-field-access.ts'
export type { WriteFieldProblem, WriteFieldUsage } from './write-field-access.ts'
export { writeGrantCondition, writeModelOf } from './write-grant.ts'
export { isRowVisible } from './row-visibility.ts'
export { checkWrittenRow, outsideScope, writeCheckColumns, writeGrants } from './write-check.ts'
export type { WriteCheckResult } from './write-check.ts'
export {
  CURSOR_VERSION,
  MAX_CURSOR_KEYS,
  MAX_CURSOR_LENGTH,
  cursorBinding,
  decodeCursor,
  encodeCursor,
} from './cursor.ts'
export type { CursorBindingInput, CursorKeyValue, CursorPayload } from './cursor.ts'
export { redactedFieldsOf } from './query-plan.ts'
export { isPlanConstant } from './plan-constants.ts'
export type {
  AggregateColumn,
  AggregateOp,
  AggregatePlan,
  AppliedRowPolicy,
  BudgetReport,
  FieldTransform,
  FilterOp,
  FilterPlan,
  GetPlan,
  IncludePlan,
  OrderKey,
  QueryPlan,
  ReadPlan,
  ScalarValue,
  ScopePredicate,
  SelectedField,
  SelectPlan,
  VisibilityPlan,
} from './query-plan.ts'
export type {
  ColumnWrite,
  CreatePlan,
  DeletePlan,
  ForeignKeyCheck,
  KeyValue,
  PolicyWriteOperation,
  ReferenceTarget,
  RowValues,
  TableRef,
  UpdatePlan,
  WriteOperation,
  WritePlan,
  WriteValue,
} from './write-plan.ts'
export { databaseEnforcedRead, databaseEnforcedVisibility, databaseRules } from './database-enforced.ts'
