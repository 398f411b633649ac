/**
 * Which tenant-like columns a written row must hold the caller's own value in.
 *
 * A permissive rule with several principal branches (`owner_id = principal.userId OR org_id =
 * principal.tenantId`) grants a write through any branch that holds, so the branch that does not mention the
 * tenant would let a caller create a row in another tenant, or move its own row there. The rule we hold
 * instead: on a model that is not shared, every tenant-like column (TENANT_LIKE_COLUMNS present in the table,
 * not waived in `unscopedColumns`, not already scoped) must equal the caller's claim on every create, update
 * and delete, whichever rule grants it. The claim is the principal path the policy compares that column with
 * (`org_id = principal.metadata.orgId`) when the permissive rules name exactly one, else `principal.tenantId`.
 * A bypass lifts the pins like it lifts the scoping.
 */
import type { TableInfo } from '../schema/index.ts'
import type { ConditionNode, OperandNode, PrincipalPath } from './condition/ast.ts'
import { formatPrincipalPath } from './principal-path.ts'
import type { ModelPolicy, TenantPin } from './types.ts'

/** Column names that mark a tenant boundary: such a column must be scoped, used, or explicitly waived. */
export const TENANT_LIKE_COLUMNS: readonly string[] = Object.freeze([
  'tenant_id',
  'organization_id',
  'org_id',
  'account_id',
  'workspace_id',
])

/** TENANT_LIKE_COLUMNS compared case- and underscore-blind, plus the British spelling. */
const TENANT_LIKE_KEYS: ReadonlyMap<string, number> = new Map(
  [...TENANT_LIKE_COLUMNS, 'organisation_id'].map((c, i) => [c.replaceAll('_', ''), i]),
)

/**
 * Whether a column name marks a tenant boundary, however the schema spells it: `tenant_id`, `tenantId` (the
 * camelCase an ORM such as Prisma creates), `TenantID`, `org_id`, `orgId`… A camelCase schema was invisible to
 * every tenant-column check, so `tessera init` wrote its tables as `shared: true`.
 */
export function isTenantLikeColumn(name: string): boolean {
  return TENANT_LIKE_KEYS.has(name.toLowerCase().replaceAll('_', ''))
}

/** The table's tenant-like columns, in the order of TENANT_LIKE_COLUMNS (tenant first). */
export function tenantLikeColumnsOf(table: TableInfo): string[] {
  const rank = (name: string): number => TENANT_LIKE_KEYS.get(name.toLowerCase().replaceAll('_', '')) ?? 0
  return table.columns
    .map((c) => c.name)
    .filter(isTenantLikeColumn)
    .sort((a, b) => rank(a) - rank(b))
}

const TENANT_ID: PrincipalPath = Object.freeze(['tenantId']) as unknown as PrincipalPath

/** Tenant-like columns of the table that this model treats as a tenant boundary, scoped or not. */
function boundaryColumns(model: ModelPolicy, table: TableInfo): string[] {
  if (model.shared) return []
  const waived = new Set(model.unscopedColumns ?? [])
  return tenantLikeColumnsOf(table).filter((c) => !waived.has(c))
}

/** Columns that place a row inside a tenant: the scoped ones and the pinned tenant-like ones. */
export function tenantColumnsOf(model: ModelPolicy, table: TableInfo): string[] {
  const columns = new Set(model.scoping.map((s) => s.column))
  for (const c of boundaryColumns(model, table)) columns.add(c)
  return [...columns]
}

export function tenantPinsOf(model: ModelPolicy, table: TableInfo): TenantPin[] {
  const scoped = new Set(model.scoping.map((s) => s.column))
  return boundaryColumns(model, table)
    .filter((column) => !scoped.has(column))
    .map((column) => {
      const paths = new Map<string, PrincipalPath>()
      for (const rule of model.rowPolicies) {
        if (rule.mode === 'permissive' && !rule.bypass) collectEqualities(rule.condition, column, paths)
      }
      const [only] = paths.values()
      const path = paths.size === 1 && only !== undefined ? only : TENANT_ID
      return { column, path, source: formatPrincipalPath(path) }
    })
}

function collectEqualities(node: ConditionNode, column: string, out: Map<string, PrincipalPath>): void {
  switch (node.kind) {
    case 'and':
    case 'or':
      for (const operand of node.operands) collectEqualities(operand, column, out)
      return
    case 'not':
      collectEqualities(node.operand, column, out)
      return
    case 'compare': {
      if (node.op !== '=') return
      const path = pairedPath(node.left, node.right, column) ?? pairedPath(node.right, node.left, column)
      if (path) out.set(formatPrincipalPath(path), path)
      return
    }
    case 'in':
    case 'is_null':
    case 'bool':
      return
    default: {
      const never: never = node
      throw new Error(`unhandled condition node ${String(never)}`)
    }
  }
}

function pairedPath(a: OperandNode, b: OperandNode, column: string): PrincipalPath | null {
  return a.kind === 'field' && a.name === column && b.kind === 'principal' ? b.path : null
}
