/**
 * Recursive-descent parser of the row-policy condition language (docs/contract.md §3). Conditions are parsed once, at
 * policy load time, into frozen AST nodes; every error names its 0-based position (a UTF-16 offset).
 *
 *   or-expr   := and-expr (OR and-expr)*
 *   and-expr  := unary (AND unary)*
 *   unary     := NOT unary | primary
 *   primary   := '(' or-expr ')' | TRUE | FALSE | predicate
 *   predicate := operand ( compareOp operand
 *                        | [NOT] IN ( field | principal-path | '(' operand (',' operand)* ')' )
 *                        | IS [NOT] NULL )
 *   operand   := field | 'string' | number | TRUE | FALSE | NULL | principal-path
 *
 * Nested AND/OR are flattened into one n-ary node (`a AND (b AND c)` is `and[a, b, c]`), so equal conditions
 * have equal ASTs and `parse(print(ast))` is `ast`.
 */
import { TesseraError, isTesseraError } from '../../errors/index.ts'
import { deepFreeze } from '../deep-freeze.ts'
import type { ConditionNode, OperandNode } from './ast.ts'
import {
  type Keyword,
  type Token,
  describeChar,
  syntaxError,
  tokenizeCondition,
} from './tokenize-condition.ts'

export const MAX_CONDITION_LENGTH = 4_000
export const MAX_CONDITION_DEPTH = 64

export type ParseConditionResult =
  | { readonly ok: true; readonly node: ConditionNode }
  /** `message` does not repeat the position; callers add "at position N" where they show it. */
  | { readonly ok: false; readonly message: string; readonly position: number }

type InRight = Extract<ConditionNode, { kind: 'in' }>['right']

export function tryParseCondition(text: string): ParseConditionResult {
  if (text.length > MAX_CONDITION_LENGTH) {
    return {
      ok: false,
      message: `Condition is longer than ${MAX_CONDITION_LENGTH} characters`,
      position: 4_000,
    }
  }
  const nul = text.indexOf('\u0000')
  if (nul >= 0) return { ok: false, message: 'Condition contains a NUL character', position: nul }
  try {
    const tokens = tokenizeCondition(text)
    if (tokens.length === 1) return { ok: false, message: 'Condition is empty', position: 0 }
    return { ok: true, node: deepFreeze(new Parser(tokens).parseCondition()) }
  } catch (error) {
    if (isTesseraError(error) && typeof error.details['position'] === 'number') {
      return { ok: false, message: error.message, position: error.details['position'] }
    }
    throw error
  }
}

/** Throws POLICY_INVALID naming the policy and the position (also in `details`). */
export function parseCondition(text: string, policyName?: string): ConditionNode {
  const result = tryParseCondition(text)
  if (result.ok) return result.node
  const where =
    policyName === undefined ? 'Invalid condition' : `Invalid condition in row policy '${policyName}'`
  return throwInvalid(
    `${where}: ${result.message} at position ${result.position}`,
    result.position,
    policyName,
  )
}

function throwInvalid(message: string, position: number, policyName: string | undefined): never {
  throw new TesseraError('POLICY_INVALID', message, {
    details: policyName === undefined ? { position } : { position, policyName },
  })
}

class Parser {
  private index = 0
  private depth = 0

  constructor(private readonly tokens: readonly Token[]) {}

  parseCondition(): ConditionNode {
    const node = this.parseOr()
    const tok = this.peek()
    if (tok.kind === 'rparen') throw syntaxError(`Unexpected ')' without a matching '('`, tok.pos)
    if (tok.kind !== 'eof') {
      throw syntaxError(`Unexpected ${describe(tok)}; expected AND, OR or the end of the condition`, tok.pos)
    }
    return node
  }

  private parseOr(): ConditionNode {
    const operands = [this.parseAnd()]
    while (this.atKeyword('or')) {
      this.index++
      operands.push(this.parseAnd())
    }
    return junction('or', operands)
  }

  private parseAnd(): ConditionNode {
    const operands = [this.parseUnary()]
    while (this.atKeyword('and')) {
      this.index++
      operands.push(this.parseUnary())
    }
    return junction('and', operands)
  }

  private parseUnary(): ConditionNode {
    const tok = this.peek()
    if (!this.atKeyword('not')) return this.parsePrimary()
    this.enter(tok)
    this.index++
    const operand = this.parseUnary()
    this.depth--
    return { kind: 'not', operand }
  }

  private parsePrimary(): ConditionNode {
    const tok = this.peek()
    if (tok.kind === 'lparen') {
      this.enter(tok)
      this.index++
      const inner = this.parseOr()
      const close = this.peek()
      if (close.kind !== 'rparen') {
        throw syntaxError(
          `Expected ')' to close the '(' at position ${tok.pos}, found ${describe(close)}`,
          close.pos,
        )
      }
      this.index++
      this.depth--
      return inner
    }
    // TRUE / FALSE alone is a condition; followed by an operator it is an operand (`true = is_public`).
    if (
      tok.kind === 'keyword' &&
      (tok.keyword === 'true' || tok.keyword === 'false') &&
      !this.predicateFollows()
    ) {
      this.index++
      return { kind: 'bool', value: tok.keyword === 'true' }
    }
    return this.parsePredicate()
  }

  private predicateFollows(): boolean {
    const next = this.peek(1)
    if (next.kind === 'op') return true
    if (next.kind !== 'keyword') return false
    if (next.keyword === 'in' || next.keyword === 'is') return true
    const after = this.peek(2)
    return next.keyword === 'not' && after.kind === 'keyword' && after.keyword === 'in'
  }

  private parsePredicate(): ConditionNode {
    const left = this.parseOperand()
    const tok = this.peek()
    if (tok.kind === 'op') {
      this.index++
      return { kind: 'compare', op: tok.op, left, right: this.parseOperand() }
    }
    if (this.atKeyword('in')) {
      this.index++
      return { kind: 'in', negated: false, left, right: this.parseInRight() }
    }
    if (this.atKeyword('not')) {
      const next = this.peek(1)
      if (next.kind !== 'keyword' || next.keyword !== 'in') {
        throw syntaxError(`Expected IN after NOT, found ${describe(next)}`, next.pos)
      }
      this.index += 2
      return { kind: 'in', negated: true, left, right: this.parseInRight() }
    }
    if (this.atKeyword('is')) {
      this.index++
      const negated = this.atKeyword('not')
      if (negated) this.index++
      const last = this.peek()
      if (last.kind !== 'keyword' || last.keyword !== 'null') {
        throw syntaxError(`Expected NULL after IS${negated ? ' NOT' : ''}, found ${describe(last)}`, last.pos)
      }
      this.index++
      return { kind: 'is_null', negated, operand: left }
    }
    throw syntaxError(
      `Expected a comparison operator (= != <> < <= > >=), IN, NOT IN or IS, found ${describe(tok)}`,
      tok.pos,
    )
  }

  private parseInRight(): InRight {
    const tok = this.peek()
    if (tok.kind === 'principal' || tok.kind === 'ident') return this.parseOperand()
    if (tok.kind !== 'lparen') {
      throw syntaxError(
        `Expected a principal path, a field or a parenthesised list after IN, found ${describe(tok)}`,
        tok.pos,
      )
    }
    this.index++
    if (this.peek().kind === 'rparen')
      throw syntaxError('Expected at least one value in the IN list', tok.pos)
    const items: OperandNode[] = []
    for (;;) {
      items.push(this.parseOperand())
      const sep = this.peek()
      this.index++
      if (sep.kind === 'rparen') return { kind: 'list', items }
      if (sep.kind !== 'comma')
        throw syntaxError(`Expected ',' or ')' in the IN list, found ${describe(sep)}`, sep.pos)
    }
  }

  private parseOperand(): OperandNode {
    const tok = this.peek()
    switch (tok.kind) {
      case 'ident':
        this.index++
        return { kind: 'field', name: tok.name }
      case 'string':
        this.index++
        return { kind: 'literal', value: tok.value }
      case 'number':
        this.index++
        return { kind: 'literal', value: tok.value }
      case 'principal':
        this.index++
        return { kind: 'principal', path: tok.path }
      case 'keyword':
        if (tok.keyword === 'true' || tok.keyword === 'false' || tok.keyword === 'null') {
          this.index++
          return { kind: 'literal', value: tok.keyword === 'null' ? null : tok.keyword === 'true' }
        }
        throw syntaxError(
          `Expected an operand (a field, a literal or a principal path), found ${describe(tok)}; ` +
            'keywords cannot be field names',
          tok.pos,
        )
      case 'op':
      case 'lparen':
      case 'rparen':
      case 'comma':
      case 'eof':
        throw syntaxError(
          `Expected an operand (a field, a literal or a principal path), found ${describe(tok)}`,
          tok.pos,
        )
      default:
        return assertNever(tok)
    }
  }

  private enter(tok: Token): void {
    this.depth++
    if (this.depth > MAX_CONDITION_DEPTH) {
      throw syntaxError(`Condition is nested more than ${MAX_CONDITION_DEPTH} levels deep`, tok.pos)
    }
  }

  private atKeyword(keyword: Keyword): boolean {
    const tok = this.peek()
    return tok.kind === 'keyword' && tok.keyword === keyword
  }

  private peek(offset = 0): Token {
    const last = this.tokens[this.tokens.length - 1] as Token
    return this.tokens[this.index + offset] ?? last
  }
}

function junction(kind: 'and' | 'or', operands: readonly ConditionNode[]): ConditionNode {
  if (operands.length === 1) return operands[0] as ConditionNode
  return { kind, operands: operands.flatMap((o) => (o.kind === kind ? o.operands : [o])) }
}

function describe(tok: Token): string {
  switch (tok.kind) {
    case 'eof':
      return 'the end of the condition'
    case 'ident':
      return `'${tok.name}'`
    case 'keyword':
      return `keyword ${tok.keyword.toUpperCase()}`
    case 'string':
      return 'a string'
    case 'number':
      return `number ${tok.text}`
    case 'principal':
      return 'a principal path'
    case 'op':
      return `'${tok.text}'`
    case 'lparen':
      return describeChar('(', 0)
    case 'rparen':
      return describeChar(')', 0)
    case 'comma':
      return describeChar(',', 0)
    default:
      return assertNever(tok)
  }
}

function assertNever(value: never): never {
  throw new TesseraError('INTERNAL_ERROR', `Unhandled condition token ${JSON.stringify(value)}`)
}
