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
  formatPrincipalPath,
  requirePrincipalList,
  requirePrincipalScalar,
  type BoundModel,
} from '../policy/index.ts'
import type { ColumnInfo } from '../schema/index.ts'
import { coerceFilterValue } from '../request/index.ts'

/** A principal value as a value of `column`, canonical; TENANT_SCOPE_REQUIRED when it cannot be one. */
export function principalValueFor(
  column: ColumnInfo,
  value: unknown,
  source: string,
): Exclude<Literal, null> {
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

export function bindConditionToPrincipal(
  node: ConditionNode,
  model: BoundModel,
  principal: Principal,
): ConditionNode {
  const columnOf = (operand: OperandNode): ColumnInfo | undefined =>
    operand.kind === 'field' && Object.hasOwn(model.fields, operand.name)
      ? model.fields[operand.name]?.column
      : undefined
  const literal = (column: ColumnInfo, operand: OperandNode): OperandNode => {
    if (operand.kind !== 'principal') return operand
    const value = requirePrincipalScalar(principal, operand.path)
    return { kind: 'literal', value: principalValueFor(column, value, formatPrincipalPath(operand.path)) }
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
      const leftColumn = columnOf(node.left)
      const rightColumn = columnOf(node.right)
      if (leftColumn && node.right.kind === 'principal')
        return { ...node, right: literal(leftColumn, node.right) }
      if (rightColumn && node.left.kind === 'principal')
        return { ...node, left: literal(rightColumn, node.left) }
      return node
    }
    case 'in': {
      const column = columnOf(node.left)
      if (!column) return node
      const right = node.right
      if (right.kind === 'principal') {
        const source = formatPrincipalPath(right.path)
        const items = requirePrincipalList(principal, right.path).map((v): OperandNode => ({
          kind: 'literal',
          value: v === null ? null : principalValueFor(column, v, source),
        }))
        return { ...node, right: { kind: 'list', items } }
      }
      if (right.kind === 'list')
        return { ...node, right: { kind: 'list', items: right.items.map((i) => literal(column, i)) } }
      return node
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
