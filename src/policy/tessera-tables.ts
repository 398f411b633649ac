/**
 * Tessera's own tables (the PostgreSQL audit and approval stores, src/stores). They hold every user's calls,
 * write images and pending writes, and `tessera_audit_cuts` names every tenant in its chain keys: the operator
 * reads them (`tessera audit`, `tessera approvals`, `auditStore.query`), an agent never does. So none of them may
 * be a model's table, and `tessera init` leaves them out of a starter policy.
 */

/** The names the stores create their tables under (src/stores/postgres-audit-sql.ts, approval-store.ts). */
export const TESSERA_OWN_TABLES: ReadonlySet<string> = new Set([
  'tessera_audit',
  'tessera_audit_cuts',
  'tessera_approvals',
])

/**
 * Whether `key` (a `DbSchema.tables` key: `name` in public, `schema.name` elsewhere) is one of them, in any schema:
 * the stores name their tables unqualified, so they land wherever the connection's search_path points.
 */
export function isTesseraOwnTable(key: string): boolean {
  return TESSERA_OWN_TABLES.has(key.slice(key.lastIndexOf('.') + 1))
}

export function ownTableMessage(key: string): string {
  return (
    `table '${key}' is Tessera's own (audit or approvals: every user's calls and pending writes); ` +
    'it cannot be a model — read it with `tessera audit` / `tessera approvals` or the store’s query()'
  )
}
