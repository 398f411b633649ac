/**
 * Principal paths (docs/contract.md §3): how a policy names a value of the caller's principal — `principal.tenantId`,
 * `principal.userId`, `principal.roles`, `principal.metadata.<key>...`. Parsing is strict (unknown roots and
 * prototype keys are errors) and resolution reads own properties only, so a policy can never reach into the
 * prototype chain or treat a missing value as "no restriction".
 */
import type { Principal } from '../context/index.ts'
import { printable, tenantScopeRequired, withDetails } from '../errors/index.ts'
import type { PrincipalPath } from './condition/ast.ts'

export type ParsePrincipalPathResult =
  { readonly ok: true; readonly path: PrincipalPath } | { readonly ok: false; readonly message: string }

export type ResolvedPrincipalValue =
  { readonly found: true; readonly value: unknown } | { readonly found: false }

/** A value a comparison can use: what JSON metadata and the validated principal fields can hold. */
export type PrincipalScalar = string | number | boolean

const SEGMENT = /^[A-Za-z_][A-Za-z0-9_]*$/
const MAX_SEGMENT_LENGTH = 63
const MAX_METADATA_DEPTH = 16
const FORBIDDEN_SEGMENTS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype'])
// A Map, not an object literal: a lookup of `constructor` must not find Object.prototype.constructor.
const ROOTS: ReadonlyMap<string, PrincipalPath[0]> = new Map([
  ['tenantId', 'tenantId'],
  ['tenant_id', 'tenantId'],
  ['userId', 'userId'],
  ['user_id', 'userId'],
  ['roles', 'roles'],
  ['metadata', 'metadata'],
])
const KNOWN_PATHS = 'principal.tenantId, principal.userId, principal.roles or principal.metadata.<key>'
const NOT_FOUND: ResolvedPrincipalValue = Object.freeze({ found: false })

export function parsePrincipalPath(text: string): ParsePrincipalPathResult {
  const shown = printable(text)
  const segments = text.split('.')
  if (segments[0] !== 'principal' || segments.length < 2) {
    return fail(`'${shown}' is not a principal path; use ${KNOWN_PATHS}`)
  }
  const rest = segments.slice(1)
  for (const segment of rest) {
    if (FORBIDDEN_SEGMENTS.has(segment)) {
      return fail(`'${printable(segment)}' is not allowed in a principal path ('${shown}')`)
    }
    if (!SEGMENT.test(segment)) {
      return fail(`principal path '${shown}' has an invalid part '${printable(segment)}'`)
    }
    if (segment.length > MAX_SEGMENT_LENGTH) {
      return fail(`principal path '${shown}' has a part longer than ${MAX_SEGMENT_LENGTH} characters`)
    }
  }
  const [rootText, ...keys] = rest
  const root = rootText === undefined ? undefined : ROOTS.get(rootText)
  if (root === undefined) return fail(`unknown principal path '${shown}'; use ${KNOWN_PATHS}`)
  if (root === 'metadata') {
    if (keys.length === 0) return fail(`'${shown}' needs a key, e.g. principal.metadata.orgId`)
    if (keys.length > MAX_METADATA_DEPTH) {
      return fail(`principal path '${shown}' is deeper than ${MAX_METADATA_DEPTH} keys`)
    }
  } else if (keys.length > 0) {
    return fail(`unknown principal path '${shown}': principal.${root} has no parts; use ${KNOWN_PATHS}`)
  }
  return { ok: true, path: Object.freeze([root, ...keys]) as PrincipalPath }
}

/**
 * Own properties only, never the prototype chain, and only through plain objects (not arrays, so
 * `metadata.list.length` resolves to nothing). A missing, undefined or null value is not found, and neither is a
 * blank string: hosts map a missing claim to `''`, and a scope on `''` is one bucket shared by every such caller
 * of every tenant (a blank tenantId is refused at the boundary for the same reason).
 */
export function resolvePrincipalPath(principal: Principal, path: PrincipalPath): ResolvedPrincipalValue {
  let current: unknown = principal
  for (const key of path) {
    if (FORBIDDEN_SEGMENTS.has(key) || !isPlainRecord(current) || !Object.hasOwn(current, key))
      return NOT_FOUND
    current = current[key]
  }
  return current === undefined || current === null || isBlankClaim(current)
    ? NOT_FOUND
    : { found: true, value: current }
}

/**
 * A string with nothing but white space (String.prototype.trim's set): a claim value that counts as none, in
 * memory here and in the RLS claims the executor sets (src/executor/executor.ts), so both walls agree.
 */
export function isBlankClaim(value: unknown): boolean {
  return typeof value === 'string' && value.trim() === ''
}

/** A `JSON.stringify` replacer writing blank claim values as `null`, for the metadata claim RLS reads. */
export function blankClaimAsNull(_key: string, value: unknown): unknown {
  return isBlankClaim(value) ? null : value
}

export function formatPrincipalPath(path: PrincipalPath): string {
  return `principal.${path.join('.')}`
}

/**
 * The value of a path used as one operand of a comparison. Missing, or not a single string / finite number /
 * boolean (a list, an object), is TENANT_SCOPE_REQUIRED: the condition cannot be decided, so nothing is shown.
 */
export function requirePrincipalScalar(principal: Principal, path: PrincipalPath): PrincipalScalar {
  const resolved = resolvePrincipalPath(principal, path)
  if (!resolved.found) throw tenantScopeRequired(formatPrincipalPath(path))
  if (!isScalar(resolved.value)) {
    throw withDetails(tenantScopeRequired(formatPrincipalPath(path)), { expected: 'a single value' })
  }
  return resolved.value
}

/**
 * The value of a path on the right of IN: a list whose items are single values or null. Anything else
 * (a missing value, a string, a list of objects) is TENANT_SCOPE_REQUIRED — never "no restriction".
 */
export function requirePrincipalList(
  principal: Principal,
  path: PrincipalPath,
): readonly (PrincipalScalar | null)[] {
  const resolved = resolvePrincipalPath(principal, path)
  if (!resolved.found) throw tenantScopeRequired(formatPrincipalPath(path))
  const value = resolved.value
  if (!Array.isArray(value) || !value.every((item: unknown) => item === null || isScalar(item))) {
    throw withDetails(tenantScopeRequired(formatPrincipalPath(path)), { expected: 'a list of values' })
  }
  // A blank item names no value, like a null one (see isBlankClaim).
  return (value as readonly (PrincipalScalar | null)[]).map((item) => (isBlankClaim(item) ? null : item))
}

function isScalar(value: unknown): value is PrincipalScalar {
  return (
    typeof value === 'string' ||
    typeof value === 'boolean' ||
    (typeof value === 'number' && Number.isFinite(value))
  )
}

function isPlainRecord(value: unknown): value is Readonly<Record<string, unknown>> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function fail(message: string): ParsePrincipalPathResult {
  return { ok: false, message }
}
