/**
 * Prints a row-policy condition of a plan as a Kysely boolean expression. The planner bound it to the principal
 * (src/planner/bind-principal-values.ts): principal values are `claim` nodes, parts that depend on the
 * principal alone are constants, so nothing here reads a principal. Every literal and claim value is a bound
 * parameter; identifiers come only from `ctx.column`. Lists (a literal list, a claim list) travel as ONE
 * array parameter (`col = ANY($1)`, `col <> ALL($1)`), which keeps the parameter count fixed (docs/threats.md fact 9)
 * and lets PostgreSQL infer the parameter's type from the column.
 *
 * Any part that mentions no row field is decided here, in memory, by evaluateCondition itself, and becomes a
 * constant: such parts never reach SQL, so PostgreSQL never has to guess the type of a parameter that has no
 * column beside it, and SQL and memory cannot disagree about them. Constants are folded with three-valued
 * logic, so the result is equivalent (TRUE / FALSE / NULL on every row) to evaluateCondition.
 */
import { type Expression, type SqlBool, sql } from 'kysely'
import { TesseraError } from '../errors/index.ts'
import { type ConditionNode, type OperandNode, isPrincipalOnly, evaluateCondition } from '../policy/index.ts'

export interface ConditionPredicateContext {
  /** The SQL reference of a model field, e.g. `(f) => sql.ref(\`t0.${f}\`)`; only called with AST field names. */
  readonly column: (field: string) => Expression<unknown>
}

type Compiled =
  | { readonly kind: 'const'; readonly value: boolean | null }
  | { readonly kind: 'sql'; readonly expr: Expression<SqlBool> }

type InNode = Extract<ConditionNode, { kind: 'in' }>

/** Throws INTERNAL_ERROR for a condition that still holds a principal operand (one the planner did not bind). */
export function conditionPredicate(node: ConditionNode, ctx: ConditionPredicateContext): Expression<SqlBool> {
  return toExpression(compileNode(node, ctx))
}

function compileNode(node: ConditionNode, ctx: ConditionPredicateContext): Compiled {
  // The planner decided these parts already (a `bool` node); evaluating keeps the printer total on its own.
  if (isPrincipalOnly(node)) return constant(evaluateCondition(node, {}, null))
  switch (node.kind) {
    case 'bool':
      return constant(node.value)
    case 'and':
      return junction(
        'and',
        node.operands.map((o) => compileNode(o, ctx)),
      )
    case 'or':
      return junction(
        'or',
        node.operands.map((o) => compileNode(o, ctx)),
      )
    case 'not': {
      const inner = compileNode(node.operand, ctx)
      if (inner.kind === 'const') return constant(inner.value === null ? null : !inner.value)
      return expression(sql<SqlBool>`(not (${inner.expr}))`)
    }
    case 'compare': {
      const left = operand(node.left, ctx)
      const right = operand(node.right, ctx)
      // `x = NULL` is NULL on every row.
      if (isNullLiteral(node.left) || isNullLiteral(node.right)) return constant(null)
      return expression(sql<SqlBool>`(${left} ${sql.raw(SQL_OPERATORS[node.op])} ${right})`)
    }
    case 'in':
      return compileIn(node, ctx)
    case 'is_null':
      // A field (the only operand left once principal-only parts are folded).
      return expression(
        sql<SqlBool>`(${operand(node.operand, ctx)} ${sql.raw(node.negated ? 'is not null' : 'is null')})`,
      )
    default:
      return assertNever(node)
  }
}

// A fixed map, so the operator text in SQL never comes from anywhere but this file.
const SQL_OPERATORS = { '=': '=', '!=': '<>', '<': '<', '<=': '<=', '>': '>', '>=': '>=' } as const

function compileIn(node: InNode, ctx: ConditionPredicateContext): Compiled {
  const left = operand(node.left, ctx)
  const right = node.right
  switch (right.kind) {
    case 'list': {
      if (right.items.some((item) => item.kind === 'field')) {
        // `x IN (a, b)` is by definition `x = a OR x = b` (and NOT IN is `x <> a AND x <> b`). Expanded, each
        // comparison without a field is decided in memory: `$1 IN ($2, t0.at)` would make PostgreSQL type $1
        // from $2 (text) and again from t0.at (timestamptz) and reject the statement.
        const op = node.negated ? '!=' : '='
        const parts = right.items.map((item) =>
          compileNode({ kind: 'compare', op, left: node.left, right: item }, ctx),
        )
        return junction(node.negated ? 'and' : 'or', parts)
      }
      // No field among the items, and the node is not principal-only, so the left side is a field: its type
      // types the array parameter.
      const values = right.items.map(boundValue)
      return anyOrAll(node.negated, left, sql.val(values))
    }
    case 'claimList':
      return anyOrAll(node.negated, left, sql.val(right.values))
    case 'field':
      return anyOrAll(node.negated, left, ctx.column(right.name))
    case 'principal':
      throw unbound()
    case 'literal':
    case 'claim':
      throw new TesseraError('POLICY_INVALID', 'IN needs a list, a principal path or an array field')
    default:
      return assertNever(right)
  }
}

function anyOrAll(negated: boolean, left: Expression<unknown>, array: Expression<unknown>): Compiled {
  return expression(
    negated ? sql<SqlBool>`(${left} <> all(${array}))` : sql<SqlBool>`(${left} = any(${array}))`,
  )
}

/** A field reference, or a bound parameter for a literal or a claim value. */
function operand(node: OperandNode, ctx: ConditionPredicateContext): Expression<unknown> {
  if (node.kind === 'field') return ctx.column(node.name)
  return sql.val(boundValue(node))
}

/** The value of a literal or claim operand (what is bound as a parameter). */
function boundValue(node: OperandNode): unknown {
  switch (node.kind) {
    case 'literal':
    case 'claim':
      return node.value
    case 'principal':
      throw unbound()
    case 'field':
      throw new TesseraError('INTERNAL_ERROR', 'Expected a value operand')
    default:
      return assertNever(node)
  }
}

function unbound(): TesseraError {
  return new TesseraError('INTERNAL_ERROR', 'A principal operand reached SQL unbound')
}

function junction(kind: 'and' | 'or', parts: readonly Compiled[]): Compiled {
  // `false` decides an AND (and `true` an OR) whatever else holds; the opposite constant drops out; a NULL
  // constant stays as a term because it still matters (NULL AND x is FALSE or NULL).
  const decisive = kind === 'or'
  if (parts.some((p) => p.kind === 'const' && p.value === decisive)) return constant(decisive)
  const exprs = parts.flatMap((p) => (p.kind === 'sql' ? [p.expr] : []))
  const hasNull = parts.some((p) => p.kind === 'const' && p.value === null)
  if (exprs.length === 0) return constant(hasNull ? null : !decisive)
  if (hasNull) exprs.push(NULL_BOOLEAN)
  if (exprs.length === 1) return expression(exprs[0] as Expression<SqlBool>)
  return expression(sql<SqlBool>`(${sql.join(exprs, sql.raw(` ${kind} `))})`)
}

const NULL_BOOLEAN = sql<SqlBool>`null::boolean`

function toExpression(compiled: Compiled): Expression<SqlBool> {
  if (compiled.kind === 'sql') return compiled.expr
  if (compiled.value === null) return NULL_BOOLEAN
  return compiled.value ? sql<SqlBool>`true` : sql<SqlBool>`false`
}

function isNullLiteral(node: OperandNode): boolean {
  return node.kind === 'literal' && node.value === null
}

function constant(value: boolean | null): Compiled {
  return { kind: 'const', value }
}

function expression(expr: Expression<SqlBool>): Compiled {
  return { kind: 'sql', expr }
}

function assertNever(value: never): never {
  throw new TesseraError('INTERNAL_ERROR', `Unhandled condition node ${JSON.stringify(value)}`)
}
