/**
 * `definePolicy` (docs/contract.md §3): the one door into a Policy. Untrusted input is copied free of prototype tricks,
 * parsed by the strict zod schema, checked for everything that needs no database, and only then normalised
 * into frozen plain data. All problems are collected and thrown together as one POLICY_INVALID, so a policy
 * author fixes a file in one pass instead of one error at a time.
 */
import type { z } from 'zod'
import { internalError, policyInvalid, type PolicyProblem } from '../errors/index.ts'
import { canonicalJson, sha256Hex } from '../json/index.ts'
import { checkModelInput, ruleMode, type CheckedModel } from './check-model-input.ts'
import { deepFreeze } from './deep-freeze.ts'
import {
  modelPolicySchema,
  policyInputSchema,
  type FieldAction,
  type PolicyInput,
  type Profile,
} from './policy-schema.ts'
import { DEFAULT_PROFILE, DEFAULT_WRITE_POLICY, profiles } from './profiles.ts'
import type {
  AutoSetValue,
  Budget,
  FieldRule,
  ModelPolicy,
  Policy,
  RowPolicy,
  ScopeRule,
  WritePolicy,
} from './types.ts'
import type { TypedModelsCheck, TypedPolicy, TypedPolicyInput } from './typed-policy.ts'
import { sanitizePolicyInput } from './sanitize-policy-input.ts'
import { zodIssuesToProblems } from './zod-issue-problems.ts'

type ParsedPolicy = z.output<typeof policyInputSchema>
type ParsedModel = z.output<typeof modelPolicySchema>
type ParsedBudget = NonNullable<ParsedModel['budget']>

/**
 * Typed from a Kysely database type: `definePolicy<DB>()({ models: … })` checks tables, fields, scoping and
 * the other column names against DB at compile time (see typed-policy.ts); at run time it is the same call.
 */
export function definePolicy<DB>(): <const M extends TypedModelsCheck<DB, M>>(
  input: TypedPolicyInput<M>,
) => TypedPolicy<DB, M>
/** Validates and normalises a policy. Throws POLICY_INVALID listing every problem found. */
export function definePolicy(input: PolicyInput): Policy
export function definePolicy(input?: PolicyInput): Policy | ((typed: never) => unknown) {
  if (input === undefined) return (typed: unknown) => parsePolicy(typed)
  return parsePolicy(input)
}

/**
 * `definePolicy` for input of unknown shape (a parsed file); `origin` (the file's path) is named in the
 * error message.
 */
export function parsePolicy(input: unknown, origin?: string): Policy {
  const problems: PolicyProblem[] = []
  const clean = sanitizePolicyInput(input, problems)
  const parsed = policyInputSchema.safeParse(clean)
  if (!parsed.success) {
    // A value the first pass already rejected (and dropped) would only be reported again as missing.
    const rejected = problems.map((p) => p.path)
    const within = (path: string): boolean =>
      rejected.some((r) => path === r || path.startsWith(`${r}.`) || path.startsWith(`${r}[`))
    for (const problem of zodIssuesToProblems(parsed.error.issues, policyInputSchema)) {
      if (!within(problem.path)) problems.push(problem)
    }
  }

  // Even when the whole input does not parse, each model that parses on its own is checked, so one typo does
  // not hide the other problems.
  const models = parsed.success ? parsed.data.models : modelsThatParse(clean)
  const modelNames = new Set(parsed.success ? Object.keys(parsed.data.models) : modelKeys(clean))
  if (parsed.success && modelNames.size === 0) {
    problems.push({ path: 'models', message: 'a policy needs at least one model' })
  }
  const checked = new Map<string, CheckedModel>()
  for (const [name, model] of Object.entries(models)) {
    checked.set(name, checkModelInput(name, model, modelNames, problems))
  }

  if (problems.length > 0 || !parsed.success) throw policyInvalid(problems, origin)
  return normalisePolicy(parsed.data, checked)
}

function modelKeys(clean: unknown): string[] {
  const models = isRecord(clean) ? clean['models'] : undefined
  return isRecord(models) ? Object.keys(models) : []
}

function modelsThatParse(clean: unknown): Record<string, ParsedModel> {
  const out: Record<string, ParsedModel> = {}
  const models = isRecord(clean) ? clean['models'] : undefined
  if (!isRecord(models)) return out
  for (const [name, value] of Object.entries(models)) {
    const result = modelPolicySchema.safeParse(value)
    if (result.success) out[name] = result.data
  }
  return out
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
}

function normalisePolicy(input: ParsedPolicy, checked: ReadonlyMap<string, CheckedModel>): Policy {
  // `$schema` is an editor hint: it neither changes the policy nor its hash.
  const { $schema: _editorHint, ...source } = input
  const profile: Profile = input.profile ?? DEFAULT_PROFILE
  const base = profiles[profile]
  const fieldAction: FieldAction = input.defaults?.fieldAction ?? base.fieldAction
  const budget = mergeBudget(base.budget, input.defaults?.budget)

  const models: Record<string, ModelPolicy> = {}
  for (const [name, model] of Object.entries(input.models)) {
    const check = checked.get(name)
    if (!check) throw internalError() // unreachable: every model is checked above
    models[name] = normaliseModel(name, model, check, fieldAction, budget)
  }

  const policy: Policy = {
    profile,
    versionHash: sha256Hex(canonicalJson(source)),
    ...(input.version !== undefined ? { version: input.version } : {}),
    defaults: { fieldAction, budget },
    models,
    source: structuredClone(source),
  }
  return deepFreeze(policy)
}

function normaliseModel(
  name: string,
  model: ParsedModel,
  check: CheckedModel,
  policyFieldAction: FieldAction,
  policyBudget: Budget,
): ModelPolicy {
  const fields: Record<string, FieldRule> = {}
  for (const [field, rule] of Object.entries(model.fields ?? {})) {
    fields[field] =
      typeof rule === 'string'
        ? { action: rule }
        : {
            action: rule.action,
            ...(rule.pattern !== undefined ? { pattern: rule.pattern } : {}),
            ...(rule.style !== undefined ? { style: rule.style } : {}),
            ...(rule.writable === true ? { writable: true } : {}),
            ...(rule.untrusted === true ? { untrusted: true } : {}),
            ...(rule.acceptGlobalUnique === true ? { acceptGlobalUnique: true } : {}),
          }
  }

  const scoping: ScopeRule[] = Object.entries(model.scoping ?? {}).map(([column, text]) => ({
    column,
    path: required(check.scopePaths.get(column)),
    source: text,
  }))

  const rowPolicies: RowPolicy[] = (model.rowPolicies ?? []).map((rule, i) => ({
    name: rule.name,
    mode: ruleMode(rule),
    bypass: rule.bypass ?? false,
    crossTenant: rule.crossTenant ?? false,
    condition: required(check.conditions.get(i)),
    source: rule.condition,
  }))

  const relations: Record<string, { model: string; foreignKey?: readonly string[] }> = {}
  for (const [relation, target] of Object.entries(model.relations ?? {})) {
    const fk = target.foreignKey
    relations[relation] = {
      model: target.model,
      ...(fk !== undefined ? { foreignKey: typeof fk === 'string' ? [fk] : [...fk] } : {}),
    }
  }

  return {
    name,
    table: model.table,
    fields,
    defaultFieldAction: model.defaultFieldAction ?? policyFieldAction,
    scoping,
    shared: model.shared === true,
    unscopedColumns: [...(model.unscopedColumns ?? [])],
    rowPolicies,
    relations,
    aggregations: {
      fields: [...(model.aggregations?.fields ?? [])],
      groupBy: [...(model.aggregations?.groupBy ?? [])],
    },
    write: normaliseWrite(model.write, check),
    budget: mergeBudget(policyBudget, model.budget),
    ...(model.description !== undefined ? { description: model.description } : {}),
  }
}

function normaliseWrite(write: ParsedModel['write'], check: CheckedModel): WritePolicy {
  if (!write) return DEFAULT_WRITE_POLICY
  const autoSet: Record<string, AutoSetValue> = {}
  for (const [column, value] of Object.entries(write.autoSet ?? {})) {
    autoSet[column] =
      value === 'now()'
        ? { kind: 'now' }
        : { kind: 'principal', path: required(check.autoSetPaths.get(column)) }
  }
  return {
    create: write.create ?? DEFAULT_WRITE_POLICY.create,
    update: write.update ?? DEFAULT_WRITE_POLICY.update,
    delete: write.delete ?? DEFAULT_WRITE_POLICY.delete,
    autoSet,
    immutableFields: [...(write.immutableFields ?? [])],
    requiredFields: [...(write.requiredFields ?? [])],
    requireReason: write.requireReason ?? DEFAULT_WRITE_POLICY.requireReason,
    reasonMinCharacters: write.reasonMinCharacters ?? DEFAULT_WRITE_POLICY.reasonMinCharacters,
    maxAffectedRows: write.maxAffectedRows ?? DEFAULT_WRITE_POLICY.maxAffectedRows,
    softDelete: write.softDelete ? { field: write.softDelete.field } : null,
    allowHardDelete: write.allowHardDelete ?? DEFAULT_WRITE_POLICY.allowHardDelete,
  }
}

function mergeBudget(base: Budget, override: ParsedBudget | undefined): Budget {
  return {
    maxRows: override?.maxRows ?? base.maxRows,
    maxIncludeDepth: override?.maxIncludeDepth ?? base.maxIncludeDepth,
    maxSelectFields: override?.maxSelectFields ?? base.maxSelectFields,
    statementTimeoutMs: override?.statementTimeoutMs ?? base.statementTimeoutMs,
    maxComplexity: override?.maxComplexity ?? base.maxComplexity,
    broadQueryGuard: override?.broadQueryGuard ?? base.broadQueryGuard,
    broadQueryThreshold: override?.broadQueryThreshold ?? base.broadQueryThreshold,
    maxInItems: override?.maxInItems ?? base.maxInItems,
    maxFilters: override?.maxFilters ?? base.maxFilters,
    maxEstimatedCost: override?.maxEstimatedCost ?? base.maxEstimatedCost,
    maxResultRows: override?.maxResultRows ?? base.maxResultRows,
    maxResultBytes: override?.maxResultBytes ?? base.maxResultBytes,
    maxConcurrentPerTenant: override?.maxConcurrentPerTenant ?? base.maxConcurrentPerTenant,
  }
}

function required<T>(value: T | undefined): T {
  if (value === undefined) throw internalError() // unreachable: a clean check parsed every value
  return value
}
