/**
 * The toolset as seen through a TypedPolicy (src/policy/typed-policy.ts): `query` and `get` take model names
 * from the policy, `select`, `where` and `orderBy` fields from the model's readable fields (listed with an action
 * other than deny, or every column not denied when the model's default is allow), and return rows typed by the
 * selected fields — the column's type from the database type (Dates and bigints as the strings the toolset
 * returns), masked and hashed fields as strings, denied fields absent. Types only: the object is the Toolset.
 */
import type { Selectable } from 'kysely'
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
