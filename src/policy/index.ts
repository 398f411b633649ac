export {
  MAX_CONDITION_DEPTH,
  MAX_CONDITION_LENGTH,
  compareHolds,
  compareValues,
  evaluateCondition,
  forEachOperand,
  isPrincipalOnly,
  parseCondition,
  printCondition,
  printOperand,
  referencedFields,
  referencedPrincipalPaths,
  tryParseCondition,
} from './condition/index.ts'
export type {
  CompareOp,
  ConditionNode,
  Literal,
  OperandNode,
  Ordering,
  ParseConditionResult,
  PrincipalPath,
  Row,
} from './condition/index.ts'
export {
  blankClaimAsNull,
  formatPrincipalPath,
  isBlankClaim,
  parsePrincipalPath,
  requirePrincipalList,
  requirePrincipalScalar,
  resolvePrincipalPath,
} from './principal-path.ts'
export type { ParsePrincipalPathResult, PrincipalScalar, ResolvedPrincipalValue } from './principal-path.ts'
export { definePolicy, parsePolicy } from './define-policy.ts'
export type {
  TypedModelCheck,
  TypedModelsCheck,
  ColumnOf,
  PolicyDatabase,
  PolicyModels,
  TableOf,
  TypedPolicy,
  TypedPolicyInput,
} from './typed-policy.ts'
export { loadPolicyFile, readPolicyData } from './load-policy-file.ts'
export { checkPolicyData } from './check-policy-data.ts'
export type { PolicyCheck } from './check-policy-data.ts'
export { bindPolicy, TENANT_LIKE_COLUMNS } from './bind-policy.ts'
export { PolicyBuilder, PII_FIELD_GLOBS, SENSITIVE_FIELD_GLOBS } from './policy-builder.ts'
export { fieldGlobMatcher } from './field-glob.ts'
export type { PolicyBuilderOptions } from './policy-builder.ts'
export { DEFAULT_PROFILE, DEFAULT_WRITE_POLICY, profiles } from './profiles.ts'
export type { ProfileDefaults } from './profiles.ts'
export { canonicalJson, sha256Hex } from '../json/index.ts'
export { renderPolicyJsonSchema, POLICY_JSON_SCHEMA_PATH } from './policy-json-schema.ts'
export {
  FIELD_ACTIONS,
  MASK_STYLES,
  PROFILES,
  WRITE_MODES,
  budgetSchema,
  fieldRuleSchema,
  modelPolicySchema,
  policyInputSchema,
  relationSchema,
  rowPolicySchema,
  writePolicySchema,
} from './policy-schema.ts'
export type {
  BudgetInput,
  FieldAction,
  FieldRuleInput,
  MaskStyle,
  ModelPolicyInput,
  PolicyInput,
  Profile,
  RowPolicyInput,
  WriteMode,
  WritePolicyInput,
} from './policy-schema.ts'
export type {
  AutoSetValue,
  BoundField,
  BoundModel,
  BoundPolicy,
  BoundRelation,
  Budget,
  FieldRule,
  ModelPolicy,
  Policy,
  RowPolicy,
  ScopeRule,
  TenantPin,
  WritePolicy,
} from './types.ts'
export { hashValue, maskValue } from './field-transforms.ts'
export { isTesseraOwnTable, TESSERA_OWN_TABLES } from './tessera-tables.ts'
export { isTenantLikeColumn, tenantLikeColumnsOf } from './tenant-pins.ts'
export { looseTenantColumn } from './loose-tenant-column-problems.ts'
export { isReservedName } from './reserved-name-problems.ts'
