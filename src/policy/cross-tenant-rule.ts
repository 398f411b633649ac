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
 *
 * A third shape is refused on a model with a tenant boundary (nonTenantClaims): a branch pinned only to a claim
 * that is not a tenant (`owner_id = principal.userId`). The rule is ORed with the scoping, and nothing makes a
 * user id (or any metadata value) unique across tenants, so it also shows another tenant's rows that hold the
 * same value (docs/decisions.md "Permissive rules pinned to a claim that is not a tenant").
 */
import type { ConditionNode } from './condition/ast.ts'
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
  if (pinned(condition, false, ANY_FIELD)) return []
  const reasons: CrossTenantReason[] = [{ kind: 'unpinned_branch' }]
  const literalColumns = new Set<string>()
  collectTenantLiterals(condition, tenantColumns, literalColumns)
  for (const column of literalColumns) reasons.push({ kind: 'tenant_literal', column })
  return reasons
}

/**
 * The columns through which a permissive rule on a model with a tenant boundary reaches other tenants by a
 * claim that is not a tenant (undefined when it does not): some branch ties rows to the principal only through columns outside `tenantColumns`
 * (`owner_id = principal.userId`). `publicBranches`: a branch that ties rows to no claim at all is accepted
 * (a model without scoping, where `is_public = true OR tenant_id = principal.tenantId` is the shared-resources
 * pattern); on a scoped model such a branch is crossTenantReasons' `unpinned_branch`, so it is not judged here.
 */
export function nonTenantClaims(
  condition: ConditionNode,
  tenantColumns: ReadonlySet<string>,
  publicBranches: boolean,
): readonly string[] | undefined {
  const isTenant = (field: string): boolean => tenantColumns.has(field)
  const ok = publicBranches
    ? tenantSafe(condition, false, isTenant)
    : !pinned(condition, false, ANY_FIELD) || pinned(condition, false, isTenant)
  if (ok) return undefined
  const columns = new Set<string>()
  collectPins(condition, false, (field) => !isTenant(field), columns)
  return [...columns].sort()
}

const ANY_FIELD = (): boolean => true

/** The field a leaf pins to a principal value (`field = principal.x`, `field IN principal.x`), if it does. */
function pinnedField(node: ConditionNode, negate: boolean): string | undefined {
  if (negate) return undefined
  if (node.kind === 'compare' && node.op === '=') {
    if (node.left.kind === 'field' && node.right.kind === 'principal') return node.left.name
    if (node.left.kind === 'principal' && node.right.kind === 'field') return node.right.name
  }
  if (node.kind === 'in' && !node.negated && node.left.kind === 'field' && node.right.kind === 'principal') {
    return node.left.name
  }
  return undefined
}

/**
 * True when every way the condition can hold requires a row field accepted by `field` to equal a principal
 * value. `negate`: the node sits under an odd number of NOTs (De Morgan: AND and OR swap, leaves are negated).
 */
function pinned(node: ConditionNode, negate: boolean, field: (name: string) => boolean): boolean {
  switch (node.kind) {
    case 'and':
    case 'or': {
      const conjunction = (node.kind === 'and') !== negate
      // A conjunction holds only when all its parts do: one pinned part pins it. A disjunction holds when any
      // part does: each part must be pinned.
      return conjunction
        ? node.operands.some((o) => pinned(o, negate, field))
        : node.operands.every((o) => pinned(o, negate, field))
    }
    case 'not':
      return pinned(node.operand, !negate, field)
    case 'bool':
      // TRUE holds for every row; FALSE never holds, so it grants nothing and widens nothing.
      return node.value === negate
    case 'compare':
    case 'in':
    case 'is_null': {
      const name = pinnedField(node, negate)
      return name !== undefined && field(name)
    }
    default: {
      const never: never = node
      throw new Error(`unhandled condition node ${String(never)}`)
    }
  }
}

/**
 * True when every way the condition can hold is pinned to a tenant column or pinned to no claim at all. A
 * conjunction is safe when one part pins a tenant (every branch then does) or every part is safe (each branch
 * joins safe branches); a disjunction when every part is. Sound, not complete: it may refuse a rule whose unsafe
 * branches are contradictions.
 */
function tenantSafe(node: ConditionNode, negate: boolean, isTenant: (name: string) => boolean): boolean {
  switch (node.kind) {
    case 'and':
    case 'or': {
      const conjunction = (node.kind === 'and') !== negate
      return conjunction
        ? node.operands.some((o) => pinned(o, negate, isTenant)) ||
            node.operands.every((o) => tenantSafe(o, negate, isTenant))
        : node.operands.every((o) => tenantSafe(o, negate, isTenant))
    }
    case 'not':
      return tenantSafe(node.operand, !negate, isTenant)
    case 'bool':
      return true
    case 'compare':
    case 'in':
    case 'is_null': {
      const name = pinnedField(node, negate)
      return name === undefined || isTenant(name)
    }
    default: {
      const never: never = node
      throw new Error(`unhandled condition node ${String(never)}`)
    }
  }
}

/** Every field a leaf pins to the principal that `field` accepts (for the message). */
function collectPins(
  node: ConditionNode,
  negate: boolean,
  field: (name: string) => boolean,
  out: Set<string>,
): void {
  switch (node.kind) {
    case 'and':
    case 'or':
      for (const o of node.operands) collectPins(o, negate, field, out)
      return
    case 'not':
      collectPins(node.operand, !negate, field, out)
      return
    case 'bool':
      return
    case 'compare':
    case 'in':
    case 'is_null': {
      const name = pinnedField(node, negate)
      if (name !== undefined && field(name)) out.add(name)
      return
    }
    default: {
      const never: never = node
      throw new Error(`unhandled condition node ${String(never)}`)
    }
  }
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
