/**
 * Renders a path into the policy as problems name it: `models.Order.rowPolicies[0].condition`. Keys that are
 * not plain identifiers are quoted (`models["Bad Name"]`) so a message can never be misread.
 */
import { printable } from '../errors/index.ts'

export type PathSegment = string | number

const PLAIN_KEY = /^[A-Za-z_$][A-Za-z0-9_$]*$/

export function problemPath(segments: readonly PathSegment[]): string {
  let out = ''
  for (const segment of segments) {
    if (typeof segment === 'number') out += `[${segment}]`
    else if (PLAIN_KEY.test(segment)) out += out === '' ? segment : `.${segment}`
    else out += `[${JSON.stringify(printable(segment))}]`
  }
  return out === '' ? '(policy)' : out
}
