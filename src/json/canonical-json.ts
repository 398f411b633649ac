/**
 * Canonical JSON, the one definition behind every hash Tessera compares or stores: policy version hashes,
 * cursor bindings, approval payload hashes and audit record hashes. Two values that differ only in key order
 * (a YAML file and the same policy written in code) give the same text.
 *
 * The definition (stable: audit stores persist hashes of it; test/unit/canonical-json.test.ts holds it to the
 * three definitions it replaced, and test/unit/audit-record.test.ts to a known record hash):
 * - object keys sorted by UTF-16 code units at every level, no whitespace; members whose value is
 *   `undefined` are dropped;
 * - strings, booleans, null and numbers as JSON.stringify writes them (a non-finite number is `null`);
 * - a bigint throws (TypeError, as JSON.stringify does: audit stores must refuse a record they cannot store);
 *   a Date is its ISO-8601 text in a string (`null` if invalid);
 * - array items in order, an `undefined` item as `null`, a hole left empty (`[1,,2]`, as the first audit
 *   implementation wrote it — never produced from JSON-like data);
 * - anything else that is not data (a function, a symbol) is `null`; any other object is written by its own
 *   enumerable string keys.
 * Every caller hashes plain data (validated policies and principals, sanitised audit inputs, JSON-safe rows), so
 * the last rules only keep the function total. A cycle throws (RangeError), as JSON.stringify does.
 */
import { createHash } from 'node:crypto'

export function canonicalJson(value: unknown): string {
  if (value === null) return 'null'
  switch (typeof value) {
    case 'string':
      return jsonString(value)
    case 'boolean':
      return value ? 'true' : 'false'
    case 'number':
      // JSON.stringify's text for a number is its String(), or null when it is not finite.
      return Number.isFinite(value) ? String(value) : 'null'
    case 'bigint':
      throw new TypeError('canonicalJson: a bigint is not JSON')
    case 'object':
      return canonicalObject(value)
    default:
      return 'null'
  }
}

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex')
}

function canonicalObject(value: object): string {
  if (value instanceof Date)
    return Number.isNaN(value.getTime()) ? 'null' : JSON.stringify(value.toISOString())
  if (Array.isArray(value)) {
    const items: readonly unknown[] = value
    let out = '['
    for (let i = 0; i < items.length; i++) {
      if (i > 0) out += ','
      if (i in items) out += canonicalJson(items[i])
    }
    return `${out}]`
  }
  const record = value as Record<string, unknown>
  const keys = sortedKeys(record)
  let out = '{'
  let first = true
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i] as string
    const v = record[key]
    if (v === undefined) continue
    out += `${first ? '' : ','}${quotedKey(key)}:${canonicalJson(v)}`
    first = false
  }
  return `${out}}`
}

/**
 * Characters JSON.stringify escapes in a string: `"`, `\\`, control characters and (well-formed stringify)
 * surrogates, of which only lone ones are escaped — any surrogate sends the string to JSON.stringify itself.
 */
// eslint-disable-next-line no-control-regex -- the control characters are exactly what it looks for
const NEEDS_ESCAPE = /["\\\u0000-\u001f\ud800-\udfff]/

/**
 * `JSON.stringify(text)` for a string: the text in quotes when nothing in it needs escaping (nearly always:
 * ids, hashes, names), JSON.stringify's own text otherwise. Several times cheaper than calling JSON.stringify.
 */
export function jsonString(text: string): string {
  return NEEDS_ESCAPE.test(text) ? JSON.stringify(text) : `"${text}"`
}

/**
 * `Object.keys(record).sort()`: the own enumerable string keys in UTF-16 code unit order. A record has a few
 * keys, which an insertion sort orders without the cost of Array.prototype.sort; more go to sort itself.
 */
export function sortedKeys(record: object): string[] {
  const keys = Object.keys(record)
  const n = keys.length
  if (n > 16) return keys.sort()
  for (let i = 1; i < n; i++) {
    const key = keys[i] as string
    let j = i - 1
    while (j >= 0 && (keys[j] as string) > key) {
      keys[j + 1] = keys[j] as string
      j--
    }
    keys[j + 1] = key
  }
  return keys
}

/** `JSON.stringify(key)`, remembered: the same few keys recur in every policy, cursor binding and record. */
function quotedKey(key: string): string {
  let quoted = quotedKeys.get(key)
  if (quoted === undefined) {
    quoted = jsonString(key)
    // Keys can come from callers (audit inputs): bound what is remembered.
    if (quotedKeys.size >= MAX_QUOTED_KEYS) quotedKeys.clear()
    quotedKeys.set(key, quoted)
  }
  return quoted
}

const quotedKeys = new Map<string, string>()
const MAX_QUOTED_KEYS = 1_024
