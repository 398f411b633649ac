/**
 * The PostgreSQL audit store's statements whose text depends on their input: the multi-row INSERT (one row of
 * placeholders per record), the filtered SELECT and COUNT, and the GRANT to a writer role. Column and table names
 * are constants of this file; every value is a bound parameter. The store's other statements are constant text
 * with bound parameters and stay in src/stores. Every statement here is marked as printed
 * (printed-statement.ts), so it may run inside a tool call's transaction on the guarded instance.
 */
import { CompiledQuery, sql } from 'kysely'
import type { AnyDatabase } from '../schema/index.ts'
import { markPrinted } from './printed-statement.ts'

/** One `tessera_audit` row: a sealed record, its chain position and the indexed columns copied from it. */
export interface AuditRowValues {
  readonly chain: string
  readonly seq: number
  readonly id: string
  /** ISO-8601 timestamp of the record. */
  readonly ts: string
  readonly tenantId: string | null
  readonly userId: string | null
  readonly tool: string
  readonly model: string | null
  readonly outcome: string
  /** The record itself, as exact JSON text. */
  readonly body: string
  readonly signature: string | null
}

/** A validated audit filter (src/stores/audit-query.ts): each member absent or a string. */
export interface AuditFilterValues {
  readonly tenantId: string | undefined
  readonly userId: string | undefined
  readonly tool: string | undefined
  readonly model: string | undefined
  readonly outcome: string | undefined
  readonly from: string | undefined
  readonly to: string | undefined
}

const INSERT_COLUMNS = 'chain, seq, id, ts, tenant_id, user_id, tool, model, outcome, body, signature'
const VALUES_PER_ROW = 11

/**
 * Statements that may wait for their transaction's next statement — its COMMIT — and go out in one message with
 * it: their result is never read, and a failure of theirs must keep the transaction from committing (the Tessera
 * dialect, src/executor/tessera-dialect.ts: the server skips the COMMIT after a failed statement of the same
 * message). A staged write's audit INSERT is one: the write then costs one round trip less.
 */
const ridesWithCommit = new WeakSet<CompiledQuery>()

/** Whether `compiled` may be held back and sent with its transaction's COMMIT (see ridesWithCommit). */
export function isRidingWithCommit(compiled: CompiledQuery): boolean {
  return ridesWithCommit.has(compiled)
}

/** The audit INSERT of a write's record, inside the write's transaction: it may ride with the COMMIT. */
export function printStagedAuditInsert(rows: readonly AuditRowValues[]): CompiledQuery {
  const compiled = printAuditInsert(rows)
  ridesWithCommit.add(compiled)
  return compiled
}

export function printAuditInsert(rows: readonly AuditRowValues[]): CompiledQuery {
  if (rows.length === 0) throw new Error('no audit rows to insert')
  const parameters: unknown[] = []
  const tuples: string[] = []
  for (const r of rows) {
    const first = parameters.length + 1
    parameters.push(
      r.chain,
      r.seq,
      r.id,
      r.ts,
      r.tenantId,
      r.userId,
      r.tool,
      r.model,
      r.outcome,
      r.body,
      r.signature,
    )
    const placeholders: string[] = []
    for (let i = 0; i < VALUES_PER_ROW; i++) placeholders.push(`$${first + i}`)
    tuples.push(`(${placeholders.join(', ')})`)
  }
  return markPrinted(
    CompiledQuery.raw(
      `insert into tessera_audit (${INSERT_COLUMNS}) values ${tuples.join(', ')}`,
      parameters,
    ),
  )
}

/** `true and tenant_id = $1 and …` for the members the filter sets; values appended to `parameters`. */
function auditWhere(f: AuditFilterValues, parameters: unknown[]): string {
  const parts = ['true']
  const add = (condition: (placeholder: string) => string, value: string | undefined): void => {
    if (value === undefined) return
    parameters.push(value)
    parts.push(condition(`$${parameters.length}`))
  }
  add((p) => `tenant_id = ${p}`, f.tenantId)
  add((p) => `user_id = ${p}`, f.userId)
  add((p) => `tool = ${p}`, f.tool)
  add((p) => `model = ${p}`, f.model)
  add((p) => `outcome = ${p}`, f.outcome)
  add((p) => `ts >= ${p}`, f.from)
  add((p) => `ts <= ${p}`, f.to)
  return parts.join(' and ')
}

/** Matching records' JSON, newest first (ties broken by chain and position, byte order), one page. */
export function printAuditSelect(
  f: AuditFilterValues,
  limit: number,
  offset: number,
): CompiledQuery<{ body: string }> {
  const parameters: unknown[] = []
  const where = auditWhere(f, parameters)
  parameters.push(limit, offset)
  const text =
    `select body from tessera_audit where ${where} order by ts desc, chain collate "C" desc, seq desc ` +
    `limit $${parameters.length - 1} offset $${parameters.length}`
  return markPrinted(CompiledQuery.raw(text, parameters) as CompiledQuery<{ body: string }>)
}

export function printAuditCount(f: AuditFilterValues): CompiledQuery<{ n: string | number }> {
  const parameters: unknown[] = []
  const text = `select count(*) as n from tessera_audit where ${auditWhere(f, parameters)}`
  return markPrinted(CompiledQuery.raw(text, parameters) as CompiledQuery<{ n: string | number }>)
}

/** INSERT (only) on the records table for a writer role, the role name quoted as an identifier. */
export function printAuditGrant(db: AnyDatabase, role: string): CompiledQuery {
  return markPrinted(sql`grant insert on tessera_audit to ${sql.id(role)}`.compile(db))
}
