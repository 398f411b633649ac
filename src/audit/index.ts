export { sealAuditRecord, hashAuditRecord, verifyAuditChain, sanitizeAuditInput } from './audit-record.ts'
export type { AuditRecord, AuditRecordDraft, AuditOutcome, AuditAction } from './audit-record.ts'
export type { AuditStore, AuditQuery, StagedAudit } from './audit-store.ts'
export { MemoryAuditStore } from './memory-audit-store.ts'
