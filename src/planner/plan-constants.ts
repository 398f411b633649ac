/**
 * Parts of a read plan that are the same for every call on a bound model — its table and its default field
 * list — built once per model, deep-frozen and shared by every plan instead of rebuilt per call. Each is
 * registered here, so src/sql's statement shape key (statement-shape-key.ts) may encode it once and stand for
 * its text by a token afterwards: a deep-frozen part cannot change, so neither can its encoding.
 */
import type { BoundModel } from '../policy/index.ts'
import type { SelectedField } from './query-plan.ts'

const constants = new WeakSet<object>()

/** Whether `value` is a shared, deep-frozen plan part made here. */
export function isPlanConstant(value: object): boolean {
  return constants.has(value)
}

function constant<T extends object>(value: T): T {
  freezeDeep(value)
  constants.add(value)
  return value
}

function freezeDeep(value: unknown): void {
  if (typeof value !== 'object' || value === null) return
  Object.freeze(value)
  for (const member of Object.values(value)) freezeDeep(member)
}

const tables = new WeakMap<BoundModel, { readonly schema: string; readonly name: string }>()

/** The model's table as a plan names it. */
export function planTable(model: BoundModel): { readonly schema: string; readonly name: string } {
  let table = tables.get(model)
  if (table === undefined) {
    table = constant({ schema: model.table.schema, name: model.table.name })
    tables.set(model, table)
  }
  return table
}

const defaultFields = new WeakMap<BoundModel, readonly SelectedField[]>()

/** The fields a read without `select` returns, made once per model by `make`. */
export function planDefaultFields(
  model: BoundModel,
  make: () => readonly SelectedField[],
): readonly SelectedField[] {
  let fields = defaultFields.get(model)
  if (fields === undefined) {
    fields = constant([...make()])
    defaultFields.set(model, fields)
  }
  return fields
}
