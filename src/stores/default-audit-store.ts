/**
 * The audit store a toolset gets when the application names none: the PostgreSQL store when the audit tables
 * exist in the toolset's database and both the connecting role (which stores read records, in batches) and
 * the role tool calls run as (which inserts a write's record inside the write's transaction) may insert into
 * them, on a server that accepts writes; otherwise the in-memory store. Creating tables is never implicit — an operator runs
 * `ensureAuditTables` (docs/audit.md) — so a toolset never changes a schema it was only asked to read.
 */
import { CompiledQuery } from 'kysely'
import type { AnyDatabase } from '../schema/index.ts'
import type { AuditStore } from './audit-store.ts'
import { MemoryAuditStore } from './memory-audit-store.ts'
import { PostgresAuditStore } from './postgres-audit-store.ts'
import type { AuditStoreLogger } from './audit-insert-failure.ts'

// Fixed text, one bound parameter: the optional role tool calls run as. A missing table gives a NULL oid,
// and has_table_privilege over NULL is NULL, counted as "no".
// Appending needs INSERT on tessera_audit only (what ensureAuditTables grants writers); cuts are written by
// retention, which an operator runs.
// A hot standby (a toolset pointed at a read replica, docs/scaling.md) or a read-only session replicates the
// table and its grants, yet every insert fails there: the store would refuse every call. Those count as "no".
const WRITABLE = `select coalesce(bool_and(coalesce(has_table_privilege(r.name, to_regclass('tessera_audit'), 'INSERT'), false)), false)
         and not pg_is_in_recovery() and current_setting('transaction_read_only') = 'off' as writable
  from (select current_user::text as name union select $1::text where $1::text is not null) as r`

export type DefaultAuditStoreKind = 'postgres' | 'memory'

/** Whether the PostgreSQL store can be the default here (see the file header). Never throws. */
export async function auditTablesWritable(db: AnyDatabase, role: string | undefined): Promise<boolean> {
  try {
    const result = await db.executeQuery<{ writable: boolean }>(CompiledQuery.raw(WRITABLE, [role ?? null]))
    return result.rows[0]?.writable === true
  } catch {
    // An unknown role name, or a database that cannot answer: fall back to memory, which always works.
    return false
  }
}

export async function defaultAuditStore(
  db: AnyDatabase,
  role: string | undefined,
  logger?: AuditStoreLogger,
): Promise<{ store: AuditStore; kind: DefaultAuditStoreKind }> {
  if (await auditTablesWritable(db, role)) {
    return {
      store: new PostgresAuditStore({ db, ...(logger === undefined ? {} : { logger }) }),
      kind: 'postgres',
    }
  }
  return { store: new MemoryAuditStore(), kind: 'memory' }
}
