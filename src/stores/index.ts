/**
 * Stores: where audit records and pending approvals live, as peers behind small interfaces (AuditStore,
 * ApprovalStore), each implementation held to one conformance suite per interface, all built on one template
 * (test/support/store-conformance.ts for approvals; test/support/audit-store-conformance.ts for audit stores).
 * Every statement a store runs goes through a StoreTransaction — its own connection, or, inside a tool call's
 * transaction (AuditStore.stage), that transaction: the only handle it may use there. Stores send constant text
 * with bound parameters (CompiledQuery.raw) or statements src/sql printed for them (print-audit.ts), never the
 * query builders, which live in src/sql/ only.
 */
export { sealAuditRecord, hashAuditRecord, verifyAuditChain, AUDIT_HASH_FIELDS } from './audit-record.ts'
export { deferArgsDigest } from './deferred-args-digest.ts'
export {
  auditSensitiveFields,
  sanitizeAuditInput,
  digestAuditArgs,
  auditArgsText,
  isSensitiveKey,
  redactImageSecrets,
  REDACTED,
} from './audit-sanitize.ts'
export type { AuditSanitizeOptions } from './audit-sanitize.ts'
export { isSecretKey, SECRET_KEY_FRAGMENTS, SECRET_KEY_WORDS } from './secret-key.ts'
export type { AuditRecord, AuditRecordDraft, AuditOutcome, AuditAction } from './audit-record.ts'
export type {
  AuditStore,
  AuditQuery,
  AuditFilter,
  AuditReservation,
  StagedAudit,
  RetentionOptions,
  RetentionResult,
} from './audit-store.ts'
export type { StoreTransaction } from './store-transaction.ts'
export { MemoryAuditStore, DEFAULT_MEMORY_AUDIT_CAPACITY } from './memory-audit-store.ts'
export type { MemoryAuditStoreOptions } from './memory-audit-store.ts'
export {
  boundArgs,
  boundImage,
  boundRedactedImage,
  boundValue,
  MAX_IMAGE_CHARS,
  MAX_IMAGE_VALUE_CHARS,
} from './bounded-image.ts'
export {
  DEFAULT_APPROVAL_TTL_MS,
  DEFAULT_MAX_PENDING_PER_TENANT,
  MemoryApprovalStore,
  PostgresApprovalStore,
  approvalTableSql,
  ensureApprovalTable,
} from './approval-store.ts'
export type {
  Approval,
  ApprovalFilter,
  ApprovalStatus,
  ApprovalStore,
  ApprovalStoreOptions,
  ConsumeResult,
  PendingApproval,
} from './approval-store.ts'
export { JsonlAuditStore } from './jsonl-audit-store.ts'
export type { JsonlAuditStoreOptions } from './jsonl-audit-store.ts'
export { JsonlTail } from './jsonl-tail.ts'
export type { TailRead } from './jsonl-tail.ts'
export { PostgresAuditStore } from './postgres-audit-store.ts'
export { auditTablesWritable, defaultAuditStore } from './default-audit-store.ts'
export type { DefaultAuditStoreKind } from './default-audit-store.ts'
export type { AuditDurability, PostgresAuditStoreOptions } from './postgres-audit-store-options.ts'
export type { AuditFailureFacts, AuditStoreLogger } from './audit-insert-failure.ts'
export { auditFailureFacts } from './audit-insert-failure.ts'
export { auditTableSql, ensureAuditTables } from './postgres-audit-sql.ts'
export type { EnsureAuditTablesOptions } from './postgres-audit-sql.ts'
export { DEFAULT_MAX_OPEN_CHAINS } from './audit-chain.ts'
export { ChainVerifier, verifyChainedRecords } from './audit-chain-verifier.ts'
export type {
  AuditChainOptions,
  AuditSigningOptions,
  AuditVerification,
  ChainBreak,
  ChainBreakReason,
  ChainCut,
  ChainHead,
  ChainedRecord,
} from './audit-chain.ts'
export { parseLine as parseAuditLine } from './audit-archive.ts'
export { AUDIT_QUERY_DEFAULT_LIMIT, AUDIT_QUERY_MAX_LIMIT } from './audit-query.ts'
