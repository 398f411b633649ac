/**
 * Tool inputs narrowed to one principal: the wire format's zod schemas (src/request/), rebuilt by the same
 * factories over enums of what this principal may use — its models, each model's readable, filterable,
 * sortable, aggregable and writable fields, the operators each field's type takes, and the relations whose
 * target it can use. An agent is never shown a name it cannot use, and never a denied one.
 *
 * One object per tool, never a union at the top: Anthropic's API refuses tool schemas with oneOf/anyOf/allOf
 * at the top level and OpenAI wants `type: object` there. Where models differ, each property is a union of
 * one alternative per model (`select` is "the fields of Order" or "the fields of Customer", never a mix);
 * see docs/decisions.md.
 */
import { z } from 'zod'
import type { Principal } from '../context/index.ts'
import {
  aggregateOpsFor,
  filterOperatorsFor,
  nameableField,
  SORTABLE,
  writableFieldNames,
  type WriteFieldUsage,
} from '../planner/index.ts'
import type { BoundModel, BoundPolicy } from '../policy/index.ts'
import {
  AGGREGATE_OPS,
  aggregateFieldRequired,
  aggregateRequestSchemaOver,
  bulkUpdateRequestSchemaOver,
  comparisonSchemaOver,
  createRequestSchemaOver,
  deleteRequestSchemaOver,
  describeSchemaRequestSchemaOver,
  filterSchemaOver,
  getRequestSchemaOver,
  INCLUDE_VALUE_ERROR,
  includeOptionsSchemaOver,
  queryRequestSchemaOver,
  updateRequestSchemaOver,
  writeDataSchemaOver,
  type AggregateOp,
  type FilterOp,
  type OperatorFields,
  type ReadNames,
} from '../request/index.ts'
import { groupableFields, usableModels, writeOperations } from './describe-schema.ts'

export type WriteOperation = 'create' | 'update' | 'delete'

/** What narrowing starts from: the models this principal can use, and the writes it could call on each. */
export interface ToolView {
  readonly bound: BoundPolicy
  readonly principal: Principal
  /** Models whose visibility resolves for this principal, sorted by name. */
  readonly models: readonly BoundModel[]
  /** Per model name, the write operations the policy allows (or allows with approval) for this principal. */
  readonly writes: ReadonlyMap<string, readonly WriteOperation[]>
}

export function toolView(bound: BoundPolicy, principal: Principal): ToolView {
  const models = usableModels(bound, principal).sort((a, b) => compare(a.name, b.name))
  const writes = new Map(
    models.map((m) => [m.name, writeOperations(m, principal) as WriteOperation[]] as const),
  )
  return { bound, principal, models, writes }
}

/** What the narrowed schemas depend on: the same key, the same schemas (a cache key). */
export function viewKey(view: ToolView): string {
  return JSON.stringify(view.models.map((m) => [m.name, view.writes.get(m.name) ?? []]))
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}

function sorted(values: Iterable<string>): string[] {
  return [...new Set(values)].sort(compare)
}

/** An enum of these names (an empty one accepts nothing). */
function oneOfNames(values: Iterable<string>): z.ZodType<string, string> {
  return z.enum(sorted(values) as [string, ...string[]])
}

/** Memoised per-model names for one view: includes recurse from model to model. */
class ModelNames {
  readonly #read = new Map<string, ReadNames>()
  readonly #include = new Map<string, z.ZodObject>()
  readonly #includeValue = new Map<string, z.ZodType>()
  readonly #usable: ReadonlyMap<string, BoundModel>

  constructor(view: ToolView) {
    this.#usable = new Map(view.models.map((m) => [m.name, m]))
  }

  read(model: BoundModel): ReadNames {
    const known = this.#read.get(model.name)
    if (known !== undefined) return known
    // Only names a request can spell (nameableField); the others still come back in rows.
    const fields = Object.values(model.fields).filter((f) => nameableField(f.name))
    const allowed = fields.filter((f) => f.rule.action === 'allow')
    const names: ReadNames = {
      select: oneOfNames(fields.filter((f) => f.rule.action !== 'deny').map((f) => f.name)),
      filter: this.filter(model),
      order: oneOfNames(allowed.filter((f) => SORTABLE.has(f.column.typeClass)).map((f) => f.name)),
      // why: a strict object of optional `true | options` members accepts exactly IncludeInput values.
      include: z.lazy(() => this.include(model)) as unknown as ReadNames['include'],
    }
    this.#read.set(model.name, names)
    return names
  }

  /** Each operator over the fields whose type takes it; operators sharing a field list share its enum. */
  filter(model: BoundModel): ReadNames['filter'] {
    const byOp = new Map<FilterOp, string[]>()
    for (const field of Object.values(model.fields)) {
      if (field.rule.action !== 'allow' || !nameableField(field.name)) continue
      for (const op of filterOperatorsFor(field.column)) byOp.set(op, [...(byOp.get(op) ?? []), field.name])
    }
    const enums = new Map<string, z.ZodType<string, string>>()
    const fields: Partial<Record<FilterOp, z.ZodType<string, string>>> = {}
    for (const [op, names] of byOp) {
      const key = sorted(names).join(',')
      const known = enums.get(key) ?? oneOfNames(names)
      enums.set(key, known)
      fields[op] = known
    }
    return filterSchemaOver(comparisonSchemaOver(fields as OperatorFields))
  }

  /** Relations whose target this principal can use, each with the target's own names. */
  include(model: BoundModel): z.ZodObject {
    const known = this.#include.get(model.name)
    if (known !== undefined) return known
    const shape: Record<string, z.ZodType> = {}
    for (const relation of Object.values(model.relations).sort((a, b) => compare(a.name, b.name))) {
      const target = this.#usable.get(relation.target)
      if (target === undefined) continue
      shape[relation.name] = this.includeValue(target).optional()
    }
    const include = z.strictObject(shape)
    this.#include.set(model.name, include)
    return include
  }

  /** `true` or the options over the target's names; one schema per target, however many relations lead there. */
  includeValue(target: BoundModel): z.ZodType {
    const known = this.#includeValue.get(target.name)
    if (known !== undefined) return known
    const value = z.union([z.literal(true), includeOptionsSchemaOver(this.read(target))], {
      error: INCLUDE_VALUE_ERROR,
    })
    this.#includeValue.set(target.name, value)
    return value
  }
}

/**
 * One object from one object per model: each property is the union of the models' alternatives (described
 * with the models they belong to), except the properties in `joined`, whose enums and literals join into one
 * enum (`model`, `op`). A property optional in some model is optional.
 */
function perProperty(
  models: readonly string[],
  objects: readonly z.ZodObject[],
  joined: readonly string[] = ['model'],
): z.ZodObject {
  const shape: Record<string, z.ZodType> = {}
  const keys = [...new Set(objects.flatMap((o) => Object.keys(o.shape)))]
  for (const key of keys) {
    const alternatives = objects.flatMap((o, i) => {
      const schema = Object.hasOwn(o.shape, key) ? o.shape[key] : undefined
      return schema === undefined ? [] : [{ model: models[i] ?? '', schema: schema as z.ZodType }]
    })
    const optional =
      alternatives.length < objects.length || alternatives.some((a) => a.schema instanceof z.ZodOptional)
    const inner = alternatives.map((a) => ({
      model: a.model,
      schema: a.schema instanceof z.ZodOptional ? (a.schema.unwrap() as z.ZodType) : a.schema,
    }))
    let merged: z.ZodType
    if (joined.includes(key)) {
      merged = z.enum([...new Set(inner.flatMap((a) => enumValues(a.schema)))] as [string, ...string[]])
    } else {
      const groups = new Map<z.ZodType, string[]>()
      for (const a of inner) groups.set(a.schema, [...(groups.get(a.schema) ?? []), a.model])
      const distinct = [...groups]
      const first = distinct[0]
      if (first !== undefined && distinct.length === 1) merged = first[0]
      else {
        merged = z.union(
          distinct.map(([schema, of]) => {
            const own = schema.description === undefined ? '' : ` ${schema.description}`
            return schema.describe(`For model ${of.join(', ')}.${own}`)
          }) as unknown as [z.ZodType, z.ZodType],
        )
      }
    }
    shape[key] = optional ? merged.optional() : merged
  }
  return z.strictObject(shape)
}

function enumValues(schema: z.ZodType): string[] {
  if (schema instanceof z.ZodEnum) return schema.options.map(String)
  if (schema instanceof z.ZodLiteral) return [...schema.values].map(String)
  throw new Error('joined properties must be enums or literals')
}

/** The narrowed input of each generic tool. */
export function narrowDescribeSchema(view: ToolView): z.ZodObject {
  return describeSchemaRequestSchemaOver(oneOfNames(view.models.map((m) => m.name)))
}

function perModel(
  view: ToolView,
  models: readonly BoundModel[],
  build: (model: BoundModel, names: ModelNames) => z.ZodObject,
  joined?: readonly string[],
): z.ZodObject {
  const names = new ModelNames(view)
  return perProperty(
    models.map((m) => m.name),
    models.map((m) => build(m, names)),
    joined,
  )
}

export function narrowQuery(view: ToolView): z.ZodObject {
  if (view.models.length === 0) return queryRequestSchemaOver(oneOfNames([]), NO_NAMES)
  return perModel(view, view.models, (m, n) => queryRequestSchemaOver(z.literal(m.name), n.read(m)))
}

export function narrowGet(view: ToolView): z.ZodObject {
  if (view.models.length === 0) return getRequestSchemaOver(oneOfNames([]), NO_NAMES)
  return perModel(view, view.models, (m, n) => getRequestSchemaOver(z.literal(m.name), n.read(m)))
}

const NO_NAMES: ReadNames = {
  select: oneOfNames([]),
  filter: filterSchemaOver(comparisonSchemaOver({})),
  order: oneOfNames([]),
  include: z.strictObject({}) as unknown as ReadNames['include'],
}

export function narrowAggregate(view: ToolView): z.ZodObject {
  const build = (model: BoundModel, n: ModelNames): z.ZodObject => {
    const aggregable = model.policy.aggregations.fields.flatMap((name) => {
      const field = Object.hasOwn(model.fields, name) ? model.fields[name] : undefined
      return field !== undefined && field.rule.action === 'allow' ? [field] : []
    })
    const offered = new Set<AggregateOp>([
      'count',
      ...aggregable.flatMap((f) => aggregateOpsFor(f.column.typeClass)),
    ])
    const groupable = groupableFields(model).filter((name) => model.fields[name]?.rule.action === 'allow')
    return aggregateRequestSchemaOver(z.literal(model.name), {
      ops: AGGREGATE_OPS.filter((op) => offered.has(op)) as [AggregateOp, ...AggregateOp[]],
      field: oneOfNames(aggregable.map((f) => f.name)),
      filter: n.filter(model),
      group: oneOfNames(groupable),
    })
  }
  const models = view.models
  if (models.length === 0) {
    return aggregateRequestSchemaOver(oneOfNames([]), {
      ops: ['count'],
      field: oneOfNames([]),
      filter: NO_NAMES.filter,
      group: oneOfNames([]),
    })
  }
  return perModel(view, models, build, ['model', 'op']).superRefine(aggregateFieldRequired)
}

function writable(view: ToolView, op: WriteOperation): BoundModel[] {
  return view.models.filter((m) => view.writes.get(m.name)?.includes(op) === true)
}

function data(model: BoundModel, usage: WriteFieldUsage): ReturnType<typeof writeDataSchemaOver> {
  return writeDataSchemaOver(sorted(writableFieldNames(model, usage)))
}

/** The narrowed input of a write tool, or null where no model allows its operation for this principal. */
export function narrowWrite(
  view: ToolView,
  kind: 'create' | 'update' | 'delete' | 'bulkUpdate',
): { readonly input: z.ZodObject; readonly models: readonly BoundModel[] } | null {
  const op: WriteOperation = kind === 'bulkUpdate' ? 'update' : kind
  const models = writable(view, op)
  if (models.length === 0) return null
  const build = (m: BoundModel): z.ZodObject => {
    const model = z.literal(m.name)
    switch (kind) {
      case 'create':
        return createRequestSchemaOver(model, data(m, 'create'))
      case 'update':
        return updateRequestSchemaOver(model, data(m, 'update'))
      case 'delete':
        return deleteRequestSchemaOver(model)
      case 'bulkUpdate':
        return bulkUpdateRequestSchemaOver(model, data(m, 'update'))
      default: {
        const never: never = kind
        throw new Error(`unknown write kind ${String(never)}`)
      }
    }
  }
  return { input: perModel(view, models, build), models }
}
