/**
 * Writable masked and hashed fields (docs/contract.md §3, `writable: true`) accept a value the caller can only ever read
 * back transformed. That value must not surface in clear anywhere else either: the audit's sanitiser redacts
 * every non-allow field by name, and a pending approval's arguments carry it masked (or as `[hashed]`). The approval is still bound to the
 * hash of the clear arguments, so the approved write is exactly the submitted one.
 */
import { type BoundModel, maskValue } from '../policy/index.ts'

/** Shown for a hashed field's written value: a hash of a truncated audit copy would mislead. */
export const HASHED_INPUT = '[hashed]'

/** `data` with every masked field masked and every hashed field replaced by `[hashed]`. */
export function redactData(
  model: BoundModel,
  data: Readonly<Record<string, unknown>>,
): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const [name, value] of Object.entries(data)) {
    const field = Object.hasOwn(model.fields, name) ? model.fields[name] : undefined
    const action = field?.rule.action
    const shown =
      field === undefined || action === 'allow' || action === 'deny'
        ? value
        : action === 'mask'
          ? maskValue(value, field.rule)
          : value === null
            ? null
            : HASHED_INPUT
    // defineProperty: a `__proto__` key in data stays data.
    Object.defineProperty(out, name, { value: shown, enumerable: true, writable: true, configurable: true })
  }
  return out
}
