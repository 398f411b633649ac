/**
 * What a condition refers to: row fields and principal paths. The policy validator uses these to check
 * fields against the schema and to require that bypass rules test only the principal; the compiler uses
 * `isPrincipalOnly` to decide such parts before any SQL is built.
 */
import { TesseraError } from '../../errors/index.ts'
import type { ConditionNode, OperandNode, PrincipalPath } from './ast.ts'

/** Field names in order of first appearance, without duplicates. */
export function referencedFields(node: ConditionNode): string[] {
  const names = new Set<string>()
  forEachOperand(node, (o) => {
    if (o.kind === 'field') names.add(o.name)
  })
  return [...names]
}

/** Principal paths in order of first appearance, without duplicates (compared by their dotted form). */
export function referencedPrincipalPaths(node: ConditionNode): PrincipalPath[] {
  const paths = new Map<string, PrincipalPath>()
  forEachOperand(node, (o) => {
    if (o.kind === 'principal' && !paths.has(o.path.join('.'))) paths.set(o.path.join('.'), o.path)
  })
  return [...paths.values()]
}

/** True when the condition mentions no row field, so its value depends on the principal alone. */
export function isPrincipalOnly(node: ConditionNode): boolean {
  return referencedFields(node).length === 0
}

export function forEachOperand(node: ConditionNode, visit: (operand: OperandNode) => void): void {
  switch (node.kind) {
    case 'bool':
      return
    case 'and':
    case 'or':
      for (const o of node.operands) forEachOperand(o, visit)
      return
    case 'not':
      forEachOperand(node.operand, visit)
      return
    case 'compare':
      visit(node.left)
      visit(node.right)
      return
    case 'in':
      visit(node.left)
      if (node.right.kind === 'list') node.right.items.forEach((item) => visit(item))
      else if (node.right.kind !== 'claimList') visit(node.right)
      return
    case 'is_null':
      visit(node.operand)
      return
    default:
      throw new TesseraError(
        'INTERNAL_ERROR',
        `Unhandled condition node ${JSON.stringify(node satisfies never)}`,
      )
  }
}
