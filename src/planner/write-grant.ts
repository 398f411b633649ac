/**
 * The part of a permissive row policy that may grant a WRITE, for models scoped only through permissive rules.
 *
 * A permissive rule grants reading a row; parts of it that do not depend on who is asking (`is_public = true`)
 * share rows with everybody, they do not make a row the caller's own. Were the whole rule used as the write
 * check, the shared-resources pattern `is_public = true OR tenant_id = principal.tenantId` would let tenant A
 * update, delete or create public rows of tenant B. So for writes each rule is reduced to the disjuncts that
 * mention the principal: in negation normal form, a leaf that mentions no principal path grants nothing on its
 * own (FALSE), an OR keeps its granting branches, and an AND is kept when some conjunct mentions the principal
 * (its other conjuncts stay as conditions). The result implies the rule, so a write grant never exceeds read
 * visibility, and it is equivalent under SQL's three-valued logic to what it keeps (NOT is pushed down with De
 * Morgan's laws, which hold in three-valued logic).
 *
 * The write path plans visibility for `writeModelOf(model)`, whose permissive rules are replaced by their write
 * grants before planVisibility binds them to the principal (binding erases which operands came from the
 * principal, so the reduction must come first). Target rows, WITH CHECK in memory and in SQL then all use it.
 */
import type { Principal } from '../context/index.ts'
import { type ConditionNode, referencedPrincipalPaths, type BoundModel } from '../policy/index.ts'
import { bindConditionToPrincipal } from './bind-principal-values.ts'
import type { VisibilityPlan } from './query-plan.ts'

const FALSE: ConditionNode = Object.freeze({ kind: 'bool', value: false })

const memo = new WeakMap<ConditionNode, ConditionNode>()
const writeModels = new WeakMap<BoundModel, BoundModel>()

/** `model` with each permissive rule reduced to its write grant (memoised: bound models are frozen). */
export function writeModelOf(model: BoundModel): BoundModel {
  let writeModel = writeModels.get(model)
  if (writeModel === undefined) {
    const rowPolicies = model.policy.rowPolicies.map((rule) =>
      rule.mode === 'permissive' && !rule.bypass
        ? Object.freeze({ ...rule, condition: writeGrantCondition(rule.condition) })
        : rule,
    )
    writeModel = Object.freeze({ ...model, policy: Object.freeze({ ...model.policy, rowPolicies }) })
    writeModels.set(model, writeModel)
  }
  return writeModel
}

/**
 * The write visibility with the model's tenant pins (policy/tenant-pins.ts) added as restrictive rules, so
 * the in-memory check, the UPDATE/DELETE target predicate and the SQL WITH CHECK all require them. A bypass
 * lifts them, as it lifts the scoping; a shared model has none. A pin whose principal value does not resolve,
 * or cannot be a value of the column, is TENANT_SCOPE_REQUIRED (bindConditionToPrincipal).
 */
export function withTenantPins(v: VisibilityPlan, model: BoundModel, principal: Principal): VisibilityPlan {
  if (v.bypass !== null || v.shared || model.tenantPins.length === 0) return v
  const pins = model.tenantPins.map((pin) => ({
    name: `tenant pin ${pin.column}`,
    condition: bindConditionToPrincipal(
      {
        kind: 'compare',
        op: '=',
        left: { kind: 'field', name: pin.column },
        right: { kind: 'principal', path: pin.path },
      },
      model,
      principal,
    ),
  }))
  return { ...v, restrictive: [...v.restrictive, ...pins] }
}

/** The write-granting part of a permissive rule's condition (memoised: conditions are frozen, parsed once). */
export function writeGrantCondition(condition: ConditionNode): ConditionNode {
  let grant = memo.get(condition)
  if (grant === undefined) {
    grant = Object.freeze(owned(negationNormalForm(condition, false)))
    memo.set(condition, grant)
  }
  return grant
}

function mentionsPrincipal(node: ConditionNode): boolean {
  return referencedPrincipalPaths(node).length > 0
}

/** NOT pushed down to the leaves; a negated leaf becomes `not(leaf)`. */
function negationNormalForm(node: ConditionNode, negate: boolean): ConditionNode {
  switch (node.kind) {
    case 'and':
    case 'or': {
      const kind = negate ? (node.kind === 'and' ? 'or' : 'and') : node.kind
      return { kind, operands: node.operands.map((o) => negationNormalForm(o, negate)) }
    }
    case 'not':
      return negationNormalForm(node.operand, !negate)
    case 'bool':
      return negate ? { kind: 'bool', value: !node.value } : node
    case 'compare':
    case 'in':
    case 'is_null':
      return negate ? { kind: 'not', operand: node } : node
    default: {
      const never: never = node
      throw new Error(`unhandled condition node ${String(never)}`)
    }
  }
}

/** `node` is in negation normal form: `not` only wraps a leaf. */
function owned(node: ConditionNode): ConditionNode {
  switch (node.kind) {
    case 'or':
      return junction(
        'or',
        node.operands.map(owned).filter((o) => !(o.kind === 'bool' && !o.value)),
      )
    case 'and':
      if (!mentionsPrincipal(node)) return FALSE
      return junction(
        'and',
        node.operands.map((o) => (mentionsPrincipal(o) ? owned(o) : o)),
      )
    case 'not':
    case 'bool':
    case 'compare':
    case 'in':
    case 'is_null':
      return mentionsPrincipal(node) ? node : FALSE
    default: {
      const never: never = node
      throw new Error(`unhandled condition node ${String(never)}`)
    }
  }
}

/** AND / OR nodes hold two or more operands (ast.ts); fewer collapse. */
function junction(kind: 'and' | 'or', operands: readonly ConditionNode[]): ConditionNode {
  if (operands.length === 0) return kind === 'or' ? FALSE : { kind: 'bool', value: true }
  if (operands.length === 1) return operands[0] as ConditionNode
  return { kind, operands }
}
