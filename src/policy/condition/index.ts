export type { CompareOp, ConditionNode, Literal, OperandNode, PrincipalPath } from './ast.ts'
export {
  MAX_CONDITION_DEPTH,
  MAX_CONDITION_LENGTH,
  parseCondition,
  tryParseCondition,
} from './parse-condition.ts'
export type { ParseConditionResult } from './parse-condition.ts'
export { printCondition, printOperand } from './print-condition.ts'
export { evaluateCondition } from './evaluate-condition.ts'
export type { Row } from './evaluate-condition.ts'
export { compareHolds, compareValues } from './compare-values.ts'
export type { Ordering } from './compare-values.ts'
export {
  forEachOperand,
  isPrincipalOnly,
  referencedFields,
  referencedPrincipalPaths,
} from './condition-references.ts'
