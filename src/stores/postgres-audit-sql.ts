/**
 * The PostgreSQL audit store's tables and statements (postgres-audit-store.ts): DDL, the multi-row INSERT every
 * write path shares, and reading a stored row back as a chained record. Statements whose text depends on their
 * input (the INSERT, the filtered SELECT/COUNT, the GRANT) are printed in src/sql (print-audit.ts); the rest
 * are constant text with bound parameters.
 */
import { CompiledQuery } from 'kysely'
import type { AnyDatabase } from '../schema/index.ts'
import { printAuditGrant, printAuditInsert, printStagedAuditInsert } from '../sql/index.ts'
import type { AuditRecord } from './audit-record.ts'
import type { KeyObject } from 'node:crypto'
import {
  type AuditVerification,
  type ChainCut,
  type ChainedRecord,
  type ChainKeys,
  signLink,
} from './audit-chain.ts'
import { ChainVerifier } from './audit-chain-verifier.ts'
import { appendArchive } from './audit-archive.ts'
import type { RetentionOptions, RetentionResult } from './audit-store.ts'
import type { StoreTransaction } from './store-transaction.ts'

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
  for (const statement of AUDIT_TABLE_STATEMENTS) await db.executeQuery(CompiledQuery.raw(statement, []))
  for (const role of options.writers ?? []) await db.executeQuery(printAuditGrant(db, role))
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

/**
 * One multi-row INSERT, printed in src/sql (print-audit.ts); `db` is the store's connection or, for `stage`,
 * the call's transaction.
 */
export async function insertRows(
  db: StoreTransaction,
  entries: readonly ChainedRecord[],
  /** The write's own transaction (stage): the INSERT may go out with its COMMIT (printStagedAuditInsert). */
  staged = false,
): Promise<void> {
  const rows = entries.map((e) => {
    const r = e.record
    return {
      chain: e.chain,
      seq: e.seq,
      id: r.id,
      ts: r.timestamp,
      tenantId: r.tenantId,
      userId: r.userId,
      tool: r.tool,
      model: r.model,
      outcome: r.outcome,
      body: JSON.stringify(r),
      signature: e.signature,
    }
  })
  await db.executeQuery(staged ? printStagedAuditInsert(rows) : printAuditInsert(rows))
}

// Privileges, the table, its columns and a read-only server are all checked before the first row: an INSERT of
// no rows fails exactly when an INSERT of a record would for a reason that is not the record's own.
const PROBE = `insert into tessera_audit (chain, seq, id, ts, tool, outcome, body)
  select '', 0, '', now(), '', '', '' where false`

/** Whether a record could be inserted now (see PROBE); rejects with the reason when not. */
export async function probeInsert(db: StoreTransaction): Promise<void> {
  await db.executeQuery(CompiledQuery.raw(PROBE, []))
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

/**
 * Retention (PostgresAuditStore.deleteBefore): deletes, per chain, the records before `cutoff` up to its first
 * record at or after it, archives them first when asked, and records where each chain was cut, in one
 * transaction.
 */
export async function deleteStoredBefore(
  db: AnyDatabase,
  cutoff: string | undefined,
  options: RetentionOptions,
  keys: ChainKeys,
): Promise<RetentionResult> {
  return db.transaction().execute(async (trx) => {
    // Per chain, only the records before its first record at or after the cutoff: what remains of a chain is
    // always contiguous, even if a clock went backwards.
    const result = await trx.executeQuery(
      CompiledQuery.raw(
        `delete from tessera_audit a where a.ts < $1
      and a.seq < coalesce((select min(b.seq) from tessera_audit b where b.chain = a.chain and b.ts >= $1),
                           9223372036854775807)
      returning a.chain, a.seq, a.id, a.ts, a.tenant_id, a.user_id, a.tool, a.model, a.outcome, a.body, a.signature`,
        [cutoff],
      ) as CompiledQuery<StoredRow>,
    )
    const deleted = result.rows.map(toEntry).sort(byChainThenSeq)
    if (options.archive !== undefined) await appendArchive(options.archive, deleted)
    const cuts = new Map<string, ChainCut>()
    for (const e of deleted) {
      const { chain, seq } = e
      const hash = e.record.hash
      cuts.set(chain, { chain, seq, hash, signature: signLink(keys, 'cut', chain, seq, hash) })
    }
    for (const c of cuts.values()) {
      await trx.executeQuery(
        CompiledQuery.raw(
          `insert into tessera_audit_cuts (chain, seq, hash, signature) values ($1, $2, $3, $4)
        on conflict (chain) do update set seq = excluded.seq, hash = excluded.hash, signature = excluded.signature`,
          [c.chain, c.seq, c.hash, c.signature],
        ),
      )
    }
    return { deleted: deleted.length, archivedTo: options.archive ?? null }
  })
}

/** Rows per page when verify walks the table. */
const VERIFY_PAGE = 1_000

/** Walks every stored chain in keyset pages and reports its breaks (PostgresAuditStore.verify). */
export async function verifyStored(db: AnyDatabase, publicKey: KeyObject | null): Promise<AuditVerification> {
  const cutRows = await db.executeQuery(
    CompiledQuery.raw('select chain, seq, hash, signature from tessera_audit_cuts', []) as CompiledQuery<{
      chain: string
      seq: string | number
      hash: string
      signature: string | null
    }>,
  )
  const cuts = cutRows.rows.map((c) => ({ ...c, seq: Number(c.seq) }))
  const verifier = new ChainVerifier(cuts, publicKey)
  // Keyset pages in primary-key order: every chain's records arrive contiguous and in seq order.
  let after: { chain: string; seq: string | number } | null = null
  for (;;) {
    const page: { rows: StoredRow[] } =
      after === null
        ? await db.executeQuery(
            CompiledQuery.raw('select * from tessera_audit order by chain, seq limit $1', [
              VERIFY_PAGE,
            ]) as CompiledQuery<StoredRow>,
          )
        : await db.executeQuery(
            CompiledQuery.raw(
              'select * from tessera_audit where (chain, seq) > ($1, $2) order by chain, seq limit $3',
              [after.chain, after.seq, VERIFY_PAGE],
            ) as CompiledQuery<StoredRow>,
          )
    for (const row of page.rows) {
      const seq = Number(row.seq)
      let entry: ChainedRecord
      try {
        entry = toEntry(row)
      } catch {
        verifier.addBroken(row.chain, seq, 'unreadable', row.id)
        continue
      }
      if (!columnsMatch(row, entry.record)) verifier.addBroken(row.chain, seq, 'edited', row.id)
      else verifier.add(entry)
    }
    const last = page.rows.at(-1)
    if (last === undefined || page.rows.length < VERIFY_PAGE) break
    after = { chain: last.chain, seq: last.seq }
  }
  return verifier.finish()
}

export function byChainThenSeq(a: ChainedRecord, b: ChainedRecord): number {
  return a.chain === b.chain ? a.seq - b.seq : a.chain < b.chain ? -1 : 1
}
