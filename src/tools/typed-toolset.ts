/**
 * The toolset as seen through a TypedPolicy (src/policy/typed-policy.ts): `query` and `get` take model names
 * from the policy, `select` fields from the model's readable fields (listed with an action other than deny, or
 * every column not denied when the model's default is allow), `where` and `orderBy` fields from its allowed
 * fields (masked and hashed fields are never filtered or sorted: docs/contract.md §3), and return rows typed by
 * the selected fields — the column's type from the database type (Dates and bigints as the strings the toolset
 * returns), masked and hashed fields as strings, denied fields absent. `include` takes the model's relation
 * names, each with the related model's fields, and adds the related rows typed the same way (see IncludedValue
 * for their shape). `aggregate` takes fields listed in the model's `aggregations` that are allowed, and its
 * result is shaped by the request: `{ value }`, or `{ groups }` keyed by the `groupBy` fields. `create` and
 * `update` take `data` keyed by the fields a caller may write (allowed, or masked/hashed with `writable: true`;
 * never auto-set, and on update never immutable) with the column's insert type; `bulkUpdate` takes the same
 * `data` as `update`, and `delete` and `bulkUpdate` the policy's model names. Types only: the object is the
 * Toolset.
 */
import type { Insertable, Selectable } from 'kysely'
import type { RunContext } from '../context/index.ts'
import type { ColumnOf } from '../policy/index.ts'
import type { AggregateOp, ComparisonInput, GetRequestInput } from '../request/index.ts'
import type { BulkUpdateResult, DeleteResult } from './write-tools.ts'

type ActionOf<Rule> = Rule extends string ? Rule : Rule extends { readonly action: infer A } ? A : never
type FieldsOf<Model> = Model extends { readonly fields: infer F } ? F : Record<never, never>
type TableOfModel<Model> = Model extends { readonly table: infer T } ? T : never
type DefaultAllows<Model> = Model extends { readonly defaultFieldAction: 'allow' } ? true : false

/** Fields a caller may read on one model of the literal policy. */
export type ReadableField<DB, Model> = Extract<
  | {
      [C in keyof FieldsOf<Model>]: ActionOf<FieldsOf<Model>[C]> extends 'deny' ? never : C
    }[keyof FieldsOf<Model>]
  | (DefaultAllows<Model> extends true
      ? Exclude<ColumnOf<DB, TableOfModel<Model>>, keyof FieldsOf<Model>>
      : never),
  string
>

/** Fields a caller may filter, sort, group and aggregate: allowed outright (not masked, hashed or denied). */
export type AllowedField<DB, Model> = Extract<
  | {
      [C in keyof FieldsOf<Model>]: ActionOf<FieldsOf<Model>[C]> extends 'allow' ? C : never
    }[keyof FieldsOf<Model>]
  | (DefaultAllows<Model> extends true
      ? Exclude<ColumnOf<DB, TableOfModel<Model>>, keyof FieldsOf<Model>>
      : never),
  string
>

type JsonSafe<V> = V extends Date ? string : V extends bigint ? string : V
type ColumnValue<DB, T, C> = T extends keyof DB
  ? C extends keyof Selectable<DB[T]>
    ? JsonSafe<Selectable<DB[T]>[C]>
    : never
  : never
/** What a masked or hashed value looks like: a string, or null where the column holds null. */
type Transformed<V> = string | (null extends V ? null : never)

/** A row with the selected fields `S` of one model. */
export type TypedRow<DB, Model, S extends string> = {
  [C in S]: C extends keyof FieldsOf<Model>
    ? ActionOf<FieldsOf<Model>[C]> extends 'mask' | 'hash'
      ? Transformed<ColumnValue<DB, TableOfModel<Model>, C>>
      : ColumnValue<DB, TableOfModel<Model>, C>
    : ColumnValue<DB, TableOfModel<Model>, C>
}

type FieldComparison<F extends string> = ComparisonInput extends infer C
  ? C extends { field: string }
    ? Omit<C, 'field'> & { readonly field: F }
    : never
  : never

/** A filter whose field names are the model's readable fields. */
export type TypedFilter<F extends string> =
  | FieldComparison<F>
  | { readonly and: readonly TypedFilter<F>[] }
  | { readonly or: readonly TypedFilter<F>[] }
  | { readonly not: TypedFilter<F> }
  | readonly TypedFilter<F>[]

/** An `orderBy` list over the fields `F`. */
export type TypedOrderBy<F extends string> = readonly (
  F | { readonly field: F; readonly direction?: 'asc' | 'desc' }
)[]

/**
 * `query` arguments: `F` the readable fields (select), `A` the allowed ones (where, orderBy), `I` the include
 * (checked by TypedInclude).
 */
export interface TypedQueryArgs<
  Model extends string,
  F extends string,
  S extends readonly F[],
  A extends string = F,
  I = TypedIncludeAny,
> {
  readonly model: Model
  readonly select?: S
  readonly where?: TypedFilter<A>
  readonly orderBy?: TypedOrderBy<A>
  readonly limit?: number
  readonly cursor?: string
  readonly include?: I
}

export interface TypedGetArgs<
  Model extends string,
  F extends string,
  S extends readonly F[],
  I = TypedIncludeAny,
> {
  readonly model: Model
  readonly id: GetRequestInput['id']
  readonly select?: S
  readonly include?: I
}

type ModelName<M> = Extract<keyof M, string>

// ---- include ----

type RelationsOf<Model> = Model extends { readonly relations: infer R } ? R : Record<never, never>
/** Relation names of one model of the literal policy. */
export type RelationName<Model> = Extract<keyof RelationsOf<Model>, string>
type TargetName<Model, R> = RelationsOf<Model>[R & keyof RelationsOf<Model>] extends {
  readonly model: infer T
}
  ? T
  : never
type TargetOf<M, Model, R> = TargetName<Model, R> extends keyof M ? M[TargetName<Model, R>] : never

/** What an include asks of one relation's target (the wire format's `true | { ... }`, over its names). */
export interface TypedIncludeOptions<DB, M, Target> {
  readonly select?: readonly ReadableField<DB, Target>[]
  readonly where?: TypedFilter<AllowedField<DB, Target>>
  readonly orderBy?: TypedOrderBy<AllowedField<DB, Target>>
  readonly limit?: number
  readonly include?: TypedInclude<DB, M, Target, unknown>
}
type IncludeOptionKey = keyof TypedIncludeOptions<unknown, unknown, unknown>
/** The include of a typed request that names no include. */
type TypedIncludeAny = Record<never, never>

/**
 * The include `I` as written, checked against the model's relations: a key that is not a relation, or an option
 * key that is not an include option, maps to `never` (a compile error at that key), recursively.
 */
export type TypedInclude<DB, M, Model, I> = {
  readonly [R in keyof I]: R extends RelationName<Model>
    ? true | CheckedIncludeOptions<DB, M, TargetOf<M, Model, R>, I[R], Cardinality<DB, M, Model, R>>
    : never
}
/** A to-one include returns one row: where, orderBy and limit do not apply (the planner refuses them too). */
type OptionKeys<C> = C extends 'one' ? 'select' | 'include' : IncludeOptionKey
type CheckedIncludeOptions<DB, M, Target, Spec, C> = Pick<
  TypedIncludeOptions<DB, M, Target>,
  Exclude<OptionKeys<C>, 'include'>
> & {
  readonly include?: Spec extends { readonly include: infer J } ? TypedInclude<DB, M, Target, J> : never
} & { readonly [K in Exclude<keyof Spec, OptionKeys<C>>]: never }

/**
 * Whether a relation returns one row or many, as far as the types can tell: cardinality comes from the foreign
 * key (src/policy/resolve-relation.ts), which a Kysely database type does not describe. A relation whose
 * `foreignKey` names columns of this model's table only is `one` (this table holds the key); columns of the
 * target's table only, `many`; anything else (no `foreignKey`, or columns both tables have) is `unknown`.
 */
type Cardinality<DB, M, Model, R> = RelationsOf<Model>[R & keyof RelationsOf<Model>] extends {
  readonly foreignKey: infer K
}
  ? KeyColumns<K> extends infer C
    ? [C] extends [ColumnOf<DB, TableOfModel<Model>>]
      ? [C] extends [ColumnOf<DB, TableOfModel<TargetOf<M, Model, R>>>]
        ? 'unknown'
        : 'one'
      : [C] extends [ColumnOf<DB, TableOfModel<TargetOf<M, Model, R>>>]
        ? 'many'
        : 'unknown'
    : 'unknown'
  : 'unknown'
type KeyColumns<K> = K extends string ? K : K extends readonly (infer C)[] ? C : never

/** One included row: its selected (or every readable) field, and its own includes. */
type IncludedRow<DB, M, Target, Spec> = Simplify<
  TypedRow<
    DB,
    Target,
    Spec extends { readonly select: readonly (infer S extends string)[] } ? S : ReadableField<DB, Target>
  > &
    (Spec extends { readonly include: infer J } ? IncludedRows<DB, M, Target, J> : unknown)
>

/**
 * The value an include adds under the relation's name: the related row or null (to-one: the key may be null,
 * or the row invisible to the caller), an array (to-many), or either where the cardinality is `unknown` —
 * declare the relation's `foreignKey` in the policy to get the exact shape.
 */
export type IncludedValue<DB, M, Model, R, Spec> =
  Cardinality<DB, M, Model, R> extends 'one'
    ? IncludedRow<DB, M, TargetOf<M, Model, R>, Spec> | null
    : Cardinality<DB, M, Model, R> extends 'many'
      ? IncludedRow<DB, M, TargetOf<M, Model, R>, Spec>[]
      : | IncludedRow<DB, M, TargetOf<M, Model, R>, Spec>[]
        | IncludedRow<DB, M, TargetOf<M, Model, R>, Spec>
        | null

/** The fields an include `I` adds to a row of `Model`. */
export type IncludedRows<DB, M, Model, I> = {
  [R in Extract<keyof I, RelationName<Model>>]: IncludedValue<DB, M, Model, R, I[R]>
}

// ---- aggregate ----

type AggregationsOf<Model> = Model extends { readonly aggregations: infer A } ? A : Record<never, never>
/** Fields `aggregate` may aggregate: listed in `aggregations.fields` and allowed. */
export type AggregatableField<DB, Model> =
  AggregationsOf<Model> extends { readonly fields: readonly (infer F)[] }
    ? Extract<F, AllowedField<DB, Model>>
    : never
/** Fields `aggregate` may group by: listed in `aggregations.groupBy` and allowed. */
export type GroupableField<DB, Model> =
  AggregationsOf<Model> extends { readonly groupBy: readonly (infer F)[] }
    ? Extract<F, AllowedField<DB, Model>>
    : never

/** `aggregate` arguments: every op but `count` names a field. */
export type TypedAggregateArgs<
  Model extends string,
  O extends AggregateOp,
  F extends string,
  G extends readonly string[],
  A extends string,
> = {
  readonly model: Model
  readonly op: O
  readonly where?: TypedFilter<A>
  readonly groupBy?: G
} & (O extends 'count' ? { readonly field?: F } : { readonly field: F })

/**
 * The value of one aggregate: a count is a number (a string beyond 2^53); sum and avg are exact decimal text,
 * null over no rows; min and max have the column's type as `query` returns it, null over no rows.
 */
export type AggregateValue<DB, Model, O extends AggregateOp, F> = O extends 'count'
  ? number | string
  : O extends 'sum' | 'avg'
    ? string | null
    : ColumnValue<DB, TableOfModel<Model>, F> | null

/** `{ value }` without `groupBy`; `{ groups }` keyed by the `groupBy` fields with it. */
export type TypedAggregateResult<DB, Model, O extends AggregateOp, F, G extends readonly string[]> = [
  G[number],
] extends [never]
  ? { value: AggregateValue<DB, Model, O, F> }
  : {
      groups: {
        key: { [C in G[number]]: ColumnValue<DB, TableOfModel<Model>, C> }
        value: AggregateValue<DB, Model, O, F>
      }[]
    }

type WriteOf<Model> = Model extends { readonly write: infer W } ? W : Record<never, never>
type AutoSetField<Model> = WriteOf<Model> extends { readonly autoSet: infer A } ? keyof A : never
type ImmutableField<Model> =
  WriteOf<Model> extends { readonly immutableFields: readonly (infer I)[] } ? I : never
type Writable<Rule> = Rule extends 'allow'
  ? true
  : Rule extends { readonly writable: true }
    ? true
    : Rule extends { readonly action: 'allow' }
      ? true
      : false

/** Fields `data` may carry on create: writable by the field policy, not set by the server. */
export type WritableField<DB, Model> = Exclude<
  Extract<
    | {
        [C in keyof FieldsOf<Model>]: Writable<FieldsOf<Model>[C]> extends true ? C : never
      }[keyof FieldsOf<Model>]
    | (DefaultAllows<Model> extends true
        ? Exclude<ColumnOf<DB, TableOfModel<Model>>, keyof FieldsOf<Model>>
        : never),
    string
  >,
  AutoSetField<Model>
>

/** A value as the toolset accepts it in `data`: JSON, so Dates as ISO strings and bigints as strings too. */
type JsonInput<V> = V extends Date ? string : V extends bigint ? string | number : V
type InsertValue<DB, T, C> = T extends keyof DB
  ? C extends keyof Insertable<DB[T]>
    ? JsonInput<Insertable<DB[T]>[C]>
    : never
  : never

/** `data` of a write: any subset of the fields `F` (required fields are checked at run time, by the policy). */
export type TypedWriteData<DB, Model, F extends string> = {
  readonly [C in F]?: InsertValue<DB, TableOfModel<Model>, C>
}

export interface TypedCreateArgs<Model extends string, Data> {
  readonly model: Model
  readonly data: Data
  readonly reason?: string
  /** The approvalId of an earlier WRITE_APPROVAL_REQUIRED, once approved (the same arguments again). */
  readonly approvalId?: string
}

export interface TypedUpdateArgs<Model extends string, Data> {
  readonly model: Model
  readonly id: GetRequestInput['id']
  readonly data: Data
  readonly reason?: string
  readonly approvalId?: string
}

export interface TypedDeleteArgs<Model extends string> {
  readonly model: Model
  readonly id: GetRequestInput['id']
  readonly reason?: string
  /** Remove the row even where the model soft-deletes (only where the policy allows it). */
  readonly hard?: boolean
  readonly approvalId?: string
}

export interface TypedBulkUpdateArgs<Model extends string, Data> {
  readonly model: Model
  readonly ids: readonly GetRequestInput['id'][]
  readonly data: Data
  readonly reason?: string
  readonly approvalId?: string
}

/** `data` of an update (one row or many): writable fields that are not immutable. */
type UpdateData<DB, M, K extends keyof M> = TypedWriteData<
  DB,
  M[K],
  Exclude<WritableField<DB, M[K]>, ImmutableField<M[K]>>
>

/**
 * The typed writes: `create` and `update` return the row with every readable field; `delete` and `bulkUpdate`
 * return what the untyped toolset does (DeleteResult, BulkUpdateResult), their arguments typed like the others.
 */
export interface TypedWrites<DB, M> {
  create<K extends ModelName<M>>(
    ctx: RunContext,
    args: TypedCreateArgs<K, TypedWriteData<DB, M[K], WritableField<DB, M[K]>>>,
  ): Promise<{ row: TypedRow<DB, M[K], ReadableField<DB, M[K]>> }>
  update<K extends ModelName<M>>(
    ctx: RunContext,
    args: TypedUpdateArgs<K, UpdateData<DB, M, K>>,
  ): Promise<{ row: TypedRow<DB, M[K], ReadableField<DB, M[K]>> }>
  delete<K extends ModelName<M>>(ctx: RunContext, args: TypedDeleteArgs<K>): Promise<DeleteResult>
  bulkUpdate<K extends ModelName<M>>(
    ctx: RunContext,
    args: TypedBulkUpdateArgs<K, UpdateData<DB, M, K>>,
  ): Promise<BulkUpdateResult>
}

/** A row of `query` or `get`: the selected fields, and what the include adds. */
export type TypedResultRow<DB, M, Model, S extends string, I> = Simplify<
  TypedRow<DB, Model, S> & IncludedRows<DB, M, Model, I>
>

/** One object type instead of an intersection (what an editor shows, and what type tests compare). */
type Simplify<T> = { [K in keyof T]: T[K] } & {}

/**
 * The typed `query`, `get` and `aggregate` (TypedToolset in create-toolset.ts is the Toolset with these in
 * place).
 */
export interface TypedReads<DB, M> {
  query<
    K extends ModelName<M>,
    const S extends readonly ReadableField<DB, M[K]>[] = readonly ReadableField<DB, M[K]>[],
    const I extends TypedInclude<DB, M, M[K], I> = TypedIncludeAny,
  >(
    ctx: RunContext,
    args: TypedQueryArgs<K, ReadableField<DB, M[K]>, S, AllowedField<DB, M[K]>, I>,
  ): Promise<{
    rows: TypedResultRow<DB, M, M[K], S[number], I>[]
    nextCursor: string | null
    hasMore: boolean
  }>
  get<
    K extends ModelName<M>,
    const S extends readonly ReadableField<DB, M[K]>[] = readonly ReadableField<DB, M[K]>[],
    const I extends TypedInclude<DB, M, M[K], I> = TypedIncludeAny,
  >(
    ctx: RunContext,
    args: TypedGetArgs<K, ReadableField<DB, M[K]>, S, I>,
  ): Promise<{ row: TypedResultRow<DB, M, M[K], S[number], I> }>
  aggregate<
    K extends ModelName<M>,
    O extends AggregateOp,
    F extends AggregatableField<DB, M[K]> = never,
    const G extends readonly GroupableField<DB, M[K]>[] = readonly [],
  >(
    ctx: RunContext,
    args: TypedAggregateArgs<K, O, F, G, AllowedField<DB, M[K]>>,
  ): Promise<TypedAggregateResult<DB, M[K], O, F, G>>
}
