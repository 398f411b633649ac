/**
 * The second printer over the condition AST: a row-policy condition as the text of an RLS `USING` /
 * `WITH CHECK` expression. It prints the planner's claim form (bindConditionToClaims, src/planner/): where the
 * app printer (src/sql/print-condition.ts) binds a `claim` node's value as `$n`, this one reads the claim the
 * node keeps the path of (src/rls/claim-sql.ts); a `principal` node is refused as unbound, as the app printer
 * refuses it. Everything else mirrors the app side so the two walls decide every row the same way:
 *
 * - a field compared with a claim compares with the claim cast to the field's own type, as the app binds the
 *   value coerced to that type (casting to the bare type name, never `varchar(10)`, which would truncate);
 * - a literal compared with a field is printed as an untyped string literal, which PostgreSQL resolves against
 *   the field's type exactly as it infers a bound parameter's type;
 * - a part that mentions no field (`'admin' IN principal.roles`) is decided in memory on the app side; here it
 *   is decided by SQL over the claims' JSON with the same typing rules as `compareValues` for values of one
 *   JSON type (strings by code point, numbers exactly, booleans). A pair of different types (a number against
 *   a decimal string) is unknown here where `compareValues` may decide it: with Kleene logic an unknown can
 *   only turn a result into "unknown", never into TRUE, so such a difference denies a row, never grants one.
 */
import { TesseraError } from '../errors/index.ts'
import {
  type CompareOp,
  type ConditionNode,
  type Literal,
  type OperandNode,
  evaluateCondition,
  referencedFields,
} from '../policy/index.ts'
import type { ColumnInfo } from '../schema/index.ts'
import { claimArray, claimJson, claimScalarText } from './claim-sql.ts'
import { quoteIdent, quoteLiteral } from './sql-text.ts'

/** Looks up a field the condition names; the policy binder has already checked it exists. */
export type ColumnLookup = (field: string) => ColumnInfo

type InNode = Extract<ConditionNode, { kind: 'in' }>

const SQL_OPERATORS: Readonly<Record<CompareOp, string>> = {
  '=': '=',
  '!=': '<>',
  '<': '<',
  '<=': '<=',
  '>': '>',
  '>=': '>=',
}

/** Prints a condition in claim form; INTERNAL_ERROR for a `principal` operand (one not bound to its claim). */
export function printRlsCondition(node: ConditionNode, column: ColumnLookup): string {
  if (referencedFields(node).length === 0) {
    // Literals only: decided now, as the app printer decides them.
    if (!mentionsClaim(node)) return constant(evaluateCondition(node, {}, null))
    return principalOnly(node)
  }
  switch (node.kind) {
    case 'bool':
      return constant(node.value)
    case 'and':
    case 'or':
      return `(${node.operands.map((o) => printRlsCondition(o, column)).join(` ${node.kind} `)})`
    case 'not':
      return `(not ${printRlsCondition(node.operand, column)})`
    case 'compare':
      if (isNullLiteral(node.left) || isNullLiteral(node.right)) return 'null::boolean'
      return compareWithField(node.op, node.left, node.right, column)
    case 'in':
      return inWithField(node, column)
    case 'is_null':
      return `(${fieldOperand(node.operand, column)} ${node.negated ? 'is not null' : 'is null'})`
    default:
      return assertNever(node)
  }
}

/** A comparison where at least one side is a field: the other side takes that field's type. */
function compareWithField(
  op: CompareOp,
  left: OperandNode,
  right: OperandNode,
  column: ColumnLookup,
): string {
  const type = left.kind === 'field' ? typeOf(column(left.name)) : typeOf(fieldColumn(right, column))
  return `(${typed(left, type, column)} ${SQL_OPERATORS[op]} ${typed(right, type, column)})`
}

function inWithField(node: InNode, column: ColumnLookup): string {
  const right = node.right
  if (right.kind === 'list' && right.items.some((item) => item.kind === 'field')) {
    // As on the app side: `x IN (a, b)` is `x = a OR x = b`, each comparison printed (or decided) on its own.
    const parts = right.items.map((item) =>
      printRlsCondition(
        { kind: 'compare', op: node.negated ? '!=' : '=', left: node.left, right: item },
        column,
      ),
    )
    return `(${parts.join(node.negated ? ' and ' : ' or ')})`
  }
  switch (right.kind) {
    case 'list': {
      // The left side is a field (nothing else is left once fields among the items were expanded).
      const type = typeOf(fieldColumn(node.left, column))
      const items = right.items.map((item) => typed(item, type, column))
      return `(${fieldOperand(node.left, column)} ${node.negated ? 'not in' : 'in'} (${items.join(', ')}))`
    }
    case 'principal':
      throw unbound()
    case 'claimList': {
      const field = fieldColumn(node.left, column)
      return anyOrAll(node.negated, fieldOperand(node.left, column), claimArray(right.path, typeOf(field)))
    }
    case 'field': {
      // An array column: the left side takes its element type.
      const array = column(right.name)
      const elementType = quoteIdent(array.udtName.startsWith('_') ? array.udtName.slice(1) : array.udtName)
      return anyOrAll(node.negated, typed(node.left, elementType, column), quoteIdent(right.name))
    }
    case 'literal':
    case 'claim':
      throw new TesseraError('POLICY_INVALID', 'IN needs a list, a principal path or an array field')
    default:
      return assertNever(right)
  }
}

function anyOrAll(negated: boolean, left: string, array: string): string {
  return negated ? `(${left} <> all(${array}))` : `(${left} = any(${array}))`
}

/** An operand beside a field of type `type`: the field itself, a literal, or the claim cast to the type. */
function typed(operand: OperandNode, type: string, column: ColumnLookup): string {
  switch (operand.kind) {
    case 'field':
      return fieldOperand(operand, column)
    case 'literal':
      return operand.value === null ? `null::${type}` : quoteLiteral(literalText(operand.value))
    case 'claim': // read from the claim it came from, not bound
      return `(${claimScalarText(operand.path)})::${type}`
    case 'principal':
      throw unbound()
    default:
      return assertNever(operand)
  }
}

function fieldOperand(operand: OperandNode, column: ColumnLookup): string {
  if (operand.kind !== 'field') throw new TesseraError('INTERNAL_ERROR', 'Expected a field operand')
  column(operand.name)
  return quoteIdent(operand.name)
}

function fieldColumn(operand: OperandNode, column: ColumnLookup): ColumnInfo {
  if (operand.kind !== 'field') throw new TesseraError('INTERNAL_ERROR', 'Expected a field operand')
  return column(operand.name)
}

/** The column's type without modifiers: `varchar`, never `varchar(10)`, whose cast would truncate a claim. */
function typeOf(column: ColumnInfo): string {
  return quoteIdent(column.udtName)
}

/** As node-postgres sends a parameter: numbers as `String(n)`, booleans as `true` / `false`. */
function literalText(value: Exclude<Literal, null>): string {
  return typeof value === 'string' ? value : String(value)
}

// ---- parts that name no field: decided from the claims' JSON ----

function principalOnly(node: ConditionNode): string {
  switch (node.kind) {
    case 'bool':
      return constant(node.value)
    case 'and':
    case 'or':
      return `(${node.operands.map(principalOnly).join(` ${node.kind} `)})`
    case 'not':
      return `(not ${principalOnly(node.operand)})`
    case 'compare':
      return compareJson(node.op, jsonOperand(node.left), jsonOperand(node.right))
    case 'in': {
      const right = node.right
      let membership: string
      if (right.kind === 'list') {
        const parts = right.items.map((item) => compareJson('=', jsonOperand(node.left), jsonOperand(item)))
        membership = parts.length === 0 ? 'false' : `(${parts.join(' or ')})`
      } else if (right.kind === 'claimList') {
        membership = memberOf(jsonOperand(node.left), claimJson(right.path))
      } else if (right.kind === 'principal') {
        throw unbound()
      } else {
        throw new TesseraError('POLICY_INVALID', 'IN needs a list, a principal path or an array field')
      }
      // `x NOT IN l` is NOT (`x IN l`) in three-valued logic, as evaluateCondition computes it.
      return node.negated ? `(not ${membership})` : membership
    }
    case 'is_null':
      return `(${jsonOperand(node.operand).sql} ${node.negated ? 'is not null' : 'is null'})`
    default:
      return assertNever(node)
  }
}

interface JsonOperand {
  readonly sql: string
  /** The JSON type when it is known while printing (a literal); null for a claim, decided at run time. */
  readonly type: 'string' | 'number' | 'boolean' | null
}

function jsonOperand(operand: OperandNode): JsonOperand {
  switch (operand.kind) {
    case 'claim':
      return { sql: claimJson(operand.path), type: null }
    case 'principal':
      throw unbound()
    case 'literal': {
      const value = operand.value
      if (value === null) return { sql: 'null::jsonb', type: null }
      const type = typeof value === 'string' ? 'string' : typeof value === 'number' ? 'number' : 'boolean'
      return { sql: `${quoteLiteral(JSON.stringify(value))}::jsonb`, type }
    }
    case 'field':
      throw new TesseraError('INTERNAL_ERROR', 'A field in a principal-only condition')
    default:
      return assertNever(operand)
  }
}

const JSON_COMPARABLE = [
  ['string', (v: string) => `(${v} #>> '{}') collate "C"`],
  ['number', (v: string) => `(${v} #>> '{}')::numeric`],
  ['boolean', (v: string) => `(${v} #>> '{}')::boolean`],
] as const

/**
 * `a op b` over two jsonb values of the same JSON type (strings by code point, numbers exactly, booleans);
 * unknown (NULL) for any other pair. A literal's type is known, so only its branch is printed.
 */
function compareJson(op: CompareOp, a: JsonOperand, b: JsonOperand): string {
  const sqlOp = SQL_OPERATORS[op]
  const known = a.type ?? b.type
  const branches = JSON_COMPARABLE.filter(([type]) => known === null || type === known).map(([type, as]) => {
    const test = [a, b].filter((o) => o.type === null).map((o) => `jsonb_typeof(${o.sql}) = '${type}'`)
    const compare = `${as(a.sql)} ${sqlOp} ${as(b.sql)}`
    return test.length === 0 ? `when true then ${compare}` : `when ${test.join(' and ')} then ${compare}`
  })
  if (a.type !== null && b.type !== null && a.type !== b.type) return 'null::boolean'
  return `(case ${branches.join(' ')} end)`
}

/**
 * `x IN list` for a jsonb list with three-valued logic: TRUE when some item equals x, else NULL when some
 * comparison is unknown, else FALSE (an empty list is FALSE); NULL when the list is missing or not a list.
 */
function memberOf(x: JsonOperand, list: string): string {
  const item: JsonOperand = { sql: 'e', type: null }
  const each = `(select ${compareJson('=', x, item)} as c from jsonb_array_elements(${list}) as e) as items`
  return (
    `(case when jsonb_typeof(${list}) = 'array' then (select case when bool_or(c) then true ` +
    `when bool_or(c is null) then null else false end from ${each}) end)`
  )
}

/** Whether any operand reads a claim (a claim list included). */
function mentionsClaim(node: ConditionNode): boolean {
  switch (node.kind) {
    case 'bool':
      return false
    case 'and':
    case 'or':
      return node.operands.some(mentionsClaim)
    case 'not':
      return mentionsClaim(node.operand)
    case 'compare':
      return node.left.kind === 'claim' || node.right.kind === 'claim'
    case 'in': {
      const right = node.right
      const items = right.kind === 'list' ? right.items : [right]
      return node.left.kind === 'claim' || items.some((i) => i.kind === 'claim' || i.kind === 'claimList')
    }
    case 'is_null':
      return node.operand.kind === 'claim'
    default:
      return assertNever(node)
  }
}

function unbound(): TesseraError {
  return new TesseraError('INTERNAL_ERROR', 'A principal operand reached the RLS printer unbound')
}

function constant(value: boolean | null): string {
  return value === null ? 'null::boolean' : value ? 'true' : 'false'
}

function isNullLiteral(node: OperandNode): boolean {
  return node.kind === 'literal' && node.value === null
}

function assertNever(value: never): never {
  throw new TesseraError('INTERNAL_ERROR', `Unhandled condition node ${JSON.stringify(value)}`)
}
