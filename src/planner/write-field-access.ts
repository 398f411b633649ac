/**
 * The one place that decides whether `data` may carry a field (docs/contract.md §3–4). Unknown, denied, masked and
 * hashed fields share one error (FIELD_NOT_ALLOWED, the same text as a field that does not exist): a denied
 * field must be indistinguishable from a missing one, and a masked or hashed field is one the caller can never
 * read back as written, so overwriting it blind is refused unless its rule says `writable: true`. Fields the caller may see but not set
 * (server-set, computed, key, immutable) get a VALIDATION_ERROR naming the field and the reason.
 */
import { fieldNotAllowed, validationError } from '../errors/index.ts'
import type { BoundField, BoundModel } from '../policy/index.ts'
import { nameableField } from './field-access.ts'

export type WriteFieldUsage = 'create' | 'update'

export type WriteFieldProblem =
  { readonly kind: 'not_allowed' } | { readonly kind: 'not_writable'; readonly message: string }

export function writeFieldProblem(
  model: BoundModel,
  name: string,
  usage: WriteFieldUsage,
): WriteFieldProblem | null {
  const field = Object.hasOwn(model.fields, name) ? model.fields[name] : undefined
  if (!field || !writableAction(field)) return { kind: 'not_allowed' }
  if (!nameableField(name)) return notWritable('has a name a request cannot use')
  const write = model.policy.write
  if (Object.hasOwn(write.autoSet, name)) return notWritable('is set by the server')
  if (write.softDelete?.field === name) return notWritable('is set by delete')
  if (field.column.generated) return notWritable('is computed by the database')
  // A caller-chosen key that the database would otherwise assign is an existence oracle: "conflicts" for
  // another tenant's id, success for a fresh one. Keys the database assigns are never taken from data.
  if (usage === 'create' && model.primaryKey.includes(name) && field.column.hasDefault) {
    return notWritable('is assigned by the database')
  }
  if (usage === 'update') {
    if (model.primaryKey.includes(name)) return notWritable('is part of the primary key and cannot change')
    if (write.immutableFields.includes(name)) return notWritable('cannot change once the record exists')
  }
  return null
}

/** The field, or the error for writing it. `path` locates the value in the request, e.g. `data.status`. */
export function writableField(
  model: BoundModel,
  name: string,
  usage: WriteFieldUsage,
  path: string,
): BoundField {
  const problem = writeFieldProblem(model, name, usage)
  if (problem === null) return model.fields[name] as BoundField
  switch (problem.kind) {
    case 'not_allowed':
      throw fieldNotAllowed(model.name, name, 'writing')
    case 'not_writable':
      throw validationError(`Field '${name}' ${problem.message}`, [{ path, message: problem.message }])
    default: {
      const never: never = problem
      throw new Error(`unhandled write field problem ${String(never)}`)
    }
  }
}

/** Names of the fields `data` may carry, in table order (for tool definitions). */
export function writableFieldNames(model: BoundModel, usage: WriteFieldUsage): string[] {
  return Object.keys(model.fields).filter((name) => writeFieldProblem(model, name, usage) === null)
}

/**
 * `allow`, or `mask` / `hash` with `writable: true`: the policy's explicit statement that a caller may set a
 * value it can only ever read back transformed (e.g. an agent entering a contact's email).
 */
function writableAction(field: BoundField): boolean {
  const { action, writable } = field.rule
  return action === 'allow' || ((action === 'mask' || action === 'hash') && writable === true)
}

function notWritable(message: string): WriteFieldProblem {
  return { kind: 'not_writable', message }
}
