/**
 * One report for `tessera check` (issue 9, item 15): the policy schema's problems and the binding's (tables,
 * columns, privileges) together, named after the file. `parsePolicy` stops before binding when anything is
 * wrong, so a typo in one model used to hide an unknown table in another; here the models whose own problems
 * are reported are set aside and the rest is bound anyway.
 */
import { isTesseraError, type PolicyProblem } from '../errors/index.ts'
import type { DbSchema } from '../schema/index.ts'
import { bindPolicy } from './bind-policy.ts'
import { parsePolicy } from './define-policy.ts'
import { problemPath } from './problem-path.ts'
import type { BoundPolicy, Policy } from './types.ts'

export interface PolicyCheck {
  /** Set when the whole policy parsed and bound. */
  readonly bound?: BoundPolicy
  readonly policy?: Policy
  /** Every problem found, schema and binding together (empty when `bound` is set). */
  readonly problems: readonly PolicyProblem[]
}

/** Parses and binds `data`; never throws POLICY_INVALID (other errors, e.g. of the database, pass through). */
export function checkPolicyData(data: unknown, schema: DbSchema, origin?: string): PolicyCheck {
  let policy: Policy
  try {
    policy = parsePolicy(data, origin)
  } catch (error) {
    const parseProblems = problemsOf(error)
    return { problems: merge(parseProblems, bindWhatParses(data, schema, parseProblems)) }
  }
  try {
    return { policy, bound: bindPolicy(policy, schema), problems: [] }
  } catch (error) {
    return { policy, problems: problemsOf(error) }
  }
}

/**
 * Binds the models that have no problem of their own; a few rounds, because removing a model can make another
 * one's relation to it a new schema problem, which removes that model too. Top-level problems (profile,
 * defaults) leave nothing trustworthy to bind.
 */
function bindWhatParses(
  data: unknown,
  schema: DbSchema,
  parseProblems: readonly PolicyProblem[],
): PolicyProblem[] {
  if (!isRecord(data) || !isRecord(data['models'])) return []
  const models = data['models']
  let broken = new Set(Object.keys(models).filter((name) => parseProblems.some((p) => within(p.path, name))))
  const outside = parseProblems.some((p) => !Object.keys(models).some((name) => within(p.path, name)))
  if (outside) return []
  for (let round = 0; round < 3; round++) {
    const rest = Object.fromEntries(Object.entries(models).filter(([name]) => !broken.has(name)))
    if (Object.keys(rest).length === 0) return []
    let policy: Policy
    try {
      policy = parsePolicy({ ...data, models: rest })
    } catch (error) {
      const more = problemsOf(error)
      const next = new Set(broken)
      for (const name of Object.keys(rest)) if (more.some((p) => within(p.path, name))) next.add(name)
      if (next.size === broken.size) return []
      broken = next
      continue
    }
    try {
      bindPolicy(policy, schema)
      return []
    } catch (error) {
      return problemsOf(error)
    }
  }
  return []
}

function within(path: string, model: string): boolean {
  const prefix = problemPath(['models', model])
  return path === prefix || path.startsWith(`${prefix}.`) || path.startsWith(`${prefix}[`)
}

function problemsOf(error: unknown): PolicyProblem[] {
  if (!isTesseraError(error) || error.code !== 'POLICY_INVALID') throw error
  const problems = error.details['problems']
  if (!Array.isArray(problems)) return [{ path: '(policy)', message: error.message }]
  return problems.filter(
    (p): p is PolicyProblem =>
      isRecord(p) && typeof p['path'] === 'string' && typeof p['message'] === 'string',
  )
}

function merge(a: readonly PolicyProblem[], b: readonly PolicyProblem[]): PolicyProblem[] {
  const seen = new Set(a.map((p) => `${p.path}\u0000${p.message}`))
  return [...a, ...b.filter((p) => !seen.has(`${p.path}\u0000${p.message}`))]
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
}
