/**
 * Does a permissive row policy widen a model to other tenants (docs/contract.md §3)? A permissive rule is ORed with the
 * model's scoping, so any branch of it that is true for rows the caller does not own shows those rows. Two
 * shapes do that and are refused at load unless the rule says `crossTenant: true`:
 *
 * - a branch that does not pin a row field to the principal (`is_public = true`, `tenant_id IS NOT NULL`,
 *   `'admin' IN principal.roles AND archived = false`): whoever asks, it holds for rows of every tenant;
 * - a comparison of a tenant-like or scoped column with a literal (`tenant_id = 'globex'`) in such a rule: it
 *   names another tenant outright, on any model.
 *
 * "Pins" is a positive rule, judged in negation normal form: a branch pins when one of its conjuncts is
 * `field = principal.path` or `field IN principal.path`. Merely mentioning the principal is not enough —
 * `tenant_id != principal.tenantId` mentions it and shows every other tenant's rows.
 */
import type { ConditionNode, OperandNode } from './condition/ast.ts'
import { TENANT_LIKE_COLUMNS } from './tenant-pins.ts'

export { TENANT_LIKE_COLUMNS }

export type CrossTenantReason =
  { readonly kind: 'unpinned_branch' } | { readonly kind: 'tenant_literal'; readonly column: string }

/**
 * Why the permissive `condition` reaches other tenants' rows, or an empty list when every branch is pinned to
 * the principal. A tenant column compared with a literal is named on its own. `tenantColumns`: the tenant-like column names
 * plus the model's scoped columns.
 */
export function crossTenantReasons(
  condition: ConditionNode,
  tenantColumns: ReadonlySet<string>,
): CrossTenantReason[] {
  // A rule pinned on every branch stays inside the caller's rows whatever else it tests: `tenant_id =
  // principal.tenantId AND org_id = 'main'` narrows, it names no other tenant.
  if (pinned(condition, false)) return []
  const reasons: CrossTenantReason[] = [{ kind: 'unpinned_branch' }]
  const literalColumns = new Set<string>()
  collectTenantLiterals(condition, tenantColumns, literalColumns)
  for (const column of literalColumns) reasons.push({ kind: 'tenant_literal', column })
  return reasons
}

/**
 * True when every way the condition can hold requires a row field to equal a principal value. `negate`: the
 * node sits under an odd number of NOTs (De Morgan: AND and OR swap, leaves are negated).
 */
function pinned(node: ConditionNode, negate: boolean): boolean {
  switch (node.kind) {
    case 'and':
    case 'or': {
      const conjunction = (node.kind === 'and') !== negate
      // A conjunction holds only when all its parts do: one pinned part pins it. A disjunction holds when any
      // part does: each part must be pinned.
      return conjunction
        ? node.operands.some((o) => pinned(o, negate))
        : node.operands.every((o) => pinned(o, negate))
    }
    case 'not':
      return pinned(node.operand, !negate)
    case 'bool':
      // TRUE holds for every row; FALSE never holds, so it grants nothing and widens nothing.
      return node.value === negate
    case 'compare':
      return !negate && node.op === '=' && fieldAgainstPrincipal(node.left, node.right)
    case 'in':
      return !negate && !node.negated && node.left.kind === 'field' && node.right.kind === 'principal'
    case 'is_null':
      return false
    default: {
      const never: never = node
      throw new Error(`unhandled condition node ${String(never)}`)
    }
  }
}

function fieldAgainstPrincipal(a: OperandNode, b: OperandNode): boolean {
  return (a.kind === 'field' && b.kind === 'principal') || (a.kind === 'principal' && b.kind === 'field')
}

function collectTenantLiterals(
  node: ConditionNode,
  tenantColumns: ReadonlySet<string>,
  out: Set<string>,
): void {
  switch (node.kind) {
    case 'and':
    case 'or':
      for (const o of node.operands) collectTenantLiterals(o, tenantColumns, out)
      return
    case 'not':
      collectTenantLiterals(node.operand, tenantColumns, out)
      return
    case 'bool':
    case 'is_null':
      return
    case 'compare': {
      const pair = [node.left, node.right] as const
      for (const [side, other] of [pair, [pair[1], pair[0]] as const]) {
        if (side.kind === 'field' && tenantColumns.has(side.name) && other.kind === 'literal') {
          out.add(side.name)
        }
      }
      return
    }
    case 'in': {
      const left = node.left
      const right = node.right
      if (left.kind === 'field' && tenantColumns.has(left.name)) {
        const items = right.kind === 'list' ? right.items : [right]
        if (items.some((item) => item.kind === 'literal')) out.add(left.name)
      }
      if (left.kind === 'literal' && right.kind === 'list') {
        for (const item of right.items) {
          if (item.kind === 'field' && tenantColumns.has(item.name)) out.add(item.name)
        }
      }
      return
    }
    default: {
      const never: never = node
      throw new Error(`unhandled condition node ${String(never)}`)
    }
  }
}
