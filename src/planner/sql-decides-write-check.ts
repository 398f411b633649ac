/**
 * When the SQL WITH CHECK alone decides a single update (docs/decisions.md, "A write that decides itself commits
 * with its statement"). The in-memory check of an update reads the row as it will be: `data` over the row's
 * current values. Where it reads a column `data` does not set (the row's own tenant column, typically), it
 * reads Node's image of a value SQL has already compared — so it can only add something when SQL and Node
 * could compare that value differently: 'ACME' = 'acme' under a case-insensitive collation, a principal's
 * 'A0…' against a uuid column, a char(n) with trailing blanks. Where they provably cannot, the SQL check (which
 * aborts the statement on a failing row) decides exactly what the in-memory one would, and the update may commit
 * with its statement.
 *
 * Provable, here, is deliberately narrow: every rule the check reads through such a column compares only such
 * columns, each with a constant (a literal or a bound claim), by `=`, `!=`, IN, NOT IN or IS [NOT] NULL; each
 * column is one whose SQL `=` is exact equality of the values Node reads back (ColumnInfo.exactEquality:
 * text/varchar under a deterministic collation, int2/int4, uuid, boolean); and each constant is in the one form
 * that column's values take in Node (a well-formed string, a safe integer, a lower-case canonical uuid, a
 * boolean). Under those conditions each comparison is TRUE, FALSE or NULL alike in SQL and in memory, so the
 * rules, combined by the same three-valued AND / OR / NOT, are too. Anything else — an ordering comparison
 * (collation order is not code-unit order), a column compared with a written column or with another column, an
 * array field, a type or value outside the list, a schema built by hand — keeps the transaction and the
 * in-memory check before COMMIT.
 */
import type { ConditionNode, OperandNode } from '../policy/index.ts'
import { referencedFields } from '../policy/index.ts'
import type { ColumnInfo } from '../schema/index.ts'
import type { AppliedRowPolicy, VisibilityPlan } from './query-plan.ts'
import { writeGrants } from './write-check.ts'

/** A column of the written table by name; undefined when there is none (then nothing is provable). */
export type ColumnLookup = (name: string) => ColumnInfo | undefined

/**
 * True when, for every current row, the SQL WITH CHECK of the update is TRUE exactly when checkWrittenRow on
 * `{...row, ...data}` passes — given that checkWrittenRow on `data` alone did not fail (the rules it decides
 * from `data` alone hold). `set` is the columns `data` sets. Mirrors checkWrittenRow's structure: restrictive
 * rules, then (unless a bypass holds or the model is shared) the scopes, or the grants of a model without scoping.
 */
export function sqlDecidesWriteCheck(
  v: VisibilityPlan,
  set: ReadonlySet<string>,
  columnOf: ColumnLookup,
): boolean {
  const sameRule = (rule: AppliedRowPolicy): boolean =>
    referencedFields(rule.condition).every((f) => set.has(f)) || sameInSql(rule.condition, set, columnOf)
  if (!v.restrictive.every(sameRule)) return false
  if (v.bypass !== null || v.shared) return true
  if (v.scopes.length > 0) {
    return v.scopes.every(
      (scope) =>
        set.has(scope.column) || exactConstant(unsetColumn(scope.column, set, columnOf), scope.value),
    )
  }
  return writeGrants(v).every(sameRule)
}

/** Every comparison in `node` is between an unset exact column and constants in that column's form. */
function sameInSql(node: ConditionNode, set: ReadonlySet<string>, columnOf: ColumnLookup): boolean {
  switch (node.kind) {
    case 'bool':
      return true
    case 'and':
    case 'or':
      return node.operands.every((o) => sameInSql(o, set, columnOf))
    case 'not':
      return sameInSql(node.operand, set, columnOf)
    case 'compare': {
      if (node.op !== '=' && node.op !== '!=') return false
      const [field, other] = node.left.kind === 'field' ? [node.left, node.right] : [node.right, node.left]
      if (field.kind !== 'field') return false
      return exactConstant(unsetColumn(field.name, set, columnOf), constantOf(other))
    }
    case 'in': {
      if (node.left.kind !== 'field') return false
      const column = unsetColumn(node.left.name, set, columnOf)
      const right = node.right
      switch (right.kind) {
        case 'list':
          return right.items.every((item) => exactConstant(column, constantOf(item)))
        case 'claimList':
          return right.values.every((value) => exactConstant(column, value))
        case 'field':
        case 'literal':
        case 'claim':
        case 'principal':
          return false
        default: {
          const never: never = right
          throw new Error(`unhandled IN operand ${String(never)}`)
        }
      }
    }
    case 'is_null':
      return node.operand.kind === 'field' && unsetColumn(node.operand.name, set, columnOf) !== undefined
    default: {
      const never: never = node
      throw new Error(`unhandled condition kind ${String(never)}`)
    }
  }
}

/** The column, when `data` does not set it and its `=` is exact; undefined otherwise. */
function unsetColumn(name: string, set: ReadonlySet<string>, columnOf: ColumnLookup): ColumnInfo | undefined {
  if (set.has(name)) return undefined
  const column = columnOf(name)
  return column?.exactEquality === true ? column : undefined
}

/** Marks an operand that is not a constant (a field, an unbound principal). */
const NOT_CONSTANT: unique symbol = Symbol('not a constant')

function constantOf(operand: OperandNode): unknown {
  return operand.kind === 'literal' || operand.kind === 'claim' ? operand.value : NOT_CONSTANT
}

// A lone surrogate is sent as U+FFFD, so two different strings in Node could be one value in SQL.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/
const CANONICAL_UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

/**
 * `value` compared with `column` gives the same answer in SQL and in memory: it is null (NULL on both sides), or
 * in the one form the column's values take in Node, so that equal in SQL is identical in memory and back.
 */
function exactConstant(column: ColumnInfo | undefined, value: unknown): boolean {
  if (column === undefined || value === NOT_CONSTANT) return false
  if (value === null) return true
  switch (column.typeClass) {
    case 'string':
      return typeof value === 'string' && !LONE_SURROGATE.test(value)
    case 'integer':
      return typeof value === 'number' && Number.isSafeInteger(value)
    case 'uuid':
      return typeof value === 'string' && CANONICAL_UUID.test(value)
    case 'boolean':
      return typeof value === 'boolean'
    default:
      return false
  }
}
