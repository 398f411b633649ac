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
