/**
 * QueryPlan: the planner's output, plain immutable data. It records every security decision (scopes injected,
 * row policies applied, bypass, fields selected and redacted, budget figures) so the audit and the tests can
 * read them without re-deriving anything; `build-*.ts` turn a plan into exactly one Kysely statement.
 */
import type { ConditionNode, FieldRule } from '../policy/index.ts'
import type { ColumnTypeClass } from '../schema/index.ts'
import type { FilterOp } from '../request/index.ts'
import type { CursorBindingInput } from './cursor.ts'

export type ScalarValue = string | number | boolean | null

export interface ScopePredicate {
  readonly column: string
  /** The principal path as the policy wrote it, e.g. `principal.tenantId`. */
  readonly source: string
  /** Bound as a parameter, never inlined. */
  readonly value: string | number | boolean
}

export interface AppliedRowPolicy {
  readonly name: string
  readonly condition: ConditionNode
}

/** `visible = (scopes ∧ … ∨ permissive…) ∧ restrictive… ∧ not soft-deleted` (docs/contract.md §3). */
export interface VisibilityPlan {
  readonly model: string
  readonly scopes: readonly ScopePredicate[]
  readonly permissive: readonly AppliedRowPolicy[]
  readonly restrictive: readonly AppliedRowPolicy[]
  /** Name of the bypass rule in force; when set, scopes and permissive rules are not applied. */
  readonly bypass: string | null
  readonly softDeleteColumn: string | null
  /** True for `shared: true` models with no other rule: every row is visible. */
  readonly shared: boolean
}

export type FilterPlan =
  | { readonly kind: 'and'; readonly items: readonly FilterPlan[] }
  | { readonly kind: 'or'; readonly items: readonly FilterPlan[] }
  | { readonly kind: 'not'; readonly item: FilterPlan }
  | {
      readonly kind: 'cmp'
      readonly column: string
      readonly op: FilterOp
      /** Already type-checked against the column; arrays for in/not_in/between. */
      readonly value: unknown
    }

/** The request's operators, one list (request/filter-schema.ts FILTER_OPS): the plan IR adds none of its own. */
export type { FilterOp }

export type FieldTransform = 'none' | 'mask' | 'hash'

export interface SelectedField {
  readonly name: string
  readonly typeClass: ColumnTypeClass
  readonly transform: FieldTransform
  readonly rule: FieldRule
}

export interface OrderKey {
  readonly column: string
  readonly direction: 'asc' | 'desc'
  /**
   * Whether the column can hold NULL. Keys sort in PostgreSQL's natural null order (NULLs last ascending,
   * first descending — what a b-tree index yields scanned either way), and the keyset cursor predicate only
   * needs NULL branches for nullable keys.
   */
  readonly nullable: boolean
}

export interface IncludePlan {
  readonly relation: string
  readonly cardinality: 'one' | 'many'
  /** `local` column on the parent, `remote` column on the included model. */
  readonly pairs: readonly { readonly local: string; readonly remote: string }[]
  readonly select: SelectPlan
}

export interface SelectPlan {
  readonly model: string
  readonly table: { readonly schema: string; readonly name: string }
  readonly fields: readonly SelectedField[]
  readonly visibility: VisibilityPlan
  readonly filter: FilterPlan | null
  readonly orderBy: readonly OrderKey[]
  /** Rows to fetch: for top-level queries the requested limit + 1, so `hasMore` is exact. */
  readonly fetchLimit: number
  readonly includes: readonly IncludePlan[]
}

export interface BudgetReport {
  readonly complexity: number
  readonly maxComplexity: number
  readonly limit: number
  readonly maxRows: number
  readonly includeDepth: number
  readonly statementTimeoutMs: number
  readonly maxEstimatedCost: number
  readonly maxConcurrentPerTenant: number
  /** The model's maxResultBytes: the statement refuses itself past it (src/sql/print-result-budget.ts). */
  readonly maxResultBytes: number
}

export interface QueryPlan {
  readonly kind: 'query'
  readonly root: SelectPlan
  /** The requested page size (fetchLimit - 1). */
  readonly limit: number
  /** Keyset position after which this page starts (values of `root.orderBy` keys), or null. */
  readonly after: readonly (string | null)[] | null
  /**
   * Everything a cursor of this query is bound to (see cursor.ts). Written out with `cursorBinding()` only
   * when a cursor is decoded or a next cursor is issued, so a call that uses neither does not pay for it.
   */
  readonly cursorScope: CursorBindingInput
  /** `cursorBinding(cursorScope)` when the request carried a cursor (it was needed to open it), else null. */
  readonly cursorBinding: string | null
  readonly budget: BudgetReport
}

export interface GetPlan {
  readonly kind: 'get'
  readonly root: SelectPlan
  readonly budget: BudgetReport
}

export interface AggregateColumn {
  readonly name: string
  readonly typeClass: ColumnTypeClass
}

export type AggregateOp = 'count' | 'sum' | 'avg' | 'min' | 'max'

export interface AggregatePlan {
  readonly kind: 'aggregate'
  readonly model: string
  readonly table: { readonly schema: string; readonly name: string }
  readonly op: AggregateOp
  readonly column: AggregateColumn | null
  readonly groupBy: readonly AggregateColumn[]
  readonly visibility: VisibilityPlan
  readonly filter: FilterPlan | null
  readonly maxGroups: number
  readonly budget: BudgetReport
}

export type ReadPlan = QueryPlan | GetPlan | AggregatePlan

/** Names of the fields a plan returns transformed (masked or hashed), for the audit. */
export function redactedFieldsOf(select: SelectPlan): string[] {
  const own = select.fields.filter((f) => f.transform !== 'none').map((f) => `${select.model}.${f.name}`)
  return [...own, ...select.includes.flatMap((i) => redactedFieldsOf(i.select))]
}
