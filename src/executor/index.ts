export { createExecutor, claimSettingNames } from './executor.ts'
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
export { estimateCost } from './explain-cost.ts'
