/**
 * describe_schema: what this principal may use, and nothing more. Denied fields do not appear; row policies,
 * scoping and other policy internals are never described. A model whose scope cannot be resolved for this
 * principal (e.g. it needs `principal.metadata.orgId`, which this principal lacks) is left out.
 */
import type { Principal } from '../context/index.ts'
import { isTesseraError } from '../errors/index.ts'
import { SORTABLE, nameableField, planVisibility, createAutoSetResolves } from '../planner/index.ts'
import type { BoundModel, BoundPolicy } from '../policy/index.ts'

export type FieldAccess = 'read' | 'masked' | 'hashed'

export interface DescribedField {
  type: string
  nullable: boolean
  access: FieldAccess
  filterable: boolean
  sortable: boolean
}

export interface DescribedModel {
  description?: string
  primaryKey: string[]
  fields: Record<string, DescribedField>
  relations: Record<string, { model: string; cardinality: 'one' | 'many' }>
  operations: string[]
  aggregations: { fields: string[]; groupBy: string[] }
}

export interface SchemaDescription {
  models: Record<string, DescribedModel>
}

/**
 * Models this principal can query: every principal path their visibility needs resolves. Planning the
 * visibility (which binds every rule to the principal) is the check, so describe_schema and the planner
 * cannot disagree.
 */
export function usableModels(bound: BoundPolicy, principal: Principal): BoundModel[] {
  return Object.values(bound.models).filter((model) => {
    try {
      planVisibility(model, principal)
      return true
    } catch (error) {
      if (isTesseraError(error)) return false
      throw error
    }
  })
}

/** The policy's groupBy fields the planner can group by (plan-read.ts: a key needs an order, like orderBy). */
export function groupableFields(model: BoundModel): string[] {
  return model.policy.aggregations.groupBy.filter((name) => {
    const field = Object.hasOwn(model.fields, name) ? model.fields[name] : undefined
    return field !== undefined && SORTABLE.has(field.column.typeClass)
  })
}

/** Write operations the policy allows (or allows with approval) that this principal could call. */
export function writeOperations(model: BoundModel, principal: Principal): string[] {
  const w = model.policy.write
  return (['create', 'update', 'delete'] as const).filter(
    (op) => w[op] !== 'deny' && (op !== 'create' || createAutoSetResolves(model, principal)),
  )
}

export function describeSchema(bound: BoundPolicy, principal: Principal, only?: string): SchemaDescription {
  const models = usableModels(bound, principal)
  const visible = new Set(models.map((m) => m.name))
  const out: Record<string, DescribedModel> = {}
  for (const model of models) {
    if (only !== undefined && model.name !== only) continue
    const fields: Record<string, DescribedField> = {}
    for (const f of Object.values(model.fields)) {
      if (f.rule.action === 'deny') continue
      const plain = f.rule.action === 'allow'
      // A field whose name a request cannot spell is returned in rows but usable nowhere else.
      const usable = plain && nameableField(f.name)
      fields[f.name] = {
        type: f.column.dataType,
        nullable: f.column.nullable,
        access: plain ? 'read' : f.rule.action === 'mask' ? 'masked' : 'hashed',
        filterable: usable,
        // The planner's own rule (plan-select.ts): json, bytea, arrays and other types cannot be ordered.
        sortable: usable && SORTABLE.has(f.column.typeClass),
      }
    }
    const relations: DescribedModel['relations'] = {}
    for (const r of Object.values(model.relations)) {
      if (visible.has(r.target)) relations[r.name] = { model: r.target, cardinality: r.cardinality }
    }
    const agg = model.policy.aggregations
    out[model.name] = {
      ...(model.policy.description === undefined ? {} : { description: model.policy.description }),
      // A denied key column must be as invisible as every other denied field (docs/contract.md §3): not even its name.
      primaryKey: model.primaryKey.filter((k) => model.fields[k]?.rule.action !== 'deny'),
      fields,
      relations,
      operations: ['query', 'get', 'aggregate', ...writeOperations(model, principal)],
      aggregations: { fields: [...agg.fields], groupBy: groupableFields(model) },
    }
  }
  return { models: out }
}
