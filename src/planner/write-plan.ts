/**
 * WritePlan: the planner's output for create / update / delete / bulk_update, plain immutable data. Every
 * decision that needs no database — mode, fields, coerced values, autoSet values, visibility, soft or hard
 * delete, which references to check — is made before this exists; src/sql/print-write.ts turns it into statements.
 */
import type { SelectPlan, VisibilityPlan } from './query-plan.ts'

export type WriteOperation = 'create' | 'update' | 'delete' | 'bulkUpdate'
/** The policy key that governs an operation: bulk_update is an update. */
export type PolicyWriteOperation = 'create' | 'update' | 'delete'

/** A bound parameter (already coerced to the column type), or the database's `now()`. */
export type WriteValue = { readonly kind: 'param'; readonly value: unknown } | { readonly kind: 'now' }

export interface ColumnWrite {
  readonly column: string
  readonly value: WriteValue
}

export interface TableRef {
  readonly schema: string
  readonly name: string
}

/** Primary-key column → coerced value. */
export type KeyValue = Readonly<Record<string, unknown>>

export type RowValues = Readonly<Record<string, unknown>>

export interface ReferenceTarget {
  readonly model: string
  readonly visibility: VisibilityPlan
}

/** A foreign key of the written table with at least one of its columns in `data`. */
export interface ForeignKeyCheck {
  /** The `data` field named in the error. */
  readonly field: string
  /** Columns of the written table, paired by position with `remoteColumns`. */
  readonly columns: readonly string[]
  readonly table: TableRef
  readonly remoteColumns: readonly string[]
  /**
   * Models through which the caller may see the referenced row (visible through any one suffices). Empty when
   * no model the caller can use covers the referenced table: then any non-null reference is refused.
   */
  readonly targets: readonly ReferenceTarget[]
}

interface WritePlanBase {
  readonly operation: WriteOperation
  readonly mode: 'allow' | 'approval'
  readonly model: string
  readonly table: TableRef
  readonly primaryKey: readonly string[]
  readonly visibility: VisibilityPlan
  /** Readable fields, transformed as on reads: the shape of returned rows and of the audit's images. */
  readonly returning: SelectPlan
  /** Columns read raw from the current rows for the in-memory checks (scopes, rule fields, FK columns, key). */
  readonly checkColumns: readonly string[]
  readonly reason: string | null
  readonly maxAffectedRows: number
  /** The model's maxResultBytes, held against the rows a write returns and images (run-write.ts). */
  readonly maxResultBytes: number
  readonly statementTimeoutMs: number
}

export interface CreatePlan extends WritePlanBase {
  readonly kind: 'create'
  readonly writes: readonly ColumnWrite[]
  /**
   * The new row as far as it is known before the insert: `data`, autoSet values (now() as the plan's time)
   * and columns with no default (null). Columns the database fills with a default are absent.
   */
  readonly knownRow: RowValues
  readonly foreignKeys: readonly ForeignKeyCheck[]
}

export interface UpdatePlan extends WritePlanBase {
  readonly kind: 'update'
  readonly bulk: boolean
  /** Distinct target keys, in request order. */
  readonly targets: readonly KeyValue[]
  readonly writes: readonly ColumnWrite[]
  /** `data` after coercion, merged over each current row for the in-memory checks. */
  readonly data: RowValues
  readonly foreignKeys: readonly ForeignKeyCheck[]
  /**
   * The SQL WITH CHECK alone decides what the in-memory check on `data` over each current row would: every rule
   * it reads through a column `data` does not set compares exactly alike in SQL and in memory
   * (sql-decides-write-check.ts). Lets a single update commit with its statement.
   */
  readonly checkDecidedInSql: boolean
}

export interface DeletePlan extends WritePlanBase {
  readonly kind: 'delete'
  readonly targets: readonly KeyValue[]
  /** The column a soft delete sets to now(); null for a hard delete. */
  readonly softDeleteColumn: string | null
}

export type WritePlan = CreatePlan | UpdatePlan | DeletePlan
