/**
 * Binds a row-policy condition to one principal: every principal operand that is compared with a field becomes
 * a literal of that field's column type, in a canonical form (lower-case uuid, numeric as an exact number where
 * it round-trips). Afterwards the SQL compiler and the in-memory evaluator see the same typed values, so they
 * agree (a principal `'A0…'` against a uuid column, or `'1.5'` against numeric `1.50`, used to differ), and a
 * principal value that cannot be a value of the column fails closed here — the database never parses it.
 */
import type { Principal } from '../context/index.ts'
import { tenantScopeRequired } from '../errors/index.ts'
import {
  type ConditionNode,
  type Literal,
  type OperandNode,
  evaluateCondition,
  formatPrincipalPath,
  isPrincipalOnly,
  requirePrincipalList,
  requirePrincipalScalar,
  type BoundField,
  type BoundModel,
} from '../policy/index.ts'
import { type CanonicalText, type ColumnInfo, isCanonicalText } from '../schema/index.ts'
import { coerceFilterValue } from '../request/index.ts'

/**
 * A principal value as a value of `column`, canonical; TENANT_SCOPE_REQUIRED when it cannot be one, or when
 * `tenantText` is set (the column is a tenant column: BoundField.tenantText) and a text value is not that
 * canonical text — `'01'` would otherwise read tenant 1's rows (docs/decisions.md, "A principal names its tenant
 * in the column's canonical text"). Same error, same bytes, as a value that fits no row of the column.
 */
export function principalValueFor(
  column: ColumnInfo,
  value: unknown,
  source: string,
  tenantText: CanonicalText | null,
): Exclude<Literal, null> {
  if (tenantText !== null && typeof value === 'string' && !isCanonicalText(tenantText, value)) {
    throw tenantScopeRequired(source)
  }
  let coerced: unknown
  try {
    coerced = coerceFilterValue(column, 'eq', value, source)
  } catch {
    throw tenantScopeRequired(source)
  }
  switch (column.typeClass) {
    case 'uuid':
      return String(coerced).toLowerCase()
    case 'bigint':
      return BigInt(String(coerced)).toString()
    case 'numeric':
      return exactNumber(String(coerced))
    default:
      if (typeof coerced === 'string' || typeof coerced === 'number' || typeof coerced === 'boolean')
        return coerced
      throw tenantScopeRequired(source)
  }
}

/** A decimal string as a JS number when the number prints back as the same decimal, else the string. */
function exactNumber(text: string): number | string {
  const n = Number(text)
  return Number.isFinite(n) && canonicalDecimal(String(n)) === canonicalDecimal(text)
    ? n
    : canonicalDecimal(text)
}

function canonicalDecimal(text: string): string {
  const negative = text.startsWith('-')
  const [whole = '0', fraction = ''] = (negative ? text.slice(1) : text).split('.')
  const w = whole.replace(/^0+(?=\d)/, '')
  const f = fraction.replace(/0+$/, '')
  const body = f === '' ? w : `${w}.${f}`
  return negative && body !== '0' ? `-${body}` : body
}

/**
 * A row-policy condition bound to one principal, for a plan: every part that mentions no row field is decided
 * now (evaluateCondition, three-valued) and becomes a constant `bool` node; every remaining principal operand
 * becomes a `claim` (or `claimList`) node holding its value — typed for the column it is compared with where
 * there is one — and the principal path it came from. The result holds no principal operand, so src/sql/ and
 * the in-memory twins (row-visibility.ts, write-check.ts) evaluate it without the principal, and a plan's
 * shape no longer depends on whose plan it is. `x = NULL` comparisons are decided too (NULL on every row),
 * so no printer has to look at a value to choose its SQL.
 *
 * Throws TENANT_SCOPE_REQUIRED exactly where evaluateCondition would on the unbound condition: every part is
 * visited, so failing closed does not depend on which part would have decided. `model` null binds claim values
 * as the principal holds them, untyped (for conditions outside any model, e.g. in tests of the printers).
 */
export function bindConditionToPrincipal(
  node: ConditionNode,
  model: BoundModel | null,
  principal: Principal,
): ConditionNode {
  let shared = principalFreeBindings.get(node)
  if (shared === undefined) {
    shared = isPrincipalFree(node) ? freezeDeep(bindToPrincipal(node, model, principal)) : null
    principalFreeBindings.set(node, shared)
    if (shared !== null) sharedBindings.add(shared)
  }
  return shared ?? bindToPrincipal(node, model, principal)
}

/**
 * Bound forms of the policy's conditions that mention no principal — a literal rule (`status <> 'void'`,
 * `is_public = true`) or such a part of a rule — by the policy's node: binding one reads neither the
 * principal nor the model (only principal operands are typed for a column, and the parts decided in memory
 * hold literals only), so it gives the same for every call; made once, deep-frozen, and shared by every plan.
 * `null` marks a node that is not one of those. Keyed by identity, and only deep-frozen nodes (the bound
 * policy's) are taken, so a key never changes after its entry is made.
 */
const principalFreeBindings = new WeakMap<ConditionNode, ConditionNode | null>()
const sharedBindings = new WeakSet<ConditionNode>()

/**
 * Whether `node` is a shared bound form (above): deep-frozen, made here, the same for every plan — so whatever is
 * derived from it alone (the read fast path's key of it) may be remembered by its identity.
 */
export function isSharedBinding(node: ConditionNode): boolean {
  return sharedBindings.has(node)
}

/** A deep-frozen condition whose operands are all fields and literals. */
function isPrincipalFree(node: ConditionNode): boolean {
  if (!Object.isFrozen(node)) return false
  switch (node.kind) {
    case 'bool':
      return true
    case 'and':
    case 'or':
      return Object.isFrozen(node.operands) && node.operands.every(isPrincipalFree)
    case 'not':
      return isPrincipalFree(node.operand)
    case 'compare':
      return isStaticOperand(node.left) && isStaticOperand(node.right)
    case 'is_null':
      return isStaticOperand(node.operand)
    case 'in': {
      const right = node.right
      if (!isStaticOperand(node.left) || !Object.isFrozen(right)) return false
      if (right.kind === 'list') return Object.isFrozen(right.items) && right.items.every(isStaticOperand)
      return right.kind !== 'claimList' && isStaticOperand(right)
    }
    default: {
      const never: never = node
      throw new Error(`unhandled condition kind ${String(never)}`)
    }
  }
}

function isStaticOperand(operand: OperandNode): boolean {
  return Object.isFrozen(operand) && (operand.kind === 'field' || operand.kind === 'literal')
}

/**
 * isPrincipalOnly of a policy node, remembered for deep-frozen nodes (the bound policy's): the binder asks it at
 * every node of a rule on every call, and each answer walks the node's whole subtree.
 */
const principalOnlyNodes = new WeakMap<ConditionNode, boolean>()

function principalOnly(node: ConditionNode): boolean {
  let only = principalOnlyNodes.get(node)
  if (only === undefined) {
    only = isPrincipalOnly(node)
    if (isDeepFrozen(node)) principalOnlyNodes.set(node, only)
  }
  return only
}

function isDeepFrozen(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return true
  if (!Object.isFrozen(value)) return false
  for (const member of Object.values(value)) if (!isDeepFrozen(member)) return false
  return true
}

function freezeDeep<T>(value: T): T {
  if (typeof value !== 'object' || value === null || Object.isFrozen(value)) return value
  for (const member of Object.values(value)) freezeDeep(member)
  return Object.freeze(value)
}

function bindToPrincipal(node: ConditionNode, model: BoundModel | null, principal: Principal): ConditionNode {
  if (principalOnly(node)) return { kind: 'bool', value: evaluateCondition(node, {}, principal) }
  const columnOf = (operand: OperandNode): BoundField | undefined =>
    model !== null && operand.kind === 'field' && Object.hasOwn(model.fields, operand.name)
      ? model.fields[operand.name]
      : undefined
  /** A principal operand as a claim: typed for `field`'s column when it is compared with one, else as it is. */
  const claim = (operand: OperandNode, field: BoundField | undefined): OperandNode => {
    if (operand.kind !== 'principal') return operand
    const value = requirePrincipalScalar(principal, operand.path)
    if (field === undefined) return { kind: 'claim', path: operand.path, value }
    return {
      kind: 'claim',
      path: operand.path,
      value: principalValueFor(field.column, value, formatPrincipalPath(operand.path), field.tenantText),
    }
  }
  switch (node.kind) {
    case 'and':
    case 'or':
      return {
        kind: node.kind,
        operands: node.operands.map((o) => bindConditionToPrincipal(o, model, principal)),
      }
    case 'not':
      return { kind: 'not', operand: bindConditionToPrincipal(node.operand, model, principal) }
    case 'compare': {
      const left = claim(node.left, columnOf(node.right))
      const right = claim(node.right, columnOf(node.left))
      if (isNullValue(left) || isNullValue(right)) return { kind: 'bool', value: null }
      return { ...node, left, right }
    }
    case 'in': {
      const right = node.right
      const field = columnOf(node.left)
      const left = claim(node.left, undefined)
      if (right.kind === 'principal') {
        const source = formatPrincipalPath(right.path)
        const values = requirePrincipalList(principal, right.path).map((v) =>
          v === null || field === undefined
            ? (v as Literal)
            : principalValueFor(field.column, v, source, field.tenantText),
        )
        return { ...node, left, right: { kind: 'claimList', path: right.path, values } }
      }
      if (right.kind === 'list') {
        // An item beside a field left operand takes that field's type; beside anything else it stays as it is.
        return { ...node, left, right: { kind: 'list', items: right.items.map((i) => claim(i, field)) } }
      }
      return { ...node, left }
    }
    case 'is_null':
    case 'bool':
      return node
    default: {
      const never: never = node
      throw new Error(`unhandled condition kind ${String(never)}`)
    }
  }
}

function isNullValue(operand: OperandNode): boolean {
  return (operand.kind === 'literal' || operand.kind === 'claim') && operand.value === null
}

/**
 * A row-policy condition bound to claims rather than to one principal: the form the database enforces under
 * RLS (src/rls prints it into the generated policies). Every principal operand becomes a `claim` (or
 * `claimList`) node keeping its path — the claim the executor sets for each call — and nothing is decided
 * now, because the value is not known until a call sets it: parts that mention no row field stay, for the
 * database to decide over the claims. The nodes carry no value (`null`, `[]`): only a printer that reads the
 * claim by its path may print this form; a plan never holds it (plans hold bindConditionToPrincipal's form).
 */
export function bindConditionToClaims(node: ConditionNode): ConditionNode {
  const claim = (operand: OperandNode): OperandNode =>
    operand.kind === 'principal' ? { kind: 'claim', path: operand.path, value: null } : operand
  switch (node.kind) {
    case 'and':
    case 'or':
      return { kind: node.kind, operands: node.operands.map(bindConditionToClaims) }
    case 'not':
      return { kind: 'not', operand: bindConditionToClaims(node.operand) }
    case 'compare':
      return { ...node, left: claim(node.left), right: claim(node.right) }
    case 'in': {
      const right = node.right
      const left = claim(node.left)
      if (right.kind === 'principal')
        return { ...node, left, right: { kind: 'claimList', path: right.path, values: [] } }
      if (right.kind === 'list')
        return { ...node, left, right: { kind: 'list', items: right.items.map(claim) } }
      return { ...node, left }
    }
    case 'is_null':
      return { ...node, operand: claim(node.operand) }
    case 'bool':
      return node
    default: {
      const never: never = node
      throw new Error(`unhandled condition kind ${String(never)}`)
    }
  }
}
