/**
 * The filter language of the request DSL (docs/contract.md §4) as a strict zod schema, and its normalised form: an
 * immutable, `kind`-tagged tree the planner compiles with an exhaustive switch. Names are validated as plain
 * identifiers here; whether a name is a field the caller may use is the planner's decision (it answers with
 * FIELD_NOT_ALLOWED, identical for denied and missing fields).
 */
import { z } from 'zod'

export const IDENTIFIER_PATTERN = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/

export const identifierSchema = z
  .string()
  .regex(
    IDENTIFIER_PATTERN,
    'must be a plain identifier: a letter or underscore, then letters, digits or underscores (at most 63)',
  )

/**
 * The one list of filter operators, by the shape of their value. The request schema below, the plan IR
 * (planner FilterOp), the SQL printer's exhaustive switch and the tools' JSON Schemas all derive from it.
 */
export const SCALAR_OPS = ['eq', 'ne', 'lt', 'lte', 'gt', 'gte'] as const
export const PATTERN_OPS = ['contains', 'startswith', 'endswith'] as const
export const LIST_OPS = ['in', 'not_in'] as const
export const FILTER_OPS = [...SCALAR_OPS, ...LIST_OPS, 'is_null', ...PATTERN_OPS, 'between'] as const

export type ScalarOp = (typeof SCALAR_OPS)[number]
export type PatternOp = (typeof PATTERN_OPS)[number]
export type ListOp = (typeof LIST_OPS)[number]
export type FilterOp = (typeof FILTER_OPS)[number]

export type Scalar = string | number | boolean | null

export const scalarSchema = z.union([z.string(), z.number(), z.boolean(), z.null()], {
  error: 'must be a string, number, boolean or null',
})

const unknownOperator = `op must be one of ${FILTER_OPS.join(', ')}`

export const comparisonSchema = z.discriminatedUnion(
  'op',
  [
    z.strictObject({ field: identifierSchema, op: z.enum(SCALAR_OPS), value: scalarSchema }),
    z.strictObject({
      field: identifierSchema,
      op: z.enum(PATTERN_OPS),
      value: z.string({ error: 'must be a string' }),
    }),
    z.strictObject({
      field: identifierSchema,
      op: z.enum(LIST_OPS),
      value: z.array(scalarSchema, { error: 'must be an array of values' }),
    }),
    z.strictObject({
      field: identifierSchema,
      op: z.literal('between'),
      value: z.tuple([scalarSchema, scalarSchema], { error: 'must be a two-item array [low, high]' }),
    }),
    z.strictObject({
      field: identifierSchema,
      op: z.literal('is_null'),
      value: z.boolean({ error: 'must be true or false' }).optional(),
    }),
  ],
  { error: (issue) => (issue.code === 'invalid_union' ? unknownOperator : undefined) },
)

export type ComparisonInput = z.input<typeof comparisonSchema>

/** A filter as callers write it. A plain array means AND. */
export type FilterInput =
  ComparisonInput | { and: FilterInput[] } | { or: FilterInput[] } | { not: FilterInput } | FilterInput[]

export const filterSchema: z.ZodType<FilterInput, FilterInput> = z.lazy(() =>
  z.union(
    [
      comparisonSchema,
      z.strictObject({ and: z.array(filterSchema, { error: 'must be an array of filters' }) }),
      z.strictObject({ or: z.array(filterSchema, { error: 'must be an array of filters' }) }),
      z.strictObject({ not: filterSchema }),
      z.array(filterSchema),
    ],
    {
      error:
        'must be a filter: { field, op, value }, { and: [...] }, { or: [...] }, { not: {...} } or an array (AND)',
    },
  ),
)

/** The value of a comparison: a scalar, a list (`in`, `not_in`), a pair (`between`) or a boolean (`is_null`). */
export type FilterValue = Scalar | readonly Scalar[]

export type FilterNode =
  | { readonly kind: 'and'; readonly items: readonly FilterNode[] }
  | { readonly kind: 'or'; readonly items: readonly FilterNode[] }
  | { readonly kind: 'not'; readonly item: FilterNode }
  | { readonly kind: 'cmp'; readonly field: string; readonly op: FilterOp; readonly value: FilterValue }

function isComparison(filter: FilterInput): filter is ComparisonInput {
  return !Array.isArray(filter) && 'op' in filter
}

function group(kind: 'and' | 'or', items: readonly FilterInput[]): FilterNode {
  const nodes = items.map(normalizeFilter)
  // One item needs no group; empty groups stay (AND of nothing is true, OR of nothing is false).
  if (nodes.length === 1 && nodes[0] !== undefined) return nodes[0]
  return Object.freeze({ kind, items: Object.freeze(nodes) })
}

/**
 * The parsed filter as an immutable tree. `is_null` without a value becomes `value: true`; list and pair
 * values are copied and frozen. Recursion depth is bounded by the input guard (32 levels).
 */
export function normalizeFilter(filter: FilterInput): FilterNode {
  if (Array.isArray(filter)) return group('and', filter)
  if (isComparison(filter)) {
    const value: FilterValue =
      filter.op === 'is_null'
        ? (filter.value ?? true)
        : Array.isArray(filter.value)
          ? Object.freeze([...(filter.value as readonly Scalar[])])
          : (filter.value as Scalar)
    return Object.freeze({ kind: 'cmp', field: filter.field, op: filter.op, value })
  }
  if ('and' in filter) return group('and', filter.and)
  if ('or' in filter) return group('or', filter.or)
  return Object.freeze({ kind: 'not', item: normalizeFilter(filter.not) })
}
