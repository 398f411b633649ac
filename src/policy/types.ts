/**
 * The normalised, validated Policy (output of `definePolicy` / `loadPolicyFile`) and the policy bound to a
 * live schema (output of `bindPolicy`). Both are deeply frozen plain data; the planner reads only these.
 */
import type { CanonicalText, ColumnInfo, DbSchema, TableInfo } from '../schema/index.ts'
import type { ConditionNode, PrincipalPath } from './condition/ast.ts'
import type { FieldAction, MaskStyle, PolicyInput, Profile, WriteMode } from './policy-schema.ts'

export interface Budget {
  readonly maxRows: number
  readonly maxIncludeDepth: number
  readonly maxSelectFields: number
  readonly statementTimeoutMs: number
  readonly maxComplexity: number
  readonly broadQueryGuard: boolean
  readonly broadQueryThreshold: number
  readonly maxInItems: number
  readonly maxFilters: number
  readonly maxEstimatedCost: number
  /** Rows the includes of one statement may add: for each include, parent rows × the include's limit. */
  readonly maxResultRows: number
  /**
   * Bytes one statement may return (root rows with everything they include, in the text form they leave the
   * database in), counted by the statement itself as it runs; more → QUERY_BUDGET_EXCEEDED before the rows
   * reach Node (src/sql/print-result-budget.ts).
   */
  readonly maxResultBytes: number
  /** Statements one tenant may have running at once, across the toolset; more → RATE_LIMITED. */
  readonly maxConcurrentPerTenant: number
}

export interface FieldRule {
  readonly action: FieldAction
  readonly pattern?: string
  readonly style?: MaskStyle
  /** mask / hash only: `data` may set the field (docs/contract.md §3); absent means refused. */
  readonly writable?: boolean
  /** Free text written by end users: delimited as data in MCP text renderings. */
  readonly untrusted?: boolean
  /** Writable despite a unique key that spans tenants (see policy/write-oracle-problems.ts). */
  readonly acceptGlobalUnique?: boolean
}

export interface ScopeRule {
  readonly column: string
  readonly path: PrincipalPath
  /** The path as written in the policy, for messages and the audit. */
  readonly source: string
}

export interface RowPolicy {
  readonly name: string
  readonly mode: 'permissive' | 'restrictive'
  readonly bypass: boolean
  /** The policy acknowledges that this permissive rule shows other tenants' rows (see cross-tenant-rule.ts). */
  readonly crossTenant: boolean
  readonly condition: ConditionNode
  readonly source: string
}

export type AutoSetValue =
  { readonly kind: 'principal'; readonly path: PrincipalPath } | { readonly kind: 'now' }

export interface WritePolicy {
  readonly create: WriteMode
  readonly update: WriteMode
  readonly delete: WriteMode
  readonly autoSet: Readonly<Record<string, AutoSetValue>>
  readonly immutableFields: readonly string[]
  readonly requiredFields: readonly string[]
  readonly requireReason: boolean
  /** With requireReason: the fewest visible letters or digits a reason must have. */
  readonly reasonMinCharacters: number
  readonly maxAffectedRows: number
  readonly softDelete: { readonly field: string } | null
  readonly allowHardDelete: boolean
}

export interface ModelPolicy {
  readonly name: string
  readonly table: string
  /** Rules written in the policy; columns not listed take `defaultFieldAction`. */
  readonly fields: Readonly<Record<string, FieldRule>>
  readonly defaultFieldAction: FieldAction
  /** Empty when the model is shared or scoped only through permissive row policies. */
  readonly scoping: readonly ScopeRule[]
  readonly shared: boolean
  /** Tenant-like columns the policy explicitly declares are not a tenant boundary (see policy-schema.ts). */
  readonly unscopedColumns?: readonly string[]
  readonly rowPolicies: readonly RowPolicy[]
  readonly relations: Readonly<
    Record<string, { readonly model: string; readonly foreignKey?: readonly string[] }>
  >
  readonly aggregations: { readonly fields: readonly string[]; readonly groupBy: readonly string[] }
  readonly write: WritePolicy
  readonly budget: Budget
  readonly description?: string
}

export interface Policy {
  readonly profile: Profile
  /** sha256 over the canonical JSON of the input: names the policy in audit records and approvals. */
  readonly versionHash: string
  readonly version?: string
  readonly defaults: { readonly fieldAction: FieldAction; readonly budget: Budget }
  readonly models: Readonly<Record<string, ModelPolicy>>
  readonly source: PolicyInput
}

export interface BoundField {
  readonly name: string
  readonly column: ColumnInfo
  readonly rule: FieldRule
  /**
   * Set on a tenant column of the model (scoped, or a pinned tenant-like column: tenantColumnsOf) whose type
   * reads several texts as one value: a principal value compared with it must be this canonical text, else the
   * call is TENANT_SCOPE_REQUIRED (docs/decisions.md, "A principal names its tenant in the column's canonical
   * text"). Decided once here, at load; null elsewhere.
   */
  readonly tenantText: CanonicalText | null
}

export interface BoundRelation {
  readonly name: string
  readonly target: string
  /** `one`: this table holds the FK (many-to-one); `many`: the target holds it (one-to-many). */
  readonly cardinality: 'one' | 'many'
  /** Column pairs: `local` on this model's table, `remote` on the target's table. */
  readonly pairs: readonly { readonly local: string; readonly remote: string }[]
}

export interface BoundModel {
  readonly name: string
  readonly policy: ModelPolicy
  readonly table: TableInfo
  /** Every column of the table with its effective rule (explicit or default), in table order. */
  readonly fields: Readonly<Record<string, BoundField>>
  readonly primaryKey: readonly string[]
  readonly relations: Readonly<Record<string, BoundRelation>>
  /**
   * Tenant-like columns a written row must hold the caller's own value in, whatever rule grants the write
   * (see tenant-pins.ts); checked with the write check on every create, update and delete unless a bypass holds.
   */
  readonly tenantPins: readonly TenantPin[]
}

export interface TenantPin {
  readonly column: string
  readonly path: PrincipalPath
  /** The path as written, e.g. `principal.tenantId`. */
  readonly source: string
}

export interface BoundPolicy {
  readonly policy: Policy
  readonly schema: DbSchema
  readonly models: Readonly<Record<string, BoundModel>>
}
