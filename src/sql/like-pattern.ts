/**
 * LIKE patterns for the pattern operators. The request's text must match literally, so LIKE's metacharacters
 * are escaped with LIKE's default escape character `\` (the statement says `escape '\'`); how a pattern is
 * written is a matter of SQL, so it lives with the printers.
 */
import type { FilterOp } from '../planner/index.ts'

export type PatternOp = Extract<FilterOp, 'contains' | 'startswith' | 'endswith'>

/** Escapes LIKE metacharacters so the text matches literally with the default escape character `\`. */
export function escapeLikePattern(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`)
}

/** The LIKE pattern for a pattern op; print it as `column LIKE $n escape '\'`. */
export function likePatternFor(op: PatternOp, value: string): string {
  const literal = escapeLikePattern(value)
  switch (op) {
    case 'contains':
      return `%${literal}%`
    case 'startswith':
      return `${literal}%`
    case 'endswith':
      return `%${literal}`
    default: {
      const unhandled: never = op
      throw new Error(`unsupported pattern operator ${String(unhandled)}`)
    }
  }
}
