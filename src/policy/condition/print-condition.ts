/**
 * Canonical text of a condition: upper-case keywords, lower-case literals, `!=` for `<>`, and parentheses
 * exactly where precedence needs them, so `tryParseCondition(printCondition(ast))` gives back `ast`. Used in
 * messages, the audit and generated RLS comments.
 */
import { TesseraError } from '../../errors/index.ts'
import { formatPrincipalPath } from '../principal-path.ts'
import type { ConditionNode, Literal, OperandNode } from './ast.ts'

export function printCondition(node: ConditionNode): string {
  switch (node.kind) {
    case 'bool':
      return node.value === null ? 'NULL' : node.value ? 'TRUE' : 'FALSE'
    case 'and':
      // Only OR binds looser than AND. A nested AND or OR of the same kind needs no parentheses: the parser
      // flattens it anyway (and the two are equivalent).
      return node.operands.map((o) => (o.kind === 'or' ? group(o) : printCondition(o))).join(' AND ')
    case 'or':
      return node.operands.map(printCondition).join(' OR ')
    case 'not': {
      const inner = node.operand
      return `NOT ${inner.kind === 'and' || inner.kind === 'or' ? group(inner) : printCondition(inner)}`
    }
    case 'compare':
      return `${printOperand(node.left)} ${node.op} ${printOperand(node.right)}`
    case 'in': {
      const right =
        node.right.kind === 'list'
          ? `(${node.right.items.map(printOperand).join(', ')})`
          : node.right.kind === 'claimList'
            ? formatPrincipalPath(node.right.path)
            : printOperand(node.right)
      return `${printOperand(node.left)} ${node.negated ? 'NOT IN' : 'IN'} ${right}`
    }
    case 'is_null':
      return `${printOperand(node.operand)} IS ${node.negated ? 'NOT NULL' : 'NULL'}`
    default:
      return assertNever(node)
  }
}

export function printOperand(operand: OperandNode): string {
  switch (operand.kind) {
    case 'field':
      return operand.name
    case 'principal':
    case 'claim': // a bound claim prints as the path it came from
      return formatPrincipalPath(operand.path)
    case 'literal':
      return printLiteral(operand.value)
    default:
      return assertNever(operand)
  }
}

function printLiteral(value: Literal): string {
  if (value === null) return 'null'
  if (typeof value === 'boolean') return value ? 'true' : 'false'
  if (typeof value === 'number') return plainDecimal(value)
  return `'${value.replaceAll("'", "''")}'`
}

function group(node: ConditionNode): string {
  return `(${printCondition(node)})`
}

/** The language has no exponent notation: `1e-7` is printed as `0.0000001`, with the same digits. */
function plainDecimal(value: number): string {
  const text = String(value === 0 ? 0 : value)
  const match = /^(-?)(\d)(?:\.(\d+))?e([+-]\d+)$/.exec(text)
  if (!match) return text
  const [, sign = '', lead = '', fraction = '', exponentText = '0'] = match
  const digits = lead + fraction
  const point = 1 + Number(exponentText)
  if (point <= 0) return `${sign}0.${'0'.repeat(-point)}${digits}`
  if (point >= digits.length) return `${sign}${digits}${'0'.repeat(point - digits.length)}`
  return `${sign}${digits.slice(0, point)}.${digits.slice(point)}`
}

function assertNever(value: never): never {
  throw new TesseraError('INTERNAL_ERROR', `Unhandled condition node ${JSON.stringify(value)}`)
}
