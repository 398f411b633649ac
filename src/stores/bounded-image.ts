/**
 * Bounds what the audit and the approval store keep of a record image or a request: a long string value, or
 * a JSON value whose text is long, is cut and ends with the sha256 of the WHOLE value, so the stored record
 * still identifies exactly what was written (anyone holding the value can check it) without keeping megabytes
 * of it in memory for every call. An image with many rows keeps as many as fit the total and digests the rest.
 */
import { canonicalJson, sha256Hex } from '../json/index.ts'
import { redactImageSecrets } from './audit-sanitize.ts'

/** Longest string (or JSON text of an object value) kept whole. */
export const MAX_IMAGE_VALUE_CHARS = 2_048
/** Rough total kept of one image; rows beyond it are replaced by one digest entry. */
export const MAX_IMAGE_CHARS = 256 * 1024

function cut(text: string): string {
  return `${text.slice(0, MAX_IMAGE_VALUE_CHARS)}…[truncated: ${text.length} chars, sha256 ${sha256Hex(text)}]`
}

/** One value of a row or request: kept when short, else its text cut with the digest of the whole. */
export function boundValue(value: unknown): unknown {
  if (typeof value === 'string') return value.length > MAX_IMAGE_VALUE_CHARS ? cut(value) : value
  if (typeof value !== 'object' || value === null) return value
  const text = canonicalJson(value)
  return text.length > MAX_IMAGE_VALUE_CHARS ? cut(text) : value
}

function boundRecord(value: unknown): unknown {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return boundValue(value)
  const out: Record<string, unknown> = {}
  for (const [key, v] of Object.entries(value)) {
    Object.defineProperty(out, key, {
      value: boundValue(v),
      enumerable: true,
      writable: true,
      configurable: true,
    })
  }
  return out
}

/**
 * A request's arguments (already within the input guard's depth and size): every string at any depth cut
 * like an image value, structure kept, so an approver still reads which field holds what.
 */
export function boundArgs(value: unknown): unknown {
  if (typeof value === 'string') return boundValue(value)
  if (typeof value !== 'object' || value === null) return value
  if (Array.isArray(value)) return value.map(boundArgs)
  const out: Record<string, unknown> = {}
  for (const [key, v] of Object.entries(value)) {
    Object.defineProperty(out, key, {
      value: boundArgs(v),
      enumerable: true,
      writable: true,
      configurable: true,
    })
  }
  return out
}

/**
 * An image (a row, a list of rows, a request's arguments): every field value bounded; of a list, the rows that
 * fit MAX_IMAGE_CHARS, then one string naming how many rows were left out and the digest of all of them.
 */
export function boundImage(image: unknown): unknown {
  if (!Array.isArray(image)) return boundRecord(image)
  const kept: unknown[] = []
  let total = 0
  for (let i = 0; i < image.length; i++) {
    const row = boundRecord(image[i])
    total += canonicalJson(row).length
    if (total > MAX_IMAGE_CHARS) {
      const rest = image.slice(i)
      kept.push(`…[${rest.length} more rows, sha256 ${sha256Hex(canonicalJson(rest))}]`)
      break
    }
    kept.push(row)
  }
  return kept
}

/**
 * `boundImage(redactImageSecrets(image))` — what the audit keeps of a write's before and after images — with one
 * copy instead of two: when redaction made a fresh object of data properties (a plain-object row; nothing else
 * holds it yet), its values are bounded in place; a list, or an image redaction kept as it was, takes
 * `boundImage` on the redacted value as before. The two copies were ~1 KB of garbage and ~1 µs per image.
 */
export function boundRedactedImage(image: unknown): unknown {
  const redacted = redactImageSecrets(image)
  if (redacted === image || typeof redacted !== 'object' || redacted === null || Array.isArray(redacted)) {
    return boundImage(redacted)
  }
  const row = redacted as Record<string, unknown>
  for (const key of Object.keys(row)) {
    const value = row[key]
    const bounded = boundValue(value)
    // Defined, not assigned: a key such as `__proto__` is an own data property here and must stay one.
    if (bounded !== value) {
      Object.defineProperty(row, key, {
        value: bounded,
        enumerable: true,
        writable: true,
        configurable: true,
      })
    }
  }
  return row
}
