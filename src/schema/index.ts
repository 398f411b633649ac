export { introspectSchema, ROW_COUNT_CAP } from './introspect-schema.ts'
export type { IntrospectOptions } from './introspect-schema.ts'
export {
  canonicalText,
  columnTypeClass,
  hasExactEquality,
  isCanonicalText,
  looseEquality,
} from './column-type-class.ts'
export type { PgTypeDescriptor } from './column-type-class.ts'
export { findColumn } from './types.ts'
export type {
  CanonicalText,
  CheckConstraintInfo,
  ColumnInfo,
  ColumnTypeClass,
  DbSchema,
  ForeignKeyInfo,
  IndexInfo,
  LooseEquality,
  TableInfo,
  TablePrivileges,
  UniqueKeyInfo,
} from './types.ts'
export type { AnyDatabase, AnyTables } from './any-database.ts'
export { readRlsCatalog } from './read-rls-catalog.ts'
export type {
  ReadRlsCatalogOptions,
  RlsCatalog,
  RlsPolicyFacts,
  RlsRoleFacts,
  RlsTableFacts,
  RlsViewFacts,
} from './read-rls-catalog.ts'
export {
  connectionTarget,
  connectionTargetOf,
  registerConnectionTarget,
  setupFailure,
} from './setup-failure.ts'
export type { ConnectionTarget, PgConfigLike } from './setup-failure.ts'
