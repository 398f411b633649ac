/**
 * Turns zod issues into VALIDATION_ERROR issues a caller (often an agent) can act on: one precise path per
 * problem instead of zod's union trees, and messages that never echo request text except through
 * `printable` (cut, control and invisible characters replaced).
 */
import type { z } from 'zod'
import { printable, validationError, type TesseraError, type ValidationIssue } from '../errors/index.ts'
import { describePath, formatPath, type PathSegment } from './request-path.ts'

type Issue = z.core.$ZodIssue

const MAX_REPORTED_ISSUES = 20
const MAX_MESSAGE_LENGTH = 300

/** Weight of an issue that says "the input is not this branch's kind of value at all". */
const WRONG_TYPE = 2
/** Weight of an issue that says "the input has a key this branch does not know, or lacks one it needs". */
const WRONG_KEYS = 1

function segmentsOf(path: readonly PropertyKey[]): PathSegment[] {
  return path.map((s) => (typeof s === 'number' ? s : String(s)))
}

function clip(text: string): string {
  return text.length > MAX_MESSAGE_LENGTH ? `${text.slice(0, MAX_MESSAGE_LENGTH - 3)}...` : text
}

function messageOf(issue: Issue): string {
  switch (issue.code) {
    case 'unrecognized_keys': {
      const shown = issue.keys.slice(0, 5).map((k) => `'${printable(k)}'`)
      const more = issue.keys.length > 5 ? ` and ${issue.keys.length - 5} more` : ''
      return `unknown key${issue.keys.length === 1 ? '' : 's'} ${shown.join(', ')}${more}`
    }
    case 'invalid_key': {
      const inner = issue.issues[0]
      return `invalid name: ${inner ? inner.message : 'must be a plain identifier'}`
    }
    default:
      return issue.message
  }
}

/** zod's discriminated union reports "no matching discriminator" as a union issue with no branches. */
function isMissingDiscriminator(issue: Issue): boolean {
  return issue.code === 'invalid_union' && issue.errors.length === 0
}

function hasOwnKey(value: unknown, key: PathSegment): boolean {
  return typeof value === 'object' && value !== null && Object.hasOwn(value, key)
}

function childOf(value: unknown, key: PathSegment): unknown {
  if (!hasOwnKey(value, key)) return undefined
  return (value as Record<PathSegment, unknown>)[key]
}

/**
 * How badly a union branch's issues say the input has the wrong shape for that branch (0: the input is this
 * kind of value, it just has problems inside). `value` is the input at the union's path.
 */
function mismatch(branch: readonly Issue[], value: unknown): number {
  let score = 0
  for (const issue of branch) {
    if (issue.path.length === 0) {
      if (issue.code === 'unrecognized_keys') score += WRONG_KEYS
      else if (issue.code === 'invalid_union')
        score += pickBranch(issue, value) === undefined ? WRONG_TYPE : 0
      else if (issue.code === 'invalid_type' || issue.code === 'invalid_value') score += WRONG_TYPE
    } else if (issue.path.length === 1) {
      // A key the branch needs that the input does not have: a missing discriminator (`op`) means another
      // kind of value; a missing member (`and`, or `value` of a comparison) may be a mistake inside.
      const key = issue.path[0]
      if ((typeof key === 'string' || typeof key === 'number') && !hasOwnKey(value, key)) {
        score += isMissingDiscriminator(issue) ? WRONG_TYPE : WRONG_KEYS
      }
    }
  }
  return score
}

/**
 * zod reports a failed union with the issues of every branch. The filter, include and id unions are told
 * apart by shape (which keys are present, array, object or scalar), so one branch usually fits the input
 * best: report that branch's issues. When none fits better than the others, the union's own message (which
 * lists the accepted shapes) is reported at the union's path.
 */
function pickBranch(issue: Issue, value: unknown): readonly Issue[] | undefined {
  if (issue.code !== 'invalid_union' || issue.errors.length === 0) return undefined
  const scores = issue.errors.map((branch) => mismatch(branch, value))
  const best = Math.min(...scores)
  const winners = scores.filter((s) => s === best).length
  return winners === 1 ? issue.errors[scores.indexOf(best)] : undefined
}

function valueAtPath(root: unknown, path: readonly PathSegment[]): unknown {
  let at = root
  for (const segment of path) at = childOf(at, segment)
  return at
}

function flatten(
  issues: readonly Issue[],
  base: readonly PathSegment[],
  root: unknown,
  out: ValidationIssue[],
): void {
  for (const issue of issues) {
    const at = [...base, ...segmentsOf(issue.path)]
    const branch = pickBranch(issue, valueAtPath(root, at))
    if (branch !== undefined) flatten(branch, at, root, out)
    else out.push({ path: formatPath(at), message: clip(messageOf(issue)) })
  }
}

/** `input` is what was parsed: union branches are chosen by the shape of the input at the union's path. */
export function zodIssuesToValidationIssues(issues: readonly Issue[], input: unknown): ValidationIssue[] {
  const out: ValidationIssue[] = []
  flatten(issues, [], input, out)
  return out
}

/** `what` names the request in the message, e.g. `query request`. */
export function zodErrorToValidationError(error: z.ZodError, input: unknown, what: string): TesseraError {
  const issues = zodIssuesToValidationIssues(error.issues, input)
  const first = issues[0]
  const summary = first ? `${describePath(first.path)}: ${first.message}` : 'invalid input'
  const more =
    issues.length > 1 ? ` (and ${issues.length - 1} more problem${issues.length > 2 ? 's' : ''})` : ''
  return validationError(`Invalid ${what}: ${summary}${more}`, issues.slice(0, MAX_REPORTED_ISSUES))
}
