/**
 * The one place that decides whether a request may use a field, and how. A denied field and a field that does
 * not exist take the same path and produce the same error (docs/contract.md §3); masked and hashed fields may be read
 * but never filtered, sorted, grouped or aggregated (they would become an inference oracle).
 */
import { fieldNotAllowed } from '../errors/index.ts'
import type { BoundField, BoundModel } from '../policy/index.ts'
import { IDENTIFIER_PATTERN } from '../request/index.ts'

export type FieldUsage = 'select' | 'filter' | 'sort' | 'group' | 'aggregate'

const USAGE_TEXT: Record<FieldUsage, string | undefined> = {
  select: undefined,
  filter: 'filtering',
  sort: 'sorting',
  group: 'grouping',
  aggregate: 'aggregation',
}

export function fieldFor(model: BoundModel, name: string, usage: FieldUsage): BoundField {
  const field = Object.hasOwn(model.fields, name) ? model.fields[name] : undefined
  const action = field?.rule.action
  const allowed = usage === 'select' ? action !== undefined && action !== 'deny' : action === 'allow'
  if (!field || !allowed) throw fieldNotAllowed(model.name, name, USAGE_TEXT[usage])
  return field
}

/**
 * Whether a request can name this field at all. Request names are plain identifiers (IDENTIFIER_PATTERN), so
 * a column such as `Na"me` or `Dis play` — a field when the policy allows every column — is returned in rows
 * but can be neither selected by name, filtered, sorted nor written; describe_schema and the tools' schemas
 * say so rather than offer it (docs/decisions.md, "Names that need quoting").
 */
export function nameableField(name: string): boolean {
  return IDENTIFIER_PATTERN.test(name)
}

/** Fields the principal may read, in table order. */
export function readableFields(model: BoundModel): BoundField[] {
  return Object.values(model.fields).filter((f) => f.rule.action !== 'deny')
}
