/**
 * After execution: copy exactly the planned fields out of each row (hidden order keys never leave), apply
 * mask/hash transforms — recursively through included rows, each with its own model's rules — and make every
 * value JSON-safe.
 */
import { toJsonSafe } from './json-safe.ts'
import type { SelectPlan } from '../planner/index.ts'
import { hashValue, maskValue } from '../policy/index.ts'

export type Row = Record<string, unknown>

export function shapeRows(rows: readonly Row[], plan: SelectPlan, secret: string | Uint8Array): Row[] {
  return rows.map((row) => shapeRow(row, plan, secret))
}

function shapeRow(row: Row, plan: SelectPlan, secret: string | Uint8Array): Row {
  const out: Row = {}
  for (const field of plan.fields) {
    const value = row[field.name]
    switch (field.transform) {
      case 'none':
        out[field.name] = toJsonSafe(value)
        break
      case 'mask':
        out[field.name] = maskValue(value, field.rule)
        break
      case 'hash':
        out[field.name] = hashValue(value, secret)
        break
      default: {
        const never: never = field.transform
        throw new Error(`unhandled transform ${String(never)}`)
      }
    }
  }
  for (const inc of plan.includes) {
    const value = row[inc.relation]
    if (inc.cardinality === 'many') {
      out[inc.relation] = Array.isArray(value) ? shapeRows(value as Row[], inc.select, secret) : []
    } else {
      out[inc.relation] = isRow(value) ? shapeRow(value, inc.select, secret) : null
    }
  }
  return out
}

function isRow(value: unknown): value is Row {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}
