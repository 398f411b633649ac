/**
 * Stores: where audit records and pending approvals live, as peers behind small interfaces (AuditStore,
 * ApprovalStore), each implementation held to one conformance suite per interface (test/support/). A store that
 * writes inside a tool call's transaction receives a StoreTransaction: the only handle it may use there.
 * Stores use driver-level Kysely only (compiled statements with bound parameters), never the query builders.
 */
export {
  sealAuditRecord,
  hashAuditRecord,
  verifyAuditChain,
  sanitizeAuditInput,
  AUDIT_HASH_FIELDS,
} from './audit-record.ts'
export type { AuditRecord, AuditRecordDraft, AuditOutcome, AuditAction } from './audit-record.ts'
export type { AuditStore, AuditQuery, StagedAudit } from './audit-store.ts'
export { MemoryAuditStore, DEFAULT_MEMORY_AUDIT_CAPACITY } from './memory-audit-store.ts'
export type { MemoryAuditStoreOptions } from './memory-audit-store.ts'
export {
  DEFAULT_APPROVAL_TTL_MS,
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
  ConsumeResult,
  PendingApproval,
} from './approval-store.ts'
