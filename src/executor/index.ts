/**
 * Execution (docs/contract.md §5): how a plan's statements reach the database and what comes back.
 * `createPlanExecutor` runs plans — `runRead`, `checkWrite`, `runWrite` — and is all src/tools uses; beneath it
 * the executor owns
 * the session protocol (one named prepared statement for a plain app-mode read; otherwise one transaction whose
 * first statement sets claims, timeout and role with transaction-local set_config), the enforcement mode, the
 * EXPLAIN cost guard, error mapping (database text never reaches a caller), JSON-safe values and row shaping,
 * the Tessera dialect (never the simple protocol) and the database factories (PGlite, PostgreSQL).
 */
export { createExecutor, claimSettingNames } from './executor.ts'
export { createPlanExecutor } from './plan-executor.ts'
export type {
  CallTransaction,
  PlanCall,
  PlanExecutor,
  PlanExecutorOptions,
  WriteCall,
  WrittenPlan,
} from './plan-executor.ts'
export { ENFORCEMENT_MODES } from './enforcement-mode.ts'
export type { EnforcementMode } from './enforcement-mode.ts'
export type {
  ClaimSettingName,
  ExecutionSpec,
  Executor,
  ExecutorDatabase,
  ExecutorOptions,
} from './executor.ts'
export {
  createTesseraDialect,
  sessionStatementTimeoutOf,
  TesseraPostgresAdapter,
  DEFAULT_ACQUIRE_TIMEOUT_MILLIS,
  DEFAULT_MAX_PREPARED_PER_CONNECTION,
} from './tessera-dialect.ts'
export type {
  TesseraDialectOptions,
  TesseraPool,
  TesseraPoolClient,
  TesseraQueryConfig,
  TesseraQueryResult,
} from './tessera-dialect.ts'
export { createPgliteDatabase } from './pglite-database.ts'
export type { PgliteDatabase, PgliteDatabaseOptions } from './pglite-database.ts'
export { createPostgresDatabase } from './postgres-database.ts'
export type { PostgresDatabase, PostgresDatabaseOptions } from './postgres-database.ts'
export { mapDatabaseError } from './map-database-error.ts'
export { isConnectionLevelError, isSqlStateError } from './database-error-kind.ts'
export type { SqlStateError } from './database-error-kind.ts'
export { PoolExhaustedError, isPoolExhaustedError } from './pool-exhausted-error.ts'
export { toJsonSafe } from './json-safe.ts'
export type { JsonValue } from './json-safe.ts'
export { isPglite, probeDatabase, serverVersion } from './server-version.ts'
export type { BulkUpdateResult, DeleteResult, RowResult, WriteResult, WriteOutcome } from './run-write.ts'
export { shapeRows } from './shape-rows.ts'
export type { Row } from './shape-rows.ts'
export { runDdl } from './run-ddl.ts'
