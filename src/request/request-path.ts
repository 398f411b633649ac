/**
 * Paths into a request as callers read them in error details: `where.and[0].value`, `include.items.where`.
 * Keys that are not plain identifiers are quoted and passed through `printable`, so a path can neither carry a
 * huge key nor hide invisible characters.
 */
import { printable } from '../errors/index.ts'

export type PathSegment = string | number

const PLAIN_KEY = /^[A-Za-z_$][A-Za-z0-9_$]*$/

export function formatPath(segments: readonly PathSegment[]): string {
  let out = ''
  for (const segment of segments) {
    if (typeof segment === 'number') {
      out += `[${segment}]`
    } else if (PLAIN_KEY.test(segment) && segment.length <= 64) {
      out += out === '' ? segment : `.${segment}`
    } else {
      out += `[${JSON.stringify(printable(segment))}]`
    }
  }
  return out
}

/** How a path appears inside a message: the empty root path is shown as `(request)`. */
export function describePath(path: string): string {
  return path === '' ? '(request)' : path
}
