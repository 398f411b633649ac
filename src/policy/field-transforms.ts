/**
 * The value transforms of `mask` and `hash` fields (docs/contract.md §3). Pure functions over one value; the redaction
 * step applies them to every returned row. Masks keep the shape a human needs (`a***@example.com`,
 * `+1*******671`, `****4242`) and nothing more; hashes are keyed (HMAC-SHA256), so a low-entropy value cannot
 * be recovered by hashing guesses without the secret.
 */
import { createHmac } from 'node:crypto'
import { internalError } from '../errors/index.ts'
import type { ColumnTypeClass } from '../schema/index.ts'
import type { MaskStyle } from './policy-schema.ts'
import type { FieldRule } from './types.ts'

const FULL_MASK = '****'
const PLACEHOLDER = /\{(first|last)(\d{1,2})\}/g
const MAX_PLACEHOLDER = 32
const PHONE_SHAPE = /^\+?[\d\s().-]{7,}$/
/** Fewer digits than this and a phone mask would reveal most of the number: mask every digit. */
const MIN_PHONE_DIGITS_TO_REVEAL = 8
/** Shorter strings are masked completely by `partial` (first + last would reveal half or more). */
const MIN_PARTIAL_LENGTH = 5

/**
 * The secret may be shared with cursor signing; hashing uses its own derived key, so no hash a caller can
 * obtain (by writing a chosen value into a hashed field) is ever a valid signature elsewhere.
 */
const HASH_KEY_LABEL = 'tessera/field-hash/v1'

/**
 * The string form of a column value, or undefined when it has none worth showing (objects, buffers):
 * strings as they are, numbers/bigints/booleans via String, dates as ISO-8601.
 */
function textOf(value: unknown): string | undefined {
  switch (typeof value) {
    case 'string':
      return value
    case 'number':
    case 'bigint':
    case 'boolean':
      return String(value)
    default:
      return value instanceof Date && !Number.isNaN(value.getTime()) ? value.toISOString() : undefined
  }
}

/** Code points, so masking never splits a surrogate pair. */
function chars(text: string): string[] {
  return Array.from(text)
}

function maskPartial(text: string): string {
  const cs = chars(text)
  if (cs.length < MIN_PARTIAL_LENGTH) return '*'.repeat(Math.max(cs.length, 1))
  return `${cs[0]}${'*'.repeat(cs.length - 2)}${cs[cs.length - 1]}`
}

function emailParts(text: string): readonly [string, string] | undefined {
  const at = text.indexOf('@')
  if (at <= 0 || at !== text.lastIndexOf('@') || at === text.length - 1) return undefined
  return [text.slice(0, at), text.slice(at + 1)]
}

function maskEmail(text: string): string {
  const parts = emailParts(text)
  if (parts === undefined) return maskPartial(text)
  const [local, domain] = parts
  // A fixed run of stars: the local part's length is not revealed.
  return `${chars(local)[0] ?? ''}***@${domain}`
}

function maskPhone(text: string): string {
  const digits = text.replace(/\D/g, '')
  if (digits.length === 0) return maskPartial(text)
  const plus = text.trimStart().startsWith('+') ? '+' : ''
  if (digits.length < MIN_PHONE_DIGITS_TO_REVEAL) return `${plus}${'*'.repeat(digits.length)}`
  return `${plus}${digits[0]}${'*'.repeat(digits.length - 4)}${digits.slice(-3)}`
}

function maskByStyle(text: string, style: MaskStyle): string {
  switch (style) {
    case 'email':
      return maskEmail(text)
    case 'phone':
      return maskPhone(text)
    case 'partial':
      return maskPartial(text)
    case 'full':
      return FULL_MASK
    case 'auto':
      if (emailParts(text) !== undefined) return maskEmail(text)
      if (PHONE_SHAPE.test(text)) return maskPhone(text)
      return maskPartial(text)
    default: {
      const unhandled: never = style
      return unhandled
    }
  }
}

/** A problem with a mask pattern, or undefined when it is valid (for the policy validator). */
export function maskPatternProblem(pattern: string): string | undefined {
  for (const match of pattern.matchAll(PLACEHOLDER)) {
    const n = Number(match[2])
    if (n < 1 || n > MAX_PLACEHOLDER) return `${match[0]}: N must be between 1 and ${MAX_PLACEHOLDER}`
  }
  return undefined
}

/**
 * Literal text with `{firstN}` / `{lastN}` replaced by the first / last N characters of the value. However
 * the pattern is written, placeholders together reveal at most half of the value (rounded down), so
 * `****{last4}` on a 4-digit PIN shows `****12`, not the PIN.
 */
function maskByPattern(text: string, pattern: string): string {
  const cs = chars(text)
  let budget = Math.floor(cs.length / 2)
  return pattern.replace(PLACEHOLDER, (placeholder, side: string, count: string) => {
    const wanted = Number(count)
    if (wanted < 1 || wanted > MAX_PLACEHOLDER) return placeholder
    const shown = Math.min(wanted, budget)
    budget -= shown
    if (shown === 0) return ''
    return (side === 'first' ? cs.slice(0, shown) : cs.slice(cs.length - shown)).join('')
  })
}

/**
 * Plain text types (`pg_type.typname` of the column), whose values are free text: only these keep a shape under
 * the `auto` style. Anything else has few possible values or a fixed layout, so its shape is the value: a boolean
 * came back `****` for true and `f***e` for false, a date of birth `1****225` (25 December), an enum label its
 * first and last letter and its length. Domains and enums have their own typname, so they count as not plain.
 */
const FREE_TEXT_TYPES: ReadonlySet<string> = new Set(['text', 'varchar', 'bpchar', 'name', 'citext'])

/**
 * The rule a column actually masks with. Under `auto` only plain text keeps a shape; every other column (a
 * number masked by shape, `1250000.00` → `1*****000`, still tells its magnitude) masks to the fixed token unless
 * the policy asks for a pattern or a style explicitly (`auto` is not asking).
 */
export function columnMaskRule(
  rule: FieldRule,
  column: { readonly typeClass: ColumnTypeClass; readonly udtName: string },
): FieldRule {
  if (rule.action !== 'mask' || rule.pattern !== undefined) return rule
  if (rule.style !== undefined && rule.style !== 'auto') return rule
  const freeText = column.typeClass === 'string' && FREE_TEXT_TYPES.has(column.udtName)
  return freeText ? rule : { ...rule, style: 'full' }
}

/**
 * The masked form of a value: always a string, or null for null/undefined. A `pattern` takes precedence over
 * `style` (default `auto`). Values without a text form (JSON objects, buffers) are masked completely.
 */
export function maskValue(value: unknown, rule: FieldRule): string | null {
  if (value === null || value === undefined) return null
  const text = textOf(value)
  if (text === undefined) return FULL_MASK
  if (rule.pattern !== undefined) return maskByPattern(text, rule.pattern)
  // A JS number or bigint is a quantity whatever column it came from (see columnMaskRule).
  if ((rule.style ?? 'auto') === 'auto' && (typeof value === 'number' || typeof value === 'bigint')) {
    return FULL_MASK
  }
  return maskByStyle(text, rule.style ?? 'auto')
}

function hashKey(secret: string | Uint8Array): Buffer {
  const raw = typeof secret === 'string' ? Buffer.from(secret, 'utf8') : Buffer.from(secret)
  if (raw.length === 0) throw internalError(undefined, new Error('field hash secret is empty'))
  return createHmac('sha256', raw).update(HASH_KEY_LABEL).digest()
}

function hashText(value: unknown): string {
  const text = textOf(value)
  if (text !== undefined) return text
  if (value instanceof Uint8Array) return `\\x${Buffer.from(value).toString('hex')}`
  try {
    return JSON.stringify(value) ?? ''
  } catch (cause) {
    throw internalError(undefined, cause)
  }
}

/**
 * Keyed HMAC-SHA256 (hex) of the value's UTF-8 string form, or null for null/undefined. Stable for one
 * secret (equal values hash equal, so hashes can be compared and joined on); different per secret.
 */
export function hashValue(value: unknown, secret: string | Uint8Array): string | null {
  if (value === null || value === undefined) return null
  return createHmac('sha256', hashKey(secret)).update(hashText(value), 'utf8').digest('hex')
}
