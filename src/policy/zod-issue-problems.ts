/**
 * Turns zod issues from the strict policy schema into problems that name the exact key path
 * (`models.Order.rowPolicies[0].bypas`) with a message a policy author can act on: unknown keys get a
 * "did you mean" when a known key is close, and union failures report the branch that matches the input's
 * shape instead of zod's generic "Invalid input".
 */
import { z } from 'zod'
import { internalError, type PolicyProblem } from '../errors/index.ts'
import { problemPath, type PathSegment } from './problem-path.ts'

type Issue = z.core.$ZodIssue

export function zodIssuesToProblems(
  issues: readonly Issue[],
  rootSchema: z.ZodType,
  basePath: readonly PathSegment[] = [],
): PolicyProblem[] {
  const problems: PolicyProblem[] = []
  for (const issue of issues) collect(issue, basePath, rootSchema, problems)
  return problems
}

function collect(issue: Issue, prefix: readonly PathSegment[], root: z.ZodType, out: PolicyProblem[]): void {
  const path = [...prefix, ...segments(issue.path)]
  switch (issue.code) {
    case 'unrecognized_keys': {
      const known = knownKeys(root, path)
      for (const key of issue.keys) {
        const suggestion = closest(key, known)
        out.push({
          path: problemPath([...path, key]),
          message: `unknown key '${key}'${suggestion ? ` (did you mean '${suggestion}'?)` : ''}`,
        })
      }
      return
    }
    case 'invalid_union': {
      const branches = issue.errors.filter((branch) => !branch.some(isRootTypeMismatch))
      if (branches.length === 1 && branches[0]) {
        for (const nested of branches[0]) collect(nested, path, root, out)
        return
      }
      const expected = issue.errors
        .flatMap((branch) => branch.filter(isRootTypeMismatch).map((i) => describeExpected(i)))
        .filter((e, i, all) => all.indexOf(e) === i)
      const message =
        branches.length === 0 && expected.length > 0
          ? `expected ${expected.join(' or ')}`
          : issue.errors
              .flat()
              .map((i) => i.message)
              .filter((m, i, all) => all.indexOf(m) === i)
              .join('; or ')
      out.push({ path: problemPath(path), message })
      return
    }
    case 'invalid_key': {
      const reasons = issue.issues.map((i) => i.message).join('; ')
      out.push({ path: problemPath(path), message: `invalid key: ${reasons}` })
      return
    }
    case 'invalid_type': {
      // zod reports a missing key as a type mismatch against `undefined`.
      const missing = /received undefined$/.test(issue.message)
      out.push({
        path: problemPath(path),
        message: missing ? `required (expected ${issue.expected})` : issue.message,
      })
      return
    }
    case 'invalid_element':
    case 'too_big':
    case 'too_small':
    case 'invalid_format':
    case 'not_multiple_of':
    case 'invalid_value':
    case 'custom':
      out.push({ path: problemPath(path), message: issue.message })
      return
    default: {
      const unhandled: never = issue
      throw internalError(undefined, unhandled)
    }
  }
}

function segments(path: readonly PropertyKey[]): PathSegment[] {
  return path.map((p) => (typeof p === 'number' ? p : String(p)))
}

function isRootTypeMismatch(issue: Issue): boolean {
  return issue.path.length === 0 && issue.code === 'invalid_type'
}

function describeExpected(issue: Issue): string {
  return issue.code === 'invalid_type' ? `a ${issue.expected}` : issue.message
}

/** The keys an object at `path` may have, found by walking the schema the same way the input was walked. */
function knownKeys(root: z.ZodType, path: readonly PathSegment[]): string[] {
  let node: z.ZodType | undefined = root
  for (const segment of path) {
    node = node === undefined ? undefined : child(unwrap(node), segment)
  }
  const target = node === undefined ? undefined : objectOf(unwrap(node))
  return target ? Object.keys(target.shape) : []
}

function unwrap(node: z.ZodType): z.ZodType {
  let current = node
  while (current instanceof z.ZodOptional || current instanceof z.ZodNullable) {
    current = current.unwrap() as z.ZodType
  }
  return current
}

function objectOf(node: z.ZodType): z.ZodObject | undefined {
  if (node instanceof z.ZodObject) return node
  if (node instanceof z.ZodUnion) {
    for (const option of node.options as readonly z.ZodType[]) {
      const found = objectOf(unwrap(option))
      if (found) return found
    }
  }
  return undefined
}

function child(node: z.ZodType, segment: PathSegment): z.ZodType | undefined {
  if (node instanceof z.ZodArray) return typeof segment === 'number' ? (node.element as z.ZodType) : undefined
  if (node instanceof z.ZodRecord) return node.valueType as z.ZodType
  const object = objectOf(node)
  if (object && typeof segment === 'string' && Object.hasOwn(object.shape, segment)) {
    return object.shape[segment] as z.ZodType
  }
  return undefined
}

function closest(key: string, known: readonly string[]): string | undefined {
  let best: string | undefined
  let bestDistance = Number.POSITIVE_INFINITY
  for (const candidate of known) {
    const d = editDistance(key.toLowerCase(), candidate.toLowerCase())
    if (d < bestDistance) {
      best = candidate
      bestDistance = d
    }
  }
  return best !== undefined && bestDistance <= Math.max(2, Math.floor(key.length / 3)) ? best : undefined
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i)
  for (let i = 1; i <= a.length; i++) {
    let previous = row[0] ?? 0
    row[0] = i
    for (let j = 1; j <= b.length; j++) {
      const current = row[j] ?? 0
      row[j] = Math.min(current + 1, (row[j - 1] ?? 0) + 1, previous + (a[i - 1] === b[j - 1] ? 0 : 1))
      previous = current
    }
  }
  return row[b.length] ?? 0
}
