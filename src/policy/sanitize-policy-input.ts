/**
 * First pass over untrusted policy input, before zod: copies it into fresh plain objects and arrays, and
 * reports keys that could pollute prototypes (`__proto__`, `constructor`, `prototype`), objects whose prototype
 * is not the plain one (what `{ __proto__: {...} }` in a literal produces), cycles and absurd nesting. The copy
 * never contains a forbidden key, so the later passes cannot be tricked through them.
 */
import type { PolicyProblem } from '../errors/index.ts'
import { problemPath, type PathSegment } from './problem-path.ts'

const FORBIDDEN_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype'])
const MAX_DEPTH = 32

export function sanitizePolicyInput(input: unknown, problems: PolicyProblem[]): unknown {
  return copy(input, [], problems, new Set<object>())
}

function copy(
  value: unknown,
  path: PathSegment[],
  problems: PolicyProblem[],
  ancestors: Set<object>,
): unknown {
  if (value === null || typeof value !== 'object') return value
  if (path.length > MAX_DEPTH) {
    problems.push({ path: problemPath(path), message: `nested more than ${MAX_DEPTH} levels deep` })
    return undefined
  }
  if (ancestors.has(value)) {
    problems.push({ path: problemPath(path), message: 'circular reference' })
    return undefined
  }
  ancestors.add(value)
  try {
    if (Array.isArray(value)) {
      return value.map((item, i) => copy(item, [...path, i], problems, ancestors))
    }
    const proto: unknown = Object.getPrototypeOf(value)
    if (proto !== Object.prototype && proto !== null) {
      // Policies are plain data. This also catches `{ __proto__: {...} }` written in a literal, which replaces
      // the prototype instead of creating a key.
      problems.push({
        path: problemPath(path),
        message: 'must be plain data (an object with a custom prototype or a `__proto__` key is not allowed)',
      })
      return undefined
    }
    const out: Record<string, unknown> = {}
    for (const key of Object.keys(value)) {
      if (FORBIDDEN_KEYS.has(key)) {
        problems.push({ path: problemPath([...path, key]), message: `key '${key}' is not allowed` })
        continue
      }
      out[key] = copy((value as Record<string, unknown>)[key], [...path, key], problems, ancestors)
    }
    return out
  } finally {
    ancestors.delete(value)
  }
}
