/**
 * A fluent way to write a policy in code (docs/contract.md §3). The builder only assembles a `PolicyInput`; `build()`
 * passes it through `definePolicy`, so the result is exactly what the equivalent hand-written input gives.
 *
 * ```ts
 * new PolicyBuilder({ profile: 'PROD' })
 *   .model('Order', { table: 'orders' })
 *   .model('Country', { table: 'countries' })
 *   .denySensitiveDefaults().maskPiiDefaults()
 *   .tenantScope('tenant_id', 'principal.tenantId')
 *   .shared('Country')
 *   .allowFields('Order', ['id', 'status', 'total'])
 *   .enableWrites('Order', { create: 'allow' })
 *   .build(schema)
 * ```
 *
 * Field globs (`*` wildcard, case-insensitive, whole column name) are expanded when the input is produced:
 * - with `build(schema)` / `toInput(schema)`, against the columns of each model's table;
 * - without a schema, against the fields the builder knows by name for that model (its `fields`, literal
 *   `allowFields` names, scoping, aggregation and write columns).
 * A column matched by several rules gets the most restrictive one (deny > hash > mask > allow), so
 * `allowFields('User', ['*'])` never un-denies `password_hash`. Rules written in a model's own `fields` (the
 * second argument of `model()`) are taken as-is and win over globs.
 *
 * `tenantScope(column, path)` scopes every registered model that is not shared, not excluded, and (when a
 * schema is given) whose table has that column; a model left without any scoping fails `definePolicy`.
 */
import { policyInvalid, type PolicyProblem } from '../errors/index.ts'
import type { DbSchema } from '../schema/index.ts'
import { definePolicy } from './define-policy.ts'
import { fieldGlobMatcher, isFieldGlob } from './field-glob.ts'
import type {
  FieldAction,
  FieldRuleInput,
  ModelPolicyInput,
  PolicyInput,
  Profile,
  RowPolicyInput,
  WritePolicyInput,
} from './policy-schema.ts'
import type { Policy } from './types.ts'

export interface PolicyBuilderOptions {
  readonly profile?: Profile
  readonly version?: string
  readonly defaults?: PolicyInput['defaults']
}

export const SENSITIVE_FIELD_GLOBS: readonly string[] = Object.freeze([
  '*password*',
  '*secret*',
  '*token*',
  '*api_key*',
])
export const PII_FIELD_GLOBS: readonly string[] = Object.freeze(['*email*', '*phone*', '*ssn*', '*card*'])

type GlobRule = { readonly glob: string; readonly rule: FieldRuleInput }

const RESTRICTIVENESS: Readonly<Record<FieldAction, number>> = { allow: 0, mask: 1, hash: 2, deny: 3 }

export class PolicyBuilder {
  readonly #options: PolicyBuilderOptions
  readonly #models = new Map<string, ModelPolicyInput>()
  readonly #globRules: GlobRule[] = []
  readonly #allow = new Map<string, string[]>()
  readonly #tenantScopes: { column: string; path: string; exclude: ReadonlySet<string> }[] = []
  readonly #shared = new Set<string>()
  readonly #perModel: { method: string; model: string; apply: (m: ModelPolicyInput) => ModelPolicyInput }[] =
    []

  constructor(options: PolicyBuilderOptions = {}) {
    this.#options = options
  }

  /** Registers a model. `options` is a full model policy; later builder calls add to it. */
  model(name: string, options: ModelPolicyInput): this {
    this.#models.set(name, structuredClone(options))
    return this
  }

  denyFields(...globs: string[]): this {
    return this.fieldRule('deny', ...globs)
  }

  maskFields(...globs: string[]): this {
    return this.fieldRule('mask', ...globs)
  }

  hashFields(...globs: string[]): this {
    return this.fieldRule('hash', ...globs)
  }

  /** Applies `rule` to the columns of every model that match one of `globs`. */
  fieldRule(rule: FieldRuleInput, ...globs: string[]): this {
    for (const glob of globs) this.#globRules.push({ glob, rule })
    return this
  }

  /** Denies columns that commonly hold credentials: password, secret, token, api_key. */
  denySensitiveDefaults(): this {
    return this.denyFields(...SENSITIVE_FIELD_GLOBS)
  }

  /** Masks columns that commonly hold personal data: email, phone, ssn, card. */
  maskPiiDefaults(): this {
    return this.maskFields(...PII_FIELD_GLOBS)
  }

  /** Allows the named fields (or globs) of one model; sensitive globs still win (most restrictive rule). */
  allowFields(model: string, fields: readonly string[]): this {
    this.#allow.set(model, [...(this.#allow.get(model) ?? []), ...fields])
    return this
  }

  tenantScope(column: string, path: string, options: { readonly exclude?: readonly string[] } = {}): this {
    this.#tenantScopes.push({ column, path, exclude: new Set(options.exclude ?? []) })
    return this
  }

  /** Scopes one model (e.g. `tenants` by `id`). */
  scope(model: string, column: string, path: string): this {
    return this.#edit('scope', model, (m) => ({ ...m, scoping: { ...m.scoping, [column]: path } }))
  }

  shared(...models: string[]): this {
    for (const model of models) this.#shared.add(model)
    return this
  }

  rowPolicy(model: string, rule: RowPolicyInput): this {
    return this.#edit('rowPolicy', model, (m) => ({ ...m, rowPolicies: [...(m.rowPolicies ?? []), rule] }))
  }

  relation(
    model: string,
    name: string,
    target: { readonly model: string; readonly foreignKey?: string | string[] },
  ): this {
    return this.#edit('relation', model, (m) => ({
      ...m,
      relations: { ...m.relations, [name]: { ...target } },
    }))
  }

  aggregations(model: string, aggregations: NonNullable<ModelPolicyInput['aggregations']>): this {
    return this.#edit('aggregations', model, (m) => ({ ...m, aggregations: structuredClone(aggregations) }))
  }

  enableWrites(model: string, write: WritePolicyInput): this {
    return this.#edit('enableWrites', model, (m) => ({
      ...m,
      write: { ...m.write, ...structuredClone(write) },
    }))
  }

  /** The assembled input, for inspection or to write out as a policy file. */
  toInput(schema?: DbSchema): PolicyInput {
    const problems: PolicyProblem[] = []
    const registered = (model: string, method: string): boolean => {
      if (this.#models.has(model)) return true
      problems.push({
        path: `models.${model}`,
        message: `${method}('${model}'): call model('${model}', ...) first`,
      })
      return false
    }
    for (const model of this.#shared) registered(model, 'shared')
    for (const model of this.#allow.keys()) registered(model, 'allowFields')
    for (const scope of this.#tenantScopes)
      for (const model of scope.exclude) registered(model, 'tenantScope')

    const models: Record<string, ModelPolicyInput> = {}
    for (const [name, original] of this.#models) {
      let model = structuredClone(original)
      for (const edit of this.#perModel) if (edit.model === name) model = edit.apply(model)
      if (this.#shared.has(name)) model.shared = true
      model = this.#applyTenantScopes(name, model, schema)
      model = this.#applyFieldRules(name, model, schema)
      models[name] = model
    }
    for (const edit of this.#perModel) registered(edit.model, edit.method)
    if (problems.length > 0) throw policyInvalid(problems, 'PolicyBuilder')

    const { profile, version, defaults } = this.#options
    return {
      ...(profile !== undefined ? { profile } : {}),
      ...(version !== undefined ? { version } : {}),
      ...(defaults !== undefined ? { defaults: structuredClone(defaults) } : {}),
      models,
    }
  }

  build(schema?: DbSchema): Policy {
    return definePolicy(this.toInput(schema))
  }

  #edit(method: string, model: string, apply: (m: ModelPolicyInput) => ModelPolicyInput): this {
    this.#perModel.push({ method, model, apply })
    return this
  }

  #applyTenantScopes(name: string, model: ModelPolicyInput, schema: DbSchema | undefined): ModelPolicyInput {
    if (model.shared === true) return model
    const columns = tableColumns(schema, model.table)
    let scoping = model.scoping
    for (const scope of this.#tenantScopes) {
      if (scope.exclude.has(name)) continue
      if (scoping && Object.hasOwn(scoping, scope.column)) continue
      if (columns && !columns.includes(scope.column)) continue
      scoping = { ...scoping, [scope.column]: scope.path }
    }
    return scoping === undefined ? model : { ...model, scoping }
  }

  #applyFieldRules(name: string, model: ModelPolicyInput, schema: DbSchema | undefined): ModelPolicyInput {
    const explicit = model.fields ?? {}
    const allow = this.#allow.get(name) ?? []
    const columns = tableColumns(schema, model.table) ?? knownFields(model, allow)
    const rules: { match: (c: string) => boolean; rule: FieldRuleInput }[] = [
      ...allow.map((glob) => ({ match: fieldGlobMatcher(glob), rule: 'allow' as const })),
      ...this.#globRules.map((g) => ({ match: fieldGlobMatcher(g.glob), rule: g.rule })),
    ]
    const fields: Record<string, FieldRuleInput> = { ...explicit }
    for (const column of columns) {
      if (Object.hasOwn(explicit, column)) continue
      let chosen: FieldRuleInput | undefined
      for (const candidate of rules) {
        if (!candidate.match(column)) continue
        if (
          chosen === undefined ||
          RESTRICTIVENESS[actionOf(candidate.rule)] > RESTRICTIVENESS[actionOf(chosen)]
        ) {
          chosen = candidate.rule
        }
      }
      if (chosen !== undefined) fields[column] = typeof chosen === 'string' ? chosen : { ...chosen }
    }
    return Object.keys(fields).length > 0 ? { ...model, fields } : model
  }
}

function actionOf(rule: FieldRuleInput): FieldAction {
  return typeof rule === 'string' ? rule : rule.action
}

function tableColumns(schema: DbSchema | undefined, table: string): string[] | undefined {
  if (!schema) return undefined
  const key = table.startsWith('public.') ? table.slice('public.'.length) : table
  const info = Object.hasOwn(schema.tables, key) ? schema.tables[key] : undefined
  return info?.columns.map((c) => c.name)
}

/** Without a schema, globs can only be matched against the names this model mentions somewhere. */
function knownFields(model: ModelPolicyInput, allow: readonly string[]): string[] {
  const names = new Set<string>([
    ...Object.keys(model.fields ?? {}),
    ...allow.filter((name) => !isFieldGlob(name)),
    ...Object.keys(model.scoping ?? {}),
    ...(model.aggregations?.fields ?? []),
    ...(model.aggregations?.groupBy ?? []),
    ...Object.keys(model.write?.autoSet ?? {}),
    ...(model.write?.immutableFields ?? []),
    ...(model.write?.requiredFields ?? []),
    ...(model.write?.softDelete ? [model.write.softDelete.field] : []),
  ])
  return [...names]
}
