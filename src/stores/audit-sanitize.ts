/**
 * What of a tool call's arguments reaches the audit record (docs/contract.md §6 "sanitised inputs"): long strings cut,
 * depth and size bounded, and secrets replaced by `[REDACTED]` before anything is stored or logged:
 * - the value under any key that looks like a secret (password, token, api key, credential, …);
 * - the value under a key naming a sensitive field (one the policy denies, masks or hashes), as in write data
 *   `{ password_hash: '…' }` or a shorthand filter;
 * - the operand of a filter condition `{ field, op, value }` whose field is sensitive, e.g.
 *   `{ field: 'password_hash', op: 'eq', value: 'hunter2' }` — refused by the planner, and still never stored.
 * Untrusted input: a Proxy or a getter never runs (or throws) here, and a `__proto__` key stays data.
 */
export const REDACTED = '[REDACTED]'

/** Keys whose values are secrets whatever the policy says. */
const SECRET_KEY =
  /passw(or)?d|passphrase|secret|token|api[_-]?key|credential|private[_-]?key|authori[sz]ation|cookie/i

export interface AuditSanitizeOptions {
  /** Field names (lower case) whose values must not be stored (denied, masked or hashed in the policy). */
  readonly sensitiveFields?: ReadonlySet<string>
}

const NO_FIELDS: ReadonlySet<string> = new Set()

/** Cuts long strings and deep structures and redacts secrets, so a record never stores a payload verbatim. */
export function sanitizeAuditInput(value: unknown, options: AuditSanitizeOptions = {}): unknown {
  try {
    return sanitizeValue(value, 0, options.sensitiveFields ?? NO_FIELDS)
  } catch {
    return '[unreadable]'
  }
}

/** Whether `key` names a secret or a sensitive field (a dotted path counts by its last segment). */
export function isSensitiveKey(key: string, sensitive: ReadonlySet<string>): boolean {
  if (SECRET_KEY.test(key)) return true
  // Case-insensitive: `PASSWORD_HASH` names no field, but what a caller put beside it is just as secret.
  const name = key.toLowerCase()
  const dot = name.lastIndexOf('.')
  return sensitive.has(name) || (dot >= 0 && sensitive.has(name.slice(dot + 1)))
}

function sanitizeValue(value: unknown, depth: number, sensitive: ReadonlySet<string>): unknown {
  if (typeof value === 'string')
    return value.length > 256 ? `${value.slice(0, 256)}…[${value.length} chars]` : value
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) return value
  if (typeof value === 'bigint') return value.toString()
  if (depth >= 6) return '[…]'
  if (typeof value !== 'object' || value === undefined) return null
  if (Array.isArray(value)) {
    const out: unknown[] = []
    for (let i = 0; i < Math.min(value.length, 50); i++) out.push(readOwn(value, String(i), depth, sensitive))
    if (value.length > 50) out.push(`…[${value.length - 50} more]`)
    return out
  }
  // A condition on a sensitive field: keep which field and operator, never the operand.
  const field = dataOf(value, 'field')
  const conditionOnSensitive = typeof field === 'string' && isSensitiveKey(field, sensitive)
  const out: Record<string, unknown> = {}
  for (const key of Object.keys(value).slice(0, 100)) {
    const redact = isSensitiveKey(key, sensitive) || (conditionOnSensitive && key !== 'field' && key !== 'op')
    Object.defineProperty(out, key, {
      value: redact ? REDACTED : readOwn(value, key, depth, sensitive),
      enumerable: true,
      writable: true,
      configurable: true,
    })
  }
  return out
}

function dataOf(target: object, key: string): unknown {
  const descriptor = Object.getOwnPropertyDescriptor(target, key)
  return descriptor !== undefined && 'value' in descriptor ? descriptor.value : undefined
}

/** A data property's value, sanitised; an accessor is never invoked. */
function readOwn(target: object, key: string, depth: number, sensitive: ReadonlySet<string>): unknown {
  const descriptor = Object.getOwnPropertyDescriptor(target, key)
  if (descriptor === undefined) return null
  if (!('value' in descriptor)) return '[accessor]'
  return sanitizeValue(descriptor.value, depth + 1, sensitive)
}
