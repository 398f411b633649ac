/**
 * The row-policy condition language as data (DESIGN §3). Immutable, `kind`-tagged nodes; the parser builds
 * them once at load time; the in-memory evaluator (src/policy/condition/evaluate-condition.ts) and the SQL
 * compiler (src/sql/print-condition.ts) are both exhaustive switches over `kind`, so a new node kind
 * fails to compile until both handle it.
 */

export type Literal = string | number | boolean | null

/**
 * A principal path, normalised: `['tenantId']`, `['userId']`, `['roles']`, `['metadata', 'orgId', ...]`.
 * Snake-case aliases (`principal.tenant_id`, `principal.user_id`) are normalised by the parser.
 */
export type PrincipalPath = readonly [root: 'tenantId' | 'userId' | 'roles' | 'metadata', ...rest: string[]]

export type OperandNode =
  | { readonly kind: 'field'; readonly name: string }
  | { readonly kind: 'literal'; readonly value: Literal }
  | { readonly kind: 'principal'; readonly path: PrincipalPath }

export type CompareOp = '=' | '!=' | '<' | '<=' | '>' | '>='

export type ConditionNode =
  | { readonly kind: 'and'; readonly operands: readonly ConditionNode[] } // 2 or more
  | { readonly kind: 'or'; readonly operands: readonly ConditionNode[] } // 2 or more
  | { readonly kind: 'not'; readonly operand: ConditionNode }
  | {
      readonly kind: 'compare'
      readonly op: CompareOp
      readonly left: OperandNode
      readonly right: OperandNode
    }
  | {
      readonly kind: 'in'
      readonly negated: boolean
      readonly left: OperandNode
      /** A principal path (array-valued at run time) or a literal list `('a', 'b')`. */
      readonly right: OperandNode | { readonly kind: 'list'; readonly items: readonly OperandNode[] }
    }
  | { readonly kind: 'is_null'; readonly negated: boolean; readonly operand: OperandNode }
  | { readonly kind: 'bool'; readonly value: boolean } // the literal conditions TRUE / FALSE
