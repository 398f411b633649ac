/**
 * Plan → SQL: the only code that imports Kysely's query builders (`sql`, `kysely/helpers/*`), enforced by
 * dependency-cruiser and eslint. Every file here turns plan data into a statement and decides nothing: which
 * rows, fields and values a call may touch was settled by src/planner/. Identifiers come only from the bound
 * schema (through `sql.id`); every value is a bound parameter, except row limits, which the planner validated
 * and which are written as integer literals so a prepared statement keeps one generic plan.
 *
 * Layout, one name per stage: `print-*.ts` print plans as Kysely expressions/statements (print-select for
 * query/get with includes as correlated JSON subqueries, print-aggregate, print-result-budget for the byte
 * budget every read statement enforces on itself, print-write, print-predicates for
 * visibility and filters, print-condition for row-policy conditions, like-pattern); `statement-cache.ts`
 * compiles a read plan once per shape (key: `statement-shape-key.ts`) and reuses the text with new values; a
 * template is kept only if its first instantiation equals a direct build, so a shape key that misses a
 * difference costs a cache miss, never a wrong statement. `print-session.ts` prints the executor's own
 * statements (session settings, EXPLAIN). Every statement handed out for sending is marked in
 * `printed-statement.ts`: the executor's guard runs nothing else.
 */
export { AGGREGATE_VALUE, printAggregate } from './print-aggregate.ts'
export { RESULT_BYTES_MARKER } from './print-result-budget.ts'
export {
  and,
  columnRef,
  filterPredicate,
  or,
  scopePredicate,
  visibilityPredicate,
} from './print-predicates.ts'
export type { ColumnRef } from './print-predicates.ts'
export { conditionPredicate } from './print-condition.ts'
export type { ConditionPredicateContext } from './print-condition.ts'
export { escapeLikePattern, likePatternFor } from './like-pattern.ts'
export type { PatternOp } from './like-pattern.ts'
export { ORDER_KEY_PREFIX, orderKeySources, outputExpression, printGet, printQuery } from './print-select.ts'
export {
  WRITE_CHECK_COLUMN,
  beforeColumnAlias,
  compileWrite,
  printCheckedInsert,
  printDelete,
  printInsert,
  printLockedUpdate,
  printReferenceCheck,
  printTargetSelect,
  printUpdate,
  rawColumnAlias,
  referenceColumnAlias,
  writeCheckPredicate,
} from './print-write.ts'
export type {
  InsertShape,
  LockedUpdateShape,
  ReferenceValues,
  ReferenceValuesShape,
  WriteRow,
} from './print-write.ts'
export { MAX_WRITE_TEMPLATES, compileCheckedInsert, compileLockedUpdate } from './write-statement-cache.ts'
export { MAX_STATEMENT_TEMPLATES, compileAggregate, compileGet, compileQuery } from './statement-cache.ts'
export { bindReadTemplate, readTemplateOf } from './read-template.ts'
export type { ReadTemplate } from './read-template.ts'
export { ORACLE_JSON_COLUMN, printOracleRead } from './print-oracle-read.ts'
export { isPrintedNode, isPrintedQueryId, isPrintedStatement } from './printed-statement.ts'
export {
  printExplain,
  printGenericPlanProbe,
  isSessionSettings,
  printSessionSettings,
  printSessionStatement,
  sessionPrefixOf,
} from './print-session.ts'
export type { GenericPlanProbe, SessionSetting } from './print-session.ts'
export {
  isRidingWithCommit,
  printAuditCount,
  printAuditGrant,
  printAuditInsert,
  printAuditSelect,
  printStagedAuditInsert,
} from './print-audit.ts'
export type { AuditFilterValues, AuditRowValues } from './print-audit.ts'
