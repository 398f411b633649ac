/**
 * A human-readable line saying exactly what a write will change, for the approval prompt an agent relays and
 * for `tessera approvals list`. It is built from the stored arguments only (the same bytes the approval hash
 * binds), with every value JSON-quoted, so what a person approves is what will run.
 */
import { toolKeyOf, type ToolKey } from './tool-names.ts'

const VERBS: Readonly<Partial<Record<ToolKey, string>>> = {
  create: 'Create',
  update: 'Update',
  delete: 'Delete',
  bulkUpdate: 'Update',
}

/**
 * Characters JSON keeps as they are but a terminal or a form does not show as written: C1 controls, the Arabic
 * letter mark, zero-width characters, bidirectional marks, overrides and isolates, line and paragraph
 * separators, word joiners and the BOM. An agent could reorder how the rest of the line renders (U+202E) so
 * the approver reads another change than the one that runs.
 */
const HIDDEN = /[\u0080-\u009f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff]/g

/** JSON text of `value` with every hidden character spelled as a `\uXXXX` escape: still the same JSON value. */
function quote(value: unknown): string {
  const text = JSON.stringify(value) as string | undefined
  if (text === undefined) return String(text)
  return text.replace(HIDDEN, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
}

function field(args: Record<string, unknown>, key: string): unknown {
  return Object.getOwnPropertyDescriptor(args, key)?.value
}

export function describeWrite(tool: string, args: unknown): string {
  const a = typeof args === 'object' && args !== null ? (args as Record<string, unknown>) : {}
  const key = toolKeyOf(tool)
  const verb = (key === undefined ? undefined : VERBS[key]) ?? tool
  const model = field(a, 'model')
  const parts = [`${verb} ${typeof model === 'string' ? model : quote(model)}`]
  const id = field(a, 'id')
  const ids = field(a, 'ids')
  if (id !== undefined) parts.push(`id ${quote(id)}`)
  if (Array.isArray(ids)) parts.push(`${ids.length} ids ${quote(ids)}`)
  const data = field(a, 'data')
  if (typeof data === 'object' && data !== null) {
    const changes = Object.entries(data).map(([k, v]) => `${k} = ${quote(v)}`)
    parts.push(key === 'create' ? `with ${changes.join(', ')}` : `set ${changes.join(', ')}`)
  }
  if (field(a, 'hard') === true) parts.push('(hard delete: the row is removed)')
  const reason = field(a, 'reason')
  if (typeof reason === 'string') parts.push(`— reason: ${quote(reason)}`)
  return parts.join(' ')
}
