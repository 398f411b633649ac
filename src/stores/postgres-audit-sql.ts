/**
 * The PostgreSQL audit store's tables and statements (postgres-audit-store.ts): DDL, the multi-row INSERT every
 * write path shares, the query filter, and reading a stored row back as a chained record.
 */
import { type RawBuilder, sql } from 'kysely'
import type { AnyDatabase } from '../schema/index.ts'
import type { AuditRecord } from './audit-record.ts'
import type { ChainedRecord } from './audit-chain.ts'
import type { NormalizedAuditFilter } from './audit-query.ts'

const AUDIT_TABLE_STATEMENTS: readonly string[] = [
  `create table if not exists tessera_audit (
  chain text not null,
  seq bigint not null,
  id text not null,
  ts timestamptz not null,
  tenant_id text,
  user_id text,
  tool text not null,
  model text,
  outcome text not null,
  body text not null,
  signature text,
  primary key (chain, seq)
)`,
  'create index if not exists tessera_audit_tenant_ts_idx on tessera_audit (tenant_id, ts)',
  'create index if not exists tessera_audit_tool_ts_idx on tessera_audit (tool, ts)',
  'create index if not exists tessera_audit_ts_idx on tessera_audit (ts)',
  `create table if not exists tessera_audit_cuts (
  chain text primary key,
  seq bigint not null,
  hash text not null,
  signature text
)`,
]

/** DDL for the store's tables, for migrations (constant text, no parameters). */
export const auditTableSql = `${AUDIT_TABLE_STATEMENTS.join(';\n')};\n`

export interface EnsureAuditTablesOptions {
  /** Roles that append records (the role tool calls run as): granted INSERT only. */
  readonly writers?: readonly string[]
}

/** Creates the tables if missing, one statement at a time, and grants INSERT to the writer roles. */
export async function ensureAuditTables(
  db: AnyDatabase,
  options: EnsureAuditTablesOptions = {},
): Promise<void> {
  for (const statement of AUDIT_TABLE_STATEMENTS) await sql.raw(statement).execute(db)
  for (const role of options.writers ?? []) {
    await sql`grant insert on tessera_audit to ${sql.id(role)}`.execute(db)
  }
}

export interface StoredRow {
  chain: string
  seq: string | number
  id: string
  ts: Date | string
  tenant_id: string | null
  user_id: string | null
  tool: string
  model: string | null
  outcome: string
  body: string
  signature: string | null
}

export async function insertRows(db: AnyDatabase, entries: readonly ChainedRecord[]): Promise<void> {
  const values = entries.map((e) => {
    const r = e.record
    return sql`(${e.chain}, ${e.seq}, ${r.id}, ${r.timestamp}, ${r.tenantId}, ${r.userId}, ${r.tool}, ${r.model},
      ${r.outcome}, ${JSON.stringify(r)}, ${e.signature})`
  })
  await sql`insert into tessera_audit (chain, seq, id, ts, tenant_id, user_id, tool, model, outcome, body, signature)
    values ${sql.join(values)}`.execute(db)
}

export function where(f: NormalizedAuditFilter): RawBuilder<unknown> {
  const parts: RawBuilder<unknown>[] = [sql`true`]
  if (f.tenantId !== undefined) parts.push(sql`tenant_id = ${f.tenantId}`)
  if (f.userId !== undefined) parts.push(sql`user_id = ${f.userId}`)
  if (f.tool !== undefined) parts.push(sql`tool = ${f.tool}`)
  if (f.model !== undefined) parts.push(sql`model = ${f.model}`)
  if (f.outcome !== undefined) parts.push(sql`outcome = ${f.outcome}`)
  if (f.from !== undefined) parts.push(sql`ts >= ${f.from}`)
  if (f.to !== undefined) parts.push(sql`ts <= ${f.to}`)
  return sql.join(parts, sql` and `)
}

export function toEntry(row: StoredRow): ChainedRecord {
  return {
    chain: row.chain,
    seq: Number(row.seq),
    record: JSON.parse(row.body) as AuditRecord,
    signature: row.signature,
  }
}

/** The indexed columns say what the record says (an edit of a column alone is an edit too). */
export function columnsMatch(row: StoredRow, r: AuditRecord): boolean {
  const ts = row.ts instanceof Date ? row.ts : new Date(row.ts)
  return (
    row.id === r.id &&
    ts.getTime() === Date.parse(r.timestamp) &&
    row.tenant_id === r.tenantId &&
    row.user_id === r.userId &&
    row.tool === r.tool &&
    row.model === r.model &&
    row.outcome === r.outcome
  )
}

export function byChainThenSeq(a: ChainedRecord, b: ChainedRecord): number {
  return a.chain === b.chain ? a.seq - b.seq : a.chain < b.chain ? -1 : 1
}
