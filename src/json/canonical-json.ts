/**
 * Canonical JSON: object keys sorted, no whitespace, `undefined` members dropped. Two inputs that differ only
 * in key order (a YAML file and the same policy written in code) therefore hash the same.
 */
import { createHash } from 'node:crypto'

export function canonicalJson(value: unknown): string {
  return JSON.stringify(canonicalise(value))
}

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex')
}

function canonicalise(value: unknown): unknown {
  if (Array.isArray(value)) return value.map((v) => (v === undefined ? null : canonicalise(v)))
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {}
    for (const key of Object.keys(value).sort()) {
      const v = (value as Record<string, unknown>)[key]
      if (v !== undefined) out[key] = canonicalise(v)
    }
    return out
  }
  return value
}
