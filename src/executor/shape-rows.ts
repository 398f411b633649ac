/**
 * After execution: copy exactly the planned fields out of each row (hidden order keys never leave), apply
 * mask/hash transforms — recursively through included rows, each with its own model's rules — and make every
 * value JSON-safe. A row that already is its own result (see isShapedAlready) is returned as it is, uncopied.
 */
import { toJsonSafe } from './json-safe.ts'
import type { SelectPlan } from '../planner/index.ts'
import { hashValue, maskValue } from '../policy/index.ts'

export type Row = Record<string, unknown>

export function shapeRows(rows: readonly Row[], plan: SelectPlan, secret: string | Uint8Array): Row[] {
  const out = new Array<Row>(rows.length)
  const plain = isPlainSelect(plan)
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i] as Row
    out[i] = plain && isShapedAlready(row, plan) ? row : shapeRow(row, plan, secret)
  }
  return out
}

/** No include and no transform: a row's result is its planned fields' values, each made JSON-safe. */
function isPlainSelect(plan: SelectPlan): boolean {
  if (plan.includes.length > 0) return false
  for (const field of plan.fields) if (field.transform !== 'none') return false
  return true
}

/**
 * Whether `row` is exactly what shapeRow would build from it: a plain object (prototype Object.prototype) whose
 * enumerable keys, own and inherited, are the planned fields in order (so no hidden order key, no extra
 * column) and whose values are all JSON-safe scalars left unchanged by toJsonSafe. That is what the driver
 * hands back for most statements (the SELECT lists the fields in plan order), and copying it cost more than
 * the rest of a 20-row page's shaping; the row is not modified.
 */
function isShapedAlready(row: Row, plan: SelectPlan): boolean {
  if (Object.getPrototypeOf(row) !== Object.prototype) return false
  const fields = plan.fields
  let i = 0
  for (const key in row) {
    const field = fields[i]
    if (field === undefined || key !== field.name) return false
    const value = row[key]
    if (typeof value === 'number') {
      if (!Number.isFinite(value) || Object.is(value, -0)) return false
    } else if (typeof value !== 'string' && typeof value !== 'boolean' && value !== null) return false
    i++
  }
  return i === fields.length
}

function shapeRow(row: Row, plan: SelectPlan, secret: string | Uint8Array): Row {
  const out: Row = {}
  for (const field of plan.fields) {
    const value = row[field.name]
    switch (field.transform) {
      case 'none':
        put(out, field.name, toJsonSafe(value))
        break
      case 'mask':
        put(out, field.name, maskValue(value, field.rule))
        break
      case 'hash':
        put(out, field.name, hashValue(value, secret))
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
      put(out, inc.relation, Array.isArray(value) ? shapeRows(value as Row[], inc.select, secret) : [])
    } else {
      put(out, inc.relation, isRow(value) ? shapeRow(value, inc.select, secret) : null)
    }
  }
  return out
}

/**
 * `out[key] = value`, except that a column named `__proto__` stays a data member: assigning it would call
 * Object.prototype's setter and make an object value the result's prototype (the field then vanished from
 * the result, and the value's members appeared inherited).
 */
function put(out: Row, key: string, value: unknown): void {
  if (key === '__proto__') {
    Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true })
  } else {
    out[key] = value
  }
}

function isRow(value: unknown): value is Row {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}
