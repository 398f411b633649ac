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

function field(args: Record<string, unknown>, key: string): unknown {
  return Object.getOwnPropertyDescriptor(args, key)?.value
}

export function describeWrite(tool: string, args: unknown): string {
  const a = typeof args === 'object' && args !== null ? (args as Record<string, unknown>) : {}
  const key = toolKeyOf(tool)
  const verb = (key === undefined ? undefined : VERBS[key]) ?? tool
  const model = field(a, 'model')
  const parts = [`${verb} ${typeof model === 'string' ? model : JSON.stringify(model)}`]
  const id = field(a, 'id')
  const ids = field(a, 'ids')
  if (id !== undefined) parts.push(`id ${JSON.stringify(id)}`)
  if (Array.isArray(ids)) parts.push(`${ids.length} ids ${JSON.stringify(ids)}`)
  const data = field(a, 'data')
  if (typeof data === 'object' && data !== null) {
    const changes = Object.entries(data).map(([k, v]) => `${k} = ${JSON.stringify(v)}`)
    parts.push(key === 'create' ? `with ${changes.join(', ')}` : `set ${changes.join(', ')}`)
  }
  if (field(a, 'hard') === true) parts.push('(hard delete: the row is removed)')
  const reason = field(a, 'reason')
  if (typeof reason === 'string') parts.push(`— reason: ${JSON.stringify(reason)}`)
  return parts.join(' ')
}
