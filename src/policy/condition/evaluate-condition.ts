/**
 * In-memory evaluation of a condition against one row and a principal, with PostgreSQL's three-valued logic:
 * TRUE, FALSE or null (unknown). Only TRUE means "visible" / "allowed". The SQL compiler
 * (src/sql/print-condition.ts) must agree with this function on every row; a differential test checks it.
 *
 * Every node is evaluated, with no short-circuit, so a principal path that does not resolve throws whatever the
 * row holds: failing closed must not depend on which row happened to be looked at first.
 */
import type { Principal } from '../../context/index.ts'
import { TesseraError, internalError } from '../../errors/index.ts'
import { requirePrincipalList, requirePrincipalScalar, resolvePrincipalPath } from '../principal-path.ts'
import type { ConditionNode, OperandNode } from './ast.ts'
import { compareHolds } from './compare-values.ts'

export { isPrincipalOnly, referencedFields, referencedPrincipalPaths } from './condition-references.ts'

export type Row = Readonly<Record<string, unknown>>

/**
 * `row` must hold every field the condition names (an own property; undefined counts as null). A field that
 * is missing is a caller bug and throws INTERNAL_ERROR rather than being read as null.
 * A principal path that does not resolve, or holds the wrong shape (a list where one value is compared, a
 * single value after IN), throws TENANT_SCOPE_REQUIRED. IS [NOT] NULL on a principal path is the exception:
 * it tests exactly that, so a missing value is null there.
 *
 * `principal` is null for a condition bound into a plan (no principal operand left, only claims): meeting a
 * principal operand then is a planner bug and throws INTERNAL_ERROR.
 */
export function evaluateCondition(
  node: ConditionNode,
  row: Row,
  principal: Principal | null,
): boolean | null {
  switch (node.kind) {
    case 'bool':
      return node.value
    case 'and':
      return node.operands.map((o) => evaluateCondition(o, row, principal)).reduce(and3, true)
    case 'or':
      return node.operands.map((o) => evaluateCondition(o, row, principal)).reduce(or3, false)
    case 'not': {
      const value = evaluateCondition(node.operand, row, principal)
      return value === null ? null : !value
    }
    case 'compare':
      return compareHolds(
        node.op,
        operandValue(node.left, row, principal),
        operandValue(node.right, row, principal),
      )
    case 'in':
      return evaluateIn(node, row, principal)
    case 'is_null': {
      const isNull = nullableValue(node.operand, row, principal) === null
      return node.negated ? !isNull : isNull
    }
    default:
      return assertNever(node)
  }
}

/** `x IN (list)` is `x = ANY(list)` and `x NOT IN (list)` is `x <> ALL(list)`, nulls included. */
function evaluateIn(
  node: Extract<ConditionNode, { kind: 'in' }>,
  row: Row,
  principal: Principal | null,
): boolean | null {
  const left = operandValue(node.left, row, principal)
  const items = inItems(node.right, row, principal)
  if (items === null) return null
  return node.negated
    ? items.map((item) => compareHolds('!=', left, item)).reduce(and3, true)
    : items.map((item) => compareHolds('=', left, item)).reduce(or3, false)
}

/** The values right of IN, or null when they are unknown (an array field that is NULL or not an array). */
function inItems(
  right: Extract<ConditionNode, { kind: 'in' }>['right'],
  row: Row,
  principal: Principal | null,
): readonly unknown[] | null {
  switch (right.kind) {
    case 'list':
      return right.items.map((item) => operandValue(item, row, principal))
    case 'principal':
      return requirePrincipalList(bound(principal), right.path)
    case 'claimList':
      return right.values
    case 'field': {
      const value = fieldValue(row, right.name)
      return Array.isArray(value) ? value : null
    }
    case 'literal':
    case 'claim':
      throw new TesseraError('POLICY_INVALID', 'IN needs a list, a principal path or an array field')
    default:
      return assertNever(right)
  }
}

function operandValue(operand: OperandNode, row: Row, principal: Principal | null): unknown {
  switch (operand.kind) {
    case 'field':
      return fieldValue(row, operand.name)
    case 'literal':
      return operand.value
    case 'principal':
      return requirePrincipalScalar(bound(principal), operand.path)
    case 'claim':
      return operand.value
    default:
      return assertNever(operand)
  }
}

function bound(principal: Principal | null): Principal {
  if (principal === null) throw internalError(undefined, new Error('unbound principal operand in a plan'))
  return principal
}

/** For IS [NOT] NULL: a principal path that does not resolve is null instead of an error. */
function nullableValue(operand: OperandNode, row: Row, principal: Principal | null): unknown {
  if (operand.kind !== 'principal') return operandValue(operand, row, principal) ?? null
  const resolved = resolvePrincipalPath(bound(principal), operand.path)
  return resolved.found ? resolved.value : null
}

function fieldValue(row: Row, name: string): unknown {
  if (!Object.hasOwn(row, name)) {
    throw internalError(undefined, new Error(`condition field '${name}' is missing from the evaluated row`))
  }
  return row[name] ?? null
}

function and3(a: boolean | null, b: boolean | null): boolean | null {
  if (a === false || b === false) return false
  return a === null || b === null ? null : true
}

function or3(a: boolean | null, b: boolean | null): boolean | null {
  if (a === true || b === true) return true
  return a === null || b === null ? null : false
}

function assertNever(value: never): never {
  throw new TesseraError('INTERNAL_ERROR', `Unhandled condition node ${JSON.stringify(value)}`)
}
