/**
 * The toolset as seen through a TypedPolicy (src/policy/typed-policy.ts): `query` and `get` take model names
 * from the policy, `select`, `where` and `orderBy` fields from the model's readable fields (listed with an action
 * other than deny, or every column not denied when the model's default is allow), and return rows typed by the
 * selected fields — the column's type from the database type (Dates and bigints as the strings the toolset
 * returns), masked and hashed fields as strings, denied fields absent. `create` and `update` take `data` keyed by
 * the fields a caller may write (allowed, or masked/hashed with `writable: true`; never auto-set, and on update
 * never immutable) with the column's insert type. Types only: the object is the Toolset.
 */
import type { Insertable, Selectable } from 'kysely'
import type { RunContext } from '../context/index.ts'
import type { ColumnOf } from '../policy/index.ts'
import type { ComparisonInput, GetRequestInput, IncludeInput } from '../request/index.ts'

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

export interface TypedQueryArgs<Model extends string, F extends string, S extends readonly F[]> {
  readonly model: Model
  readonly select?: S
  readonly where?: TypedFilter<F>
  readonly orderBy?: readonly (F | { readonly field: F; readonly direction?: 'asc' | 'desc' })[]
  readonly limit?: number
  readonly cursor?: string
  readonly include?: IncludeInput
}

export interface TypedGetArgs<Model extends string, F extends string, S extends readonly F[]> {
  readonly model: Model
  readonly id: GetRequestInput['id']
  readonly select?: S
  readonly include?: IncludeInput
}

type ModelName<M> = Extract<keyof M, string>

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
}

export interface TypedUpdateArgs<Model extends string, Data> {
  readonly model: Model
  readonly id: GetRequestInput['id']
  readonly data: Data
  readonly reason?: string
}

/** The typed `create` and `update`: the row they return has every readable field. */
export interface TypedWrites<DB, M> {
  create<K extends ModelName<M>>(
    ctx: RunContext,
    args: TypedCreateArgs<K, TypedWriteData<DB, M[K], WritableField<DB, M[K]>>>,
  ): Promise<{ row: TypedRow<DB, M[K], ReadableField<DB, M[K]>> }>
  update<K extends ModelName<M>>(
    ctx: RunContext,
    args: TypedUpdateArgs<
      K,
      TypedWriteData<DB, M[K], Exclude<WritableField<DB, M[K]>, ImmutableField<M[K]>>>
    >,
  ): Promise<{ row: TypedRow<DB, M[K], ReadableField<DB, M[K]>> }>
}

/** The typed `query` and `get` (TypedToolset in create-toolset.ts is the Toolset with these in place). */
export interface TypedReads<DB, M> {
  query<
    K extends ModelName<M>,
    const S extends readonly ReadableField<DB, M[K]>[] = readonly ReadableField<DB, M[K]>[],
  >(
    ctx: RunContext,
    args: TypedQueryArgs<K, ReadableField<DB, M[K]>, S>,
  ): Promise<{ rows: TypedRow<DB, M[K], S[number]>[]; nextCursor: string | null; hasMore: boolean }>
  get<
    K extends ModelName<M>,
    const S extends readonly ReadableField<DB, M[K]>[] = readonly ReadableField<DB, M[K]>[],
  >(
    ctx: RunContext,
    args: TypedGetArgs<K, ReadableField<DB, M[K]>, S>,
  ): Promise<{ row: TypedRow<DB, M[K], S[number]> }>
}
