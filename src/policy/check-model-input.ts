/**
 * Checks on one model of a schema-valid policy that need no database (docs/contract.md §3, "strict and fail-closed"):
 * every model says how its rows are scoped, conditions parse, bypass rules test only the principal, principal
 * paths resolve to something the principal can carry, relations point at models of the policy, and write
 * settings do not contradict each other. Every problem is pushed; nothing stops at the first.
 */
import type { PolicyProblem, PolicyProblemReason } from '../errors/index.ts'
import type { ConditionNode, PrincipalPath } from './condition/ast.ts'
import { isPrincipalOnly, referencedFields } from './condition/evaluate-condition.ts'
import { tryParseCondition } from './condition/parse-condition.ts'
import { maskPatternProblem } from './field-transforms.ts'
import { crossTenantReasons, nonTenantClaims, TENANT_LIKE_COLUMNS } from './cross-tenant-rule.ts'
import { isTenantLikeColumn } from './tenant-pins.ts'
import type { ModelPolicyInput, RowPolicyInput } from './policy-schema.ts'
import { parsePrincipalPath } from './principal-path.ts'
import { problemPath, type PathSegment } from './problem-path.ts'

/** What the checks parsed, so normalisation does not parse twice. Complete only when no problem was found. */
export interface CheckedModel {
  readonly conditions: ReadonlyMap<number, ConditionNode>
  readonly scopePaths: ReadonlyMap<string, PrincipalPath>
  readonly autoSetPaths: ReadonlyMap<string, PrincipalPath>
}

const MASK_PLACEHOLDER = /\{([^{}]*)\}/g
const KNOWN_PLACEHOLDER = /^(last|first)[0-9]{1,2}$/

export function checkModelInput(
  name: string,
  model: ModelPolicyInput,
  modelNames: ReadonlySet<string>,
  problems: PolicyProblem[],
): CheckedModel {
  const at = (...rest: PathSegment[]): string => problemPath(['models', name, ...rest])
  const report = (path: string, message: string, reason?: PolicyProblemReason): void => {
    problems.push(reason === undefined ? { path, message } : { path, message, reason })
  }

  const rules = model.rowPolicies ?? []
  const hasScoping = Object.keys(model.scoping ?? {}).length > 0
  const permissive = rules.filter((r) => ruleMode(r) === 'permissive' && r.bypass !== true)
  if (!hasScoping && permissive.length === 0 && model.shared !== true) {
    const unmarked = rules.filter((r) => r.mode === undefined && r.bypass !== true).map((r) => `'${r.name}'`)
    report(
      at(),
      'model has no tenant scoping: add scoping, a row policy with mode: permissive, or shared: true' +
        (unmarked.length > 0
          ? ` (row policy ${unmarked.join(', ')} has no mode, so it is restrictive: it can only narrow)`
          : ''),
    )
  }
  // Tenant-like names however spelled (tenantId, orgId): the ones the rules mention join the canonical list.
  const mentioned = rules.flatMap((r) => {
    const parsed = tryParseCondition(r.condition)
    return parsed.ok ? [...referencedFields(parsed.node)].filter(isTenantLikeColumn) : []
  })
  const tenantColumns = new Set([...TENANT_LIKE_COLUMNS, ...mentioned, ...Object.keys(model.scoping ?? {})])
  if (model.shared === true && hasScoping) {
    report(at('shared'), 'a shared model cannot also have scoping: remove one of them')
  }

  const conditions = new Map<number, ConditionNode>()
  const seenNames = new Set<string>()
  rules.forEach((rule, i) => {
    const mode = ruleMode(rule)
    if (seenNames.has(rule.name)) {
      report(at('rowPolicies', i, 'name'), `duplicate row policy name '${rule.name}'`)
    }
    seenNames.add(rule.name)
    if (rule.bypass === true && mode === 'restrictive') {
      report(at('rowPolicies', i, 'mode'), `bypass rule '${rule.name}' cannot be restrictive`)
    }
    if (model.shared === true && mode === 'permissive' && rule.bypass !== true) {
      report(
        at('rowPolicies', i, 'mode'),
        `row policy '${rule.name}' is permissive but the model is shared (every row is already visible); ` +
          'use mode: restrictive to narrow a shared model',
      )
    }
    const parsed = tryParseCondition(rule.condition)
    if (!parsed.ok) {
      report(
        at('rowPolicies', i, 'condition'),
        `row policy '${rule.name}': ${parsed.message} at position ${parsed.position}`,
      )
      return
    }
    conditions.set(i, parsed.node)
    const principalOnly = isPrincipalOnly(parsed.node)
    if (rule.bypass === true && !principalOnly) {
      const fields = [...referencedFields(parsed.node)].join(', ')
      report(
        at('rowPolicies', i, 'condition'),
        `bypass rule '${rule.name}' may test only the principal, but its condition mentions row field(s) ${fields}`,
      )
    }
    if (rule.bypass !== true && mode === 'permissive' && principalOnly) {
      // Such a rule makes every row of every tenant visible whenever it holds: that is a bypass, and a
      // bypass must be declared so it is audited.
      report(
        at('rowPolicies', i, 'condition'),
        `permissive row policy '${rule.name}' mentions no row field, so it would show every tenant's rows; ` +
          'declare it with bypass: true or add a row condition',
      )
      return
    }
    if (rule.bypass !== true && mode === 'permissive' && rule.crossTenant !== true && model.shared !== true) {
      for (const message of crossTenantMessages(rule.name, parsed.node, tenantColumns, hasScoping)) {
        report(at('rowPolicies', i, 'condition'), message)
      }
    }
  })

  const claim = claimColumns(model, conditions, rules)
  rules.forEach((rule, i) => {
    const condition = conditions.get(i)
    if (claim === undefined || condition === undefined) return
    if (rule.bypass === true || ruleMode(rule) !== 'permissive' || rule.crossTenant === true) return
    if (model.shared === true) return
    const columns = nonTenantClaims(condition, claim, !hasScoping)
    if (columns === undefined) return
    report(
      at('rowPolicies', i, 'condition'),
      nonTenantClaimMessage(rule.name, columns, claim, hasScoping),
      'permissive_rule_crosses_tenant',
    )
  })

  rules.forEach((rule, i) => {
    if (rule.crossTenant === true && (ruleMode(rule) !== 'permissive' || rule.bypass === true)) {
      report(
        at('rowPolicies', i, 'crossTenant'),
        `crossTenant only applies to a permissive rule ('${rule.name}' is ` +
          `${rule.bypass === true ? 'a bypass' : 'restrictive'}): remove it`,
      )
    }
  })

  const scopePaths = new Map<string, PrincipalPath>()
  for (const [column, text] of Object.entries(model.scoping ?? {})) {
    const path = checkSingleValuePath(text, at('scoping', column), problems)
    if (path) scopePaths.set(column, path)
  }

  for (const [relation, target] of Object.entries(model.relations ?? {})) {
    if (!modelNames.has(target.model)) {
      report(
        at('relations', relation, 'model'),
        `relation target '${target.model}' is not a model of this policy`,
      )
    }
  }

  for (const [field, rule] of Object.entries(model.fields ?? {})) {
    if (typeof rule === 'string') continue
    if (rule.action !== 'mask' && rule.pattern !== undefined) {
      report(at('fields', field, 'pattern'), `pattern is only valid with action 'mask' (field '${field}')`)
    }
    if (rule.action !== 'mask' && rule.style !== undefined) {
      report(at('fields', field, 'style'), `style is only valid with action 'mask' (field '${field}')`)
    }
    if (rule.writable !== undefined && rule.action !== 'mask' && rule.action !== 'hash') {
      report(
        at('fields', field, 'writable'),
        `writable only applies to mask and hash fields ('${field}' is ${rule.action}: ` +
          (rule.action === 'allow' ? 'already writable where the write policy allows' : 'never writable') +
          ')',
      )
    }
    if (rule.pattern !== undefined && rule.style !== undefined) {
      report(at('fields', field), `give either a mask pattern or a mask style for field '${field}', not both`)
    }
    if (rule.pattern !== undefined) checkMaskPattern(rule.pattern, at('fields', field, 'pattern'), problems)
  }

  const unscoped = model.unscopedColumns ?? []
  reportDuplicates(unscoped, (i) => at('unscopedColumns', i), problems)
  unscoped.forEach((column, i) => {
    if (model.scoping && Object.hasOwn(model.scoping, column)) {
      report(at('unscopedColumns', i), `column '${column}' is both scoped and listed as unscoped`)
    }
  })

  const aggregations = model.aggregations ?? {}
  reportDuplicates(aggregations.fields ?? [], (i) => at('aggregations', 'fields', i), problems)
  reportDuplicates(aggregations.groupBy ?? [], (i) => at('aggregations', 'groupBy', i), problems)

  const autoSetPaths = checkWrite(model, at, problems)
  return { conditions, scopePaths, autoSetPaths }
}

function checkWrite(
  model: ModelPolicyInput,
  at: (...rest: PathSegment[]) => string,
  problems: PolicyProblem[],
): Map<string, PrincipalPath> {
  const autoSetPaths = new Map<string, PrincipalPath>()
  const write = model.write
  if (!write) return autoSetPaths
  const autoSet = write.autoSet ?? {}
  for (const [column, value] of Object.entries(autoSet)) {
    if (value === 'now()') continue
    const path = checkSingleValuePath(value, at('write', 'autoSet', column), problems)
    if (path) autoSetPaths.set(column, path)
  }
  const softDelete = write.softDelete?.field
  if (softDelete !== undefined && Object.hasOwn(autoSet, softDelete)) {
    problems.push({
      path: at('write', 'softDelete', 'field'),
      message: `soft-delete field '${softDelete}' cannot also be autoSet`,
    })
  }
  const required = write.requiredFields ?? []
  required.forEach((field, i) => {
    if (Object.hasOwn(autoSet, field)) {
      problems.push({
        path: at('write', 'requiredFields', i),
        message: `'${field}' is set by the server (autoSet) and cannot be required in data`,
      })
    }
    if (field === softDelete) {
      problems.push({
        path: at('write', 'requiredFields', i),
        message: `soft-delete field '${field}' cannot be required in data`,
      })
    }
  })
  reportDuplicates(required, (i) => at('write', 'requiredFields', i), problems)
  reportDuplicates(write.immutableFields ?? [], (i) => at('write', 'immutableFields', i), problems)
  if (write.allowHardDelete === true && softDelete === undefined) {
    problems.push({
      path: at('write', 'allowHardDelete'),
      message: 'allowHardDelete only applies together with softDelete',
    })
  }
  return autoSetPaths
}

/** Scoping and autoSet compare or store one value, so a list-valued path (`principal.roles`) cannot serve. */
function checkSingleValuePath(
  text: string,
  path: string,
  problems: PolicyProblem[],
): PrincipalPath | undefined {
  const parsed = parsePrincipalPath(text)
  if (!parsed.ok) {
    problems.push({ path, message: parsed.message })
    return undefined
  }
  if (parsed.path[0] === 'roles') {
    problems.push({
      path,
      message: `'${text}' is a list; this needs a single value such as principal.tenantId`,
    })
    return undefined
  }
  return parsed.path
}

function checkMaskPattern(pattern: string, path: string, problems: PolicyProblem[]): void {
  for (const match of pattern.matchAll(MASK_PLACEHOLDER)) {
    const placeholder = match[1] ?? ''
    if (!KNOWN_PLACEHOLDER.test(placeholder)) {
      problems.push({ path, message: `unknown mask placeholder '{${placeholder}}': use {lastN} or {firstN}` })
    }
  }
  const rangeProblem = maskPatternProblem(pattern)
  if (rangeProblem !== undefined) problems.push({ path, message: rangeProblem })
}

function reportDuplicates(
  items: readonly string[],
  pathOf: (index: number) => string,
  problems: PolicyProblem[],
): void {
  items.forEach((item, i) => {
    if (items.indexOf(item) !== i) problems.push({ path: pathOf(i), message: `duplicate entry '${item}'` })
  })
}

/** A rule's mode as written, or its default: restrictive (it can only narrow); a bypass is never restrictive. */
export function ruleMode(rule: RowPolicyInput): 'permissive' | 'restrictive' {
  return rule.mode ?? (rule.bypass === true ? 'permissive' : 'restrictive')
}

/**
 * Problems of a permissive rule that reaches other tenants' rows (cross-tenant-rule.ts). A branch that pins no
 * row field to the principal only widens across tenants where scoping would otherwise hold; on a model scoped
 * by permissive rules alone the shared-resources pattern (`is_public = true OR tenant_id = ...`) is the
 * intended use. A tenant column compared with a literal names another tenant on any model.
 */
function crossTenantMessages(
  name: string,
  condition: ConditionNode,
  tenantColumns: ReadonlySet<string>,
  scoped: boolean,
): string[] {
  const fix =
    "if only narrowing was meant, remove mode: 'permissive' (a rule without mode is restrictive); " +
    'if other tenants must see these rows, add crossTenant: true'
  const messages: string[] = []
  const reasons = crossTenantReasons(condition, tenantColumns)
  const named = reasons.some((r) => r.kind === 'tenant_literal')
  for (const reason of reasons) {
    switch (reason.kind) {
      case 'unpinned_branch':
        // A literal tenant names the problem more precisely than "a branch".
        if (scoped && !named) {
          messages.push(
            `permissive row policy '${name}' has a branch that does not tie a row field to the principal ` +
              `(field = principal.… or field IN principal.…), so it shows rows of every tenant; ${fix}`,
          )
        }
        break
      case 'tenant_literal':
        messages.push(
          `permissive row policy '${name}' compares tenant column '${reason.column}' with a literal, so it ` +
            `shows that tenant's rows to every caller; compare it with a principal path instead, or ${fix}`,
        )
        break
      default: {
        const never: never = reason
        throw new Error(`unhandled cross-tenant reason ${String(never)}`)
      }
    }
  }
  return messages
}

/**
 * The columns that place a row in a tenant, when the model has a tenant boundary a permissive rule could cross
 * (cross-tenant-rule.ts nonTenantClaims): scoped columns that are tenant-like or scoped to `principal.tenantId`,
 * and every tenant-like column not waived in `unscopedColumns`. A model without such a scope has a boundary
 * when one of its permissive rules tests a tenant-like column (binding refuses an unwaived tenant-like column
 * that no rule uses). Undefined: no boundary (e.g. a table scoped by `owner_id` alone).
 */
function claimColumns(
  model: ModelPolicyInput,
  conditions: ReadonlyMap<number, ConditionNode>,
  rules: readonly RowPolicyInput[],
): ReadonlySet<string> | undefined {
  const waived = new Set(model.unscopedColumns ?? [])
  const isTenantLike = (c: string): boolean => isTenantLikeColumn(c) && !waived.has(c)
  const mentioned = [...conditions.values()].flatMap((c) => [...referencedFields(c)])
  const tenantLike = [...new Set([...TENANT_LIKE_COLUMNS, ...mentioned])].filter(isTenantLike)
  const scopedTenant = Object.entries(model.scoping ?? {})
    .filter(([column, text]) => {
      const path = parsePrincipalPath(text)
      return isTenantLike(column) || (path.ok && path.path.length === 1 && path.path[0] === 'tenantId')
    })
    .map(([column]) => column)
  const columns = new Set([...tenantLike, ...scopedTenant])
  if (scopedTenant.length > 0) return columns
  const testsTenant = rules.some((rule, i) => {
    const condition = conditions.get(i)
    return (
      condition !== undefined &&
      ruleMode(rule) === 'permissive' &&
      rule.bypass !== true &&
      [...referencedFields(condition)].some(isTenantLike)
    )
  })
  return testsTenant ? columns : undefined
}

function nonTenantClaimMessage(
  name: string,
  columns: readonly string[],
  tenantColumns: ReadonlySet<string>,
  scoped: boolean,
): string {
  const pins = columns.map((c) => `'${c}'`).join(', ')
  const tenant = [...tenantColumns].find((c) => c === 'tenant_id') ?? [...tenantColumns][0] ?? 'tenant_id'
  const how = scoped
    ? "to show only the caller's own rows, remove mode: 'permissive' (a rule without mode narrows the " +
      `tenant's rows); to widen inside the tenant, add \`${tenant} = principal.tenantId AND\` to that branch`
    : `add \`${tenant} = principal.tenantId AND\` to that branch`
  return (
    `permissive row policy '${name}' ties rows to the caller only through ${pins}, which is not a tenant ` +
    `column, so it also shows rows of other tenants holding the same value (a user id or claim need not be ` +
    `unique across tenants)${scoped ? '; a permissive rule is ORed with the scoping' : ''}. ${how}; if other ` +
    `tenants' rows must show, add crossTenant: true`
  )
}
