/**
 * The row-policy condition language as data (docs/contract.md §3). Immutable, `kind`-tagged nodes; the parser builds
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
  | ClaimNode

/**
 * A principal value bound into a plan (src/planner/bind-principal-values.ts): the value, typed for the column it
 * is compared with, and the claim (principal path) it came from, so a printer may bind the value (`$n`) or read
 * the claim in SQL (`current_setting('tessera.<claim>')`). The parser never produces it; plans hold no other
 * principal operand.
 */
export interface ClaimNode {
  readonly kind: 'claim'
  readonly path: PrincipalPath
  readonly value: Literal
}

/** A list-valued claim bound into a plan (`field IN principal.roles`): its values and where they came from. */
export interface ClaimListNode {
  readonly kind: 'claimList'
  readonly path: PrincipalPath
  readonly values: readonly Literal[]
}

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
      /** A principal path (array-valued at run time) or a literal list `('a', 'b')`; in a plan, a bound claim list. */
      readonly right:
        OperandNode | { readonly kind: 'list'; readonly items: readonly OperandNode[] } | ClaimListNode
    }
  | { readonly kind: 'is_null'; readonly negated: boolean; readonly operand: OperandNode }
  // The literal conditions TRUE / FALSE; in a plan also a part decided from the principal alone, which may be
  // NULL (unknown) under three-valued logic.
  | { readonly kind: 'bool'; readonly value: boolean | null }
