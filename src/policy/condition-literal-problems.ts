/**
 * Type-checks the literals of a row-policy condition against the columns they are compared with. A condition
 * such as `is_public = 'yes'` on a boolean column would make every query on the model fail at run time (or,
 * worse, match nothing silently), so it is a load error instead.
 */
import { internalError } from '../errors/index.ts'
import { type ColumnInfo, type TableInfo, findColumn } from '../schema/index.ts'
import type { ConditionNode, Literal, OperandNode } from './condition/ast.ts'

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i
const INTEGER_TEXT = /^-?[0-9]+$/
const DECIMAL_TEXT = /^-?[0-9]+(\.[0-9]+)?$/
const INT4_MIN = -2_147_483_648
const INT4_MAX = 2_147_483_647

/** Messages (without path) for every literal that cannot be compared with its column. */
export function conditionLiteralProblems(node: ConditionNode, table: TableInfo): string[] {
  const out: string[] = []
  visit(node, table, out)
  return out
}

function visit(node: ConditionNode, table: TableInfo, out: string[]): void {
  switch (node.kind) {
    case 'and':
    case 'or':
      for (const operand of node.operands) visit(operand, table, out)
      return
    case 'not':
      visit(node.operand, table, out)
      return
    case 'compare':
      comparePair(node.left, node.right, table, out)
      comparePair(node.right, node.left, table, out)
      return
    case 'in': {
      const right = node.right
      if (right.kind === 'list') {
        for (const item of right.items) comparePair(node.left, item, table, out)
      }
      return
    }
    case 'is_null':
    case 'bool':
      return
    default: {
      const unhandled: never = node
      throw internalError(undefined, unhandled)
    }
  }
}

function comparePair(
  fieldSide: OperandNode,
  literalSide: OperandNode,
  table: TableInfo,
  out: string[],
): void {
  if (fieldSide.kind !== 'field' || literalSide.kind !== 'literal') return
  const column = findColumn(table, fieldSide.name)
  if (!column) return // unknown columns are reported by the caller
  const reason = literalMismatch(column, literalSide.value)
  if (reason) out.push(reason)
}

function literalMismatch(column: ColumnInfo, value: Literal): string | undefined {
  if (value === null) {
    return `compares column '${column.name}' with null, which never matches: use IS NULL or IS NOT NULL`
  }
  const shown = typeof value === 'string' ? `'${value}'` : String(value)
  const mismatch = `compares ${column.typeClass} column '${column.name}' with ${typeof value} ${shown}`
  switch (column.typeClass) {
    case 'string':
    case 'timestamp':
      return typeof value === 'string' ? undefined : mismatch
    case 'uuid':
      if (typeof value !== 'string') return mismatch
      return UUID.test(value) ? undefined : `${mismatch}, which is not a valid uuid`
    case 'boolean':
      return typeof value === 'boolean' ? undefined : mismatch
    case 'integer':
      return typeof value === 'number' && Number.isInteger(value) && value >= INT4_MIN && value <= INT4_MAX
        ? undefined
        : mismatch
    case 'bigint':
      if (typeof value === 'number') return Number.isSafeInteger(value) ? undefined : mismatch
      return typeof value === 'string' && INTEGER_TEXT.test(value) ? undefined : mismatch
    case 'numeric':
      if (typeof value === 'number') return Number.isFinite(value) ? undefined : mismatch
      return typeof value === 'string' && DECIMAL_TEXT.test(value) ? undefined : mismatch
    case 'float':
      return typeof value === 'number' ? undefined : mismatch
    case 'other':
      // Enums, inet, money and friends accept their text form; the database checks the value.
      return typeof value === 'string' || typeof value === 'number' ? undefined : mismatch
    case 'json':
    case 'bytea':
    case 'array':
      return `compares ${column.typeClass} column '${column.name}' with a literal, which row policies do not support`
    default: {
      const unhandled: never = column.typeClass
      throw internalError(undefined, unhandled)
    }
  }
}
