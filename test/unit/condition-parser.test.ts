import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { isTesseraError } from '../../src/errors/index.ts'
import type { ConditionNode, OperandNode, PrincipalPath } from '../../src/policy/condition/ast.ts'
import { parseCondition, tryParseCondition } from '../../src/policy/condition/parse-condition.ts'
import { printCondition } from '../../src/policy/condition/print-condition.ts'

const field = (name: string): OperandNode => ({ kind: 'field', name })
const lit = (value: string | number | boolean | null): OperandNode => ({ kind: 'literal', value })
const pr = (...path: string[]): OperandNode => ({ kind: 'principal', path: path as unknown as PrincipalPath })
const cmp = (
  left: OperandNode,
  op: '=' | '!=' | '<' | '<=' | '>' | '>=',
  right: OperandNode,
): ConditionNode => ({
  kind: 'compare',
  op,
  left,
  right,
})

function parsed(text: string): ConditionNode {
  const result = tryParseCondition(text)
  if (!result.ok) throw new Error(`expected '${text}' to parse: ${result.message} at ${result.position}`)
  return result.node
}

describe('tryParseCondition accepts the condition language of docs/contract.md §3', () => {
  it.each<[string, ConditionNode]>([
    ["status = 'open'", cmp(field('status'), '=', lit('open'))],
    ['total != 10', cmp(field('total'), '!=', lit(10))],
    ['total <> 10', cmp(field('total'), '!=', lit(10))],
    ['total < -2.5', cmp(field('total'), '<', lit(-2.5))],
    ['total <= 0.25', cmp(field('total'), '<=', lit(0.25))],
    ['total > 007', cmp(field('total'), '>', lit(7))],
    ['total >= -0', cmp(field('total'), '>=', lit(0))],
    ['a=b', cmp(field('a'), '=', field('b'))],
    ["name = 'O''Brien'", cmp(field('name'), '=', lit("O'Brien"))],
    ["name = ''", cmp(field('name'), '=', lit(''))],
    ["note = 'line\nbreak AND x = 1'", cmp(field('note'), '=', lit('line\nbreak AND x = 1'))],
    ['is_public = true', cmp(field('is_public'), '=', lit(true))],
    ['is_public = FALSE', cmp(field('is_public'), '=', lit(false))],
    ['true = is_public', cmp(lit(true), '=', field('is_public'))],
    ['deleted_at = null', cmp(field('deleted_at'), '=', lit(null))],
    ['tenant_id = principal.tenantId', cmp(field('tenant_id'), '=', pr('tenantId'))],
    ['tenant_id = principal.tenant_id', cmp(field('tenant_id'), '=', pr('tenantId'))],
    ['owner_id = principal.user_id', cmp(field('owner_id'), '=', pr('userId'))],
    ['owner_id = principal.userId', cmp(field('owner_id'), '=', pr('userId'))],
    ['org_id = PRINCIPAL.metadata.orgId', cmp(field('org_id'), '=', pr('metadata', 'orgId'))],
    ['org_id = principal.metadata.org.id', cmp(field('org_id'), '=', pr('metadata', 'org', 'id'))],
    ['1 = 1', cmp(lit(1), '=', lit(1))],
    [
      'tenant_id IN principal.metadata.tenantHierarchy',
      { kind: 'in', negated: false, left: field('tenant_id'), right: pr('metadata', 'tenantHierarchy') },
    ],
    [
      "'super_admin' IN principal.roles",
      { kind: 'in', negated: false, left: lit('super_admin'), right: pr('roles') },
    ],
    [
      "status NOT IN ('closed', 'void')",
      {
        kind: 'in',
        negated: true,
        left: field('status'),
        right: { kind: 'list', items: [lit('closed'), lit('void')] },
      },
    ],
    [
      'n in (1, -2.5, null, principal.tenantId, other)',
      {
        kind: 'in',
        negated: false,
        left: field('n'),
        right: { kind: 'list', items: [lit(1), lit(-2.5), lit(null), pr('tenantId'), field('other')] },
      },
    ],
    [
      'x IN (principal.roles)',
      { kind: 'in', negated: false, left: field('x'), right: { kind: 'list', items: [pr('roles')] } },
    ],
    ["'a' in tags", { kind: 'in', negated: false, left: lit('a'), right: field('tags') }],
    [
      'true NOT IN (flag)',
      { kind: 'in', negated: true, left: lit(true), right: { kind: 'list', items: [field('flag')] } },
    ],
    ['tenant_id IS NOT NULL', { kind: 'is_null', negated: true, operand: field('tenant_id') }],
    ['deleted_at is null', { kind: 'is_null', negated: false, operand: field('deleted_at') }],
    ['principal.userId IS NULL', { kind: 'is_null', negated: false, operand: pr('userId') }],
    ['TRUE', { kind: 'bool', value: true }],
    ['false', { kind: 'bool', value: false }],
    [
      'is_public = true OR tenant_id = principal.tenantId',
      {
        kind: 'or',
        operands: [cmp(field('is_public'), '=', lit(true)), cmp(field('tenant_id'), '=', pr('tenantId'))],
      },
    ],
    [
      'a = 1 OR b = 2 AND c = 3',
      {
        kind: 'or',
        operands: [
          cmp(field('a'), '=', lit(1)),
          { kind: 'and', operands: [cmp(field('b'), '=', lit(2)), cmp(field('c'), '=', lit(3))] },
        ],
      },
    ],
    [
      '(a = 1 OR b = 2) AND c = 3',
      {
        kind: 'and',
        operands: [
          { kind: 'or', operands: [cmp(field('a'), '=', lit(1)), cmp(field('b'), '=', lit(2))] },
          cmp(field('c'), '=', lit(3)),
        ],
      },
    ],
    [
      'a = 1 AND (b = 2 AND (c = 3)) and d = 4',
      {
        kind: 'and',
        operands: [
          cmp(field('a'), '=', lit(1)),
          cmp(field('b'), '=', lit(2)),
          cmp(field('c'), '=', lit(3)),
          cmp(field('d'), '=', lit(4)),
        ],
      },
    ],
    [
      'NOT a = 1 AND b = 2',
      {
        kind: 'and',
        operands: [{ kind: 'not', operand: cmp(field('a'), '=', lit(1)) }, cmp(field('b'), '=', lit(2))],
      },
    ],
    [
      'not (a = 1 or b = 2)',
      {
        kind: 'not',
        operand: { kind: 'or', operands: [cmp(field('a'), '=', lit(1)), cmp(field('b'), '=', lit(2))] },
      },
    ],
    ['NOT NOT TRUE', { kind: 'not', operand: { kind: 'not', operand: { kind: 'bool', value: true } } }],
    ['\t( ( x = 1 ) )\n', cmp(field('x'), '=', lit(1))],
    ['principal = 1', cmp(field('principal'), '=', lit(1))],
    ['nullable = 1', cmp(field('nullable'), '=', lit(1))],
  ])('parses %j', (text, expected) => {
    expect(parsed(text)).toEqual(expected)
  })

  it('accepts nesting of exactly 64 levels', () => {
    const deep = `${'('.repeat(64)}a = 1${')'.repeat(64)}`
    expect(parsed(deep)).toEqual(cmp(field('a'), '=', lit(1)))
    expect(tryParseCondition(`${'NOT '.repeat(64)}a = 1`).ok).toBe(true)
  })

  it('accepts a condition of exactly 4000 characters', () => {
    const text = `a = '${'x'.repeat(3994)}'`
    expect(text).toHaveLength(4000)
    expect(tryParseCondition(text).ok).toBe(true)
  })

  it('returns frozen nodes', () => {
    const node = parsed("a = 1 AND b IN ('x', principal.tenantId)")
    expect(Object.isFrozen(node)).toBe(true)
    if (node.kind !== 'and') throw new Error('expected and')
    expect(Object.isFrozen(node.operands)).toBe(true)
    expect(Object.isFrozen(node.operands[1])).toBe(true)
  })
})

describe('tryParseCondition rejects malformed conditions with the position of the problem', () => {
  it.each<[string, string, number, string]>([
    ['empty input', '', 0, 'empty'],
    ['whitespace only', '  \n ', 0, 'empty'],
    ['a comparison without a right operand', 'a = ', 4, 'Expected an operand'],
    ['a comparison without a left operand', '= b', 0, 'Expected an operand'],
    ['a double operator', 'a = = b', 4, 'Expected an operand'],
    ['a C-style equality', 'a == b', 3, 'Expected an operand'],
    ['an operator after an operator', 'a < > 1', 4, 'Expected an operand'],
    ['an empty IN list', 'a IN ()', 5, 'at least one value'],
    ['an empty NOT IN list', 'a NOT IN ()', 9, 'at least one value'],
    ['a trailing comma in an IN list', 'a IN (1,)', 8, 'Expected an operand'],
    ['a missing comma in an IN list', 'a IN (1 2)', 8, "Expected ',' or ')'"],
    ['an unclosed IN list', 'a IN (1', 7, "Expected ',' or ')'"],
    ['IN followed by a number', 'a IN 1', 5, 'after IN'],
    ['IN followed by a string', "a IN 'x'", 5, 'after IN'],
    ['a keyword as a field name', 'and = 1', 0, 'keywords cannot be field names'],
    ['a keyword as a field name after AND', 'a = 1 AND or = 2', 10, 'keywords cannot be field names'],
    ['IN as a field name', 'in IN (1)', 0, 'keywords cannot be field names'],
    ['an unclosed parenthesis', '(a = 1', 6, "Expected ')'"],
    ['an unclosed nested parenthesis', '((a = 1)', 8, "Expected ')'"],
    ['an extra closing parenthesis', 'a = 1)', 5, "Unexpected ')'"],
    ['a lone closing parenthesis', ')', 0, 'Expected an operand'],
    ['empty parentheses', 'a = 1 AND ()', 11, 'Expected an operand'],
    ['a trailing operand', 'a = 1 b', 6, 'Unexpected'],
    ['a trailing IS NULL', 'a = 1 IS NULL', 6, 'Unexpected keyword IS'],
    ['two conditions without AND', 'TRUE FALSE', 5, 'Unexpected keyword FALSE'],
    ['an unterminated string', "a = 'x", 4, 'Unterminated string'],
    ['an unterminated string ending in an escaped quote', "a = '''", 4, 'Unterminated string'],
    ['a double-quoted string', 'a = "x"', 4, 'single quotes'],
    ['a statement separator', 'a = 1; DROP TABLE t', 5, "Unexpected character ';'"],
    ['an SQL comment', 'a = 1 -- x', 6, "Unexpected character '-'"],
    ['a NUL character', 'a\u0000 = 1', 1, 'NUL'],
    ['a zero-width space', 'a\u200b = 1', 1, 'U+200B'],
    ['a non-ASCII letter', 'tenänt = 1', 3, 'U+00E4'],
    ['a qualified column name', 't.tenant_id = 1', 1, "Unexpected character '.'"],
    ['a lone exclamation mark', 'a ! b', 2, "Unexpected character '!'"],
    ['a minus sign apart from its number', 'a = - 1', 4, "Unexpected character '-'"],
    ['a number ending in a point', 'a = 1.', 4, 'Invalid number'],
    ['a number with an exponent', 'a = 1e5', 4, 'Invalid number'],
    ['a number with two points', 'a = 1.2.3', 4, 'Invalid number'],
    ['a number too precise for a JS number', 'a = 12345678901234567', 4, 'significant digits'],
    ['an operand without an operator', 'a AND b = 1', 2, 'Expected a comparison operator'],
    ['an unknown operator word', 'a LIKE 1', 2, 'Expected a comparison operator'],
    ['IS followed by a value', 'a IS 1', 5, 'Expected NULL after IS'],
    ['IS NOT without NULL', 'a IS NOT', 8, 'Expected NULL after IS NOT'],
    ['NOT without IN after an operand', 'a NOT 1', 6, 'Expected IN after NOT'],
    ['a dangling AND', 'a = 1 AND', 9, 'Expected an operand'],
    ['a dangling NOT', 'NOT', 3, 'Expected an operand'],
    ['a doubled OR', 'a = 1 OR OR b = 2', 9, 'keywords cannot be field names'],
    [
      'an unknown principal path',
      'principal.isAdmin = true',
      0,
      "Unknown principal path 'principal.isAdmin'",
    ],
    ['principal.metadata without a key', 'x = principal.metadata', 4, 'needs a key'],
    ['a part after principal.tenantId', 'x = principal.tenantId.x', 4, 'has no parts'],
    ['__proto__ in a principal path', 'x = principal.metadata.__proto__', 4, "'__proto__' is not allowed"],
    ['constructor in a principal path', 'x = principal.constructor', 4, "'constructor' is not allowed"],
    ['prototype in a principal path', 'x IN principal.metadata.a.prototype', 5, "'prototype' is not allowed"],
    ['a principal path ending in a point', 'x = principal.', 14, "Expected a name after '.'"],
    ['a name longer than 63 characters', `${'a'.repeat(64)} = 1`, 0, 'longer than 63'],
    ['input longer than 4000 characters', `a = '${'x'.repeat(3995)}'`, 4000, 'longer than 4000'],
    ['parentheses nested 65 deep', `${'('.repeat(65)}a = 1${')'.repeat(65)}`, 64, 'nested more than 64'],
    ['NOT nested 65 deep', `${'NOT '.repeat(65)}a = 1`, 256, 'nested more than 64'],
  ])('rejects %s', (_what, text, position, fragment) => {
    const result = tryParseCondition(text)
    expect(result).toMatchObject({ ok: false, position })
    if (result.ok) return
    expect(result.message).toContain(fragment)
    expect(result.message).not.toMatch(/at position \d+$/)
  })

  it('rejects a parenthesis nesting bomb quickly and without a stack overflow', () => {
    const result = tryParseCondition('('.repeat(3999))
    expect(result).toMatchObject({ ok: false, position: 64 })
  })
})

describe('parseCondition', () => {
  it('returns the AST of a valid condition', () => {
    expect(parseCondition('a IS NULL', 'p')).toEqual({ kind: 'is_null', negated: false, operand: field('a') })
  })

  it('throws POLICY_INVALID naming the policy and the position', () => {
    let caught: unknown
    try {
      parseCondition('tenant_id = ', 'tenant_required')
    } catch (error) {
      caught = error
    }
    expect(isTesseraError(caught)).toBe(true)
    if (!isTesseraError(caught)) return
    expect(caught.code).toBe('POLICY_INVALID')
    expect(caught.message).toContain("row policy 'tenant_required'")
    expect(caught.message).toContain('at position 12')
    expect(caught.details).toEqual({ position: 12, policyName: 'tenant_required' })
  })

  it('throws without a policy name when none is given', () => {
    expect(() => parseCondition('a =')).toThrow(/^Invalid condition: Expected an operand.* at position 3$/)
  })
})

describe('printCondition', () => {
  it.each([
    ['a <> 1', 'a != 1'],
    [
      'is_public = TRUE or tenant_id = principal.tenant_id',
      'is_public = true OR tenant_id = principal.tenantId',
    ],
    [
      '(a = 1 or b = 2) and not (c is not null and d in (1, 2))',
      '(a = 1 OR b = 2) AND NOT (c IS NOT NULL AND d IN (1, 2))',
    ],
    ["name = 'it''s'", "name = 'it''s'"],
    ["'super_admin' in PRINCIPAL.roles", "'super_admin' IN principal.roles"],
    ['true', 'TRUE'],
  ])('prints %j canonically as %j', (text, expected) => {
    expect(printCondition(parsed(text))).toBe(expected)
  })

  it('prints numbers without exponents so they parse back', () => {
    const tiny: ConditionNode = cmp(field('x'), '>', lit(-1e-7))
    const huge: ConditionNode = cmp(field('x'), '<', lit(1.5e25))
    expect(printCondition(tiny)).toBe('x > -0.0000001')
    expect(printCondition(huge)).toBe('x < 15000000000000000000000000')
    expect(parsed(printCondition(tiny))).toEqual(tiny)
    expect(parsed(printCondition(huge))).toEqual(huge)
  })
})

// ---- property: parse(print(ast)) is ast, for canonical ASTs (nested AND/OR flattened, as the parser does)

const KEYWORDS = new Set(['and', 'or', 'not', 'in', 'is', 'null', 'true', 'false'])
const identifier = fc
  .stringMatching(/^[A-Za-z_][A-Za-z0-9_]{0,12}$/)
  .filter((s) => !KEYWORDS.has(s.toLowerCase()))
const metadataKey = identifier.filter((s) => !['__proto__', 'constructor', 'prototype'].includes(s))
const numberLiteral = fc.oneof(
  fc.integer({ min: -1_000_000_000, max: 1_000_000_000 }),
  fc
    .tuple(fc.integer({ min: -1_000_000_000, max: 1_000_000_000 }), fc.integer({ min: 1, max: 6 }))
    .map(([n, k]) => n / 10 ** k),
  fc.constantFrom(1e-7, -2.5e-10, 1e20, 1.5e25, 123456789012345, 0.1),
)
const literalValue = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 8 }).filter((s) => !s.includes('\u0000')),
  numberLiteral.map((n) => (n === 0 ? 0 : n)),
  fc.boolean(),
  fc.constant(null),
)
const principalPath: fc.Arbitrary<PrincipalPath> = fc.oneof(
  fc.constantFrom<PrincipalPath>(['tenantId'], ['userId'], ['roles']),
  fc.array(metadataKey, { minLength: 1, maxLength: 3 }).map((keys) => ['metadata', ...keys] as PrincipalPath),
)
const operand: fc.Arbitrary<OperandNode> = fc.oneof(
  identifier.map((name) => ({ kind: 'field' as const, name })),
  literalValue.map((value) => ({ kind: 'literal' as const, value })),
  principalPath.map((path) => ({ kind: 'principal' as const, path })),
)
const compareOp = fc.constantFrom(
  '=' as const,
  '!=' as const,
  '<' as const,
  '<=' as const,
  '>' as const,
  '>=' as const,
)
const inRight = fc.oneof(
  fc.array(operand, { minLength: 1, maxLength: 4 }).map((items) => ({ kind: 'list' as const, items })),
  principalPath.map((path) => ({ kind: 'principal' as const, path })),
  identifier.map((name) => ({ kind: 'field' as const, name })),
)
const leaf: fc.Arbitrary<ConditionNode> = fc.oneof(
  fc.record({ kind: fc.constant('compare' as const), op: compareOp, left: operand, right: operand }),
  fc.record({ kind: fc.constant('in' as const), negated: fc.boolean(), left: operand, right: inRight }),
  fc.record({ kind: fc.constant('is_null' as const), negated: fc.boolean(), operand }),
  fc.record({ kind: fc.constant('bool' as const), value: fc.boolean() }),
)
const { condition } = fc.letrec<{ condition: ConditionNode }>((tie) => ({
  condition: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    leaf,
    fc.record({
      kind: fc.constant('and' as const),
      operands: fc.array(tie('condition'), { minLength: 2, maxLength: 4 }),
    }),
    fc.record({
      kind: fc.constant('or' as const),
      operands: fc.array(tie('condition'), { minLength: 2, maxLength: 4 }),
    }),
    fc.record({ kind: fc.constant('not' as const), operand: tie('condition') }),
  ),
}))

/** The parser's normal form: AND inside AND (OR inside OR) merged into one node. */
function flatten(node: ConditionNode): ConditionNode {
  switch (node.kind) {
    case 'and':
    case 'or': {
      const kind = node.kind
      const operands = node.operands.map(flatten).flatMap((o) => (o.kind === kind ? o.operands : [o]))
      return { kind, operands }
    }
    case 'not':
      return { kind: 'not', operand: flatten(node.operand) }
    default:
      return node
  }
}

describe('printCondition and tryParseCondition', () => {
  it('round-trip every canonical AST: parse(print(ast)) deep-equals ast', () => {
    fc.assert(
      fc.property(condition.map(flatten), (ast) => {
        const text = printCondition(ast)
        const result = tryParseCondition(text)
        if (!result.ok) throw new Error(`'${text}' did not parse: ${result.message} at ${result.position}`)
        expect(result.node).toEqual(ast)
      }),
      { numRuns: 500 },
    )
  })

  it('never throws on arbitrary text: it returns a node or an error with a position inside the input', () => {
    const alphabet = fc.constantFrom(
      ..."aAnN_1 .()'=<>!,-\nprincipal.tenantId IN NOT AND OR IS NULL".split(''),
    )
    fc.assert(
      fc.property(
        fc.oneof(fc.string({ unit: alphabet, maxLength: 40 }), fc.string({ maxLength: 40 })),
        (text) => {
          const result = tryParseCondition(text)
          if (!result.ok) {
            expect(result.position).toBeGreaterThanOrEqual(0)
            expect(result.position).toBeLessThanOrEqual(text.length)
          }
        },
      ),
      { numRuns: 500 },
    )
  })
})
