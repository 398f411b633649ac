/**
 * Where the rows of a tool result are: the top-level rows of a query, the row of get/create/update, and every
 * included row at any depth, each list tagged with the model it belongs to under the reference policy. Keys
 * of a row that the reference does not know as a field or relation are reported too (noDeniedFields).
 */
import type { Row } from '../executor/index.ts'
import type { BoundModel, BoundPolicy } from '../policy/index.ts'
import { TOOL_NAMES } from '../tools/index.ts'

export interface ReturnedList {
  readonly model: BoundModel
  /** `rows`, `row`, `rows[3].customer`, … */
  readonly path: string
  readonly rows: readonly Row[]
  /** Include depth: 0 for the top level. */
  readonly depth: number
  /** True when each entry is a different stored row (a query page, one parent's `many` include). */
  readonly distinct: boolean
  /** The key the caller asked for (`get`/`update` id): the row returned must be that stored row. */
  readonly keyHint?: string
}

export interface UnknownKey {
  readonly model: BoundModel
  readonly path: string
  readonly key: string
}

export interface ReturnedRows {
  readonly lists: readonly ReturnedList[]
  readonly unknownKeys: readonly UnknownKey[]
  /** The call succeeded on a model the reference policy does not have. */
  readonly unknownModel: string | null
}

const ROW_TOOLS: Readonly<Record<string, 'rows' | 'row'>> = {
  [TOOL_NAMES.query]: 'rows',
  [TOOL_NAMES.get]: 'row',
  [TOOL_NAMES.create]: 'row',
  [TOOL_NAMES.update]: 'row',
}

export function modelArgument(args: unknown): string | undefined {
  if (typeof args !== 'object' || args === null || !Object.hasOwn(args, 'model')) return undefined
  const m = (args as { model: unknown }).model
  return typeof m === 'string' ? m : undefined
}

export function referenceModel(reference: BoundPolicy, name: string | undefined): BoundModel | undefined {
  return name !== undefined && Object.hasOwn(reference.models, name) ? reference.models[name] : undefined
}

export function returnedRows(
  reference: BoundPolicy,
  tool: string,
  args: unknown,
  data: unknown,
): ReturnedRows {
  const lists: ReturnedList[] = []
  const unknownKeys: UnknownKey[] = []
  const shape = Object.hasOwn(ROW_TOOLS, tool) ? ROW_TOOLS[tool] : undefined
  if (shape === undefined || typeof data !== 'object' || data === null) {
    return { lists, unknownKeys, unknownModel: null }
  }
  const name = modelArgument(args)
  const model = referenceModel(reference, name)
  if (!model) return { lists, unknownKeys, unknownModel: name ?? '(none)' }
  const value = (data as Record<string, unknown>)[shape]
  const rows =
    shape === 'rows' ? (Array.isArray(value) ? value.filter(isRow) : []) : isRow(value) ? [value] : []
  const id =
    typeof args === 'object' && args !== null && Object.hasOwn(args, 'id')
      ? (args as { id: unknown }).id
      : undefined
  const keyHint =
    shape === 'row' && (typeof id === 'string' || typeof id === 'number') ? String(id) : undefined
  walk(reference, model, shape, rows, 0, shape === 'rows', lists, unknownKeys, keyHint)
  return { lists, unknownKeys, unknownModel: null }
}

function walk(
  reference: BoundPolicy,
  model: BoundModel,
  path: string,
  rows: readonly Row[],
  depth: number,
  distinct: boolean,
  lists: ReturnedList[],
  unknownKeys: UnknownKey[],
  keyHint?: string,
): void {
  lists.push({ model, path, rows, depth, distinct, ...(keyHint === undefined ? {} : { keyHint }) })
  rows.forEach((row, i) => {
    const rowPath = rows.length === 1 && !distinct ? path : `${path}[${i}]`
    for (const key of Object.keys(row)) {
      if (Object.hasOwn(model.fields, key)) continue
      const relation = Object.hasOwn(model.relations, key) ? model.relations[key] : undefined
      const target = relation ? referenceModel(reference, relation.target) : undefined
      if (!relation || !target) {
        unknownKeys.push({ model, path: rowPath, key })
        continue
      }
      const value = row[key]
      const nested = Array.isArray(value) ? value.filter(isRow) : isRow(value) ? [value] : []
      walk(
        reference,
        target,
        `${rowPath}.${key}`,
        nested,
        depth + 1,
        Array.isArray(value),
        lists,
        unknownKeys,
      )
    }
  })
}

export function isRow(value: unknown): value is Row {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}
