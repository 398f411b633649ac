/**
 * Policies typed from the database type (a Kysely database interface: `interface DB { orders: {...} }`, as
 * kysely-codegen writes it or by hand). `definePolicy<DB>()(input)` is `definePolicy(input)` at run time; at
 * compile time every table, field, scoping column, unscoped column, aggregation field, autoSet/immutable/required
 * field and relation target is checked against DB and the policy's own model names, and the result carries the
 * literal policy so `createToolset` can type requests and rows (see src/tools/typed-toolset.ts).
 *
 * The checks are an F-bounded constraint on the inferred literal (`M extends TypedModelsCheck<DB, M>`): a key
 * that is not a column maps to `never`, so a misspelt name is a compile error at that key.
 */
import type { FieldRuleInput, ModelPolicyInput, PolicyInput, WritePolicyInput } from './policy-schema.ts'
import type { Policy } from './types.ts'

/** Table names of a Kysely database type. */
export type TableOf<DB> = Extract<keyof DB, string>
/** Column names of one table of a Kysely database type. */
export type ColumnOf<DB, T> = T extends keyof DB ? Extract<keyof DB[T], string> : never

type PrincipalPathText = `principal.${string}`

/** Keys of `Given` that are in `Allowed` keep the value type `V`; any other key must be `never` (an error). */
type OnlyKeys<Given, Allowed extends string, V> = {
  readonly [K in keyof Given]: K extends Allowed ? V : never
}

type CheckedWrite<W, Column extends string> = Omit<
  WritePolicyInput,
  'autoSet' | 'immutableFields' | 'requiredFields' | 'softDelete'
> & {
  readonly autoSet?: W extends { readonly autoSet: infer A }
    ? OnlyKeys<A, Column, PrincipalPathText | 'now()'>
    : { readonly [C in Column]?: PrincipalPathText | 'now()' }
  readonly immutableFields?: readonly Column[]
  readonly requiredFields?: readonly Column[]
  readonly softDelete?: { readonly field: Column }
}

/** What one model of the literal policy may contain, given its table `T`. */
export type TypedModelCheck<DB, M, ModelName extends string> = M extends { readonly table: infer T }
  ? T extends TableOf<DB>
    ? Omit<
        ModelPolicyInput,
        'table' | 'fields' | 'scoping' | 'unscopedColumns' | 'relations' | 'aggregations' | 'write'
      > & {
        readonly table: T
        readonly fields?: M extends { readonly fields: infer F }
          ? OnlyKeys<F, ColumnOf<DB, T>, FieldRuleInput>
          : { readonly [C in ColumnOf<DB, T>]?: FieldRuleInput }
        readonly scoping?: M extends { readonly scoping: infer S }
          ? OnlyKeys<S, ColumnOf<DB, T>, PrincipalPathText>
          : { readonly [C in ColumnOf<DB, T>]?: PrincipalPathText }
        readonly unscopedColumns?: readonly ColumnOf<DB, T>[]
        readonly relations?: {
          readonly [name: string]: {
            readonly model: ModelName
            readonly foreignKey?: string | readonly string[]
          }
        }
        readonly aggregations?: {
          readonly fields?: readonly ColumnOf<DB, T>[]
          readonly groupBy?: readonly ColumnOf<DB, T>[]
        }
        readonly write?: CheckedWrite<M extends { readonly write: infer W } ? W : unknown, ColumnOf<DB, T>>
      }
    : { readonly table: TableOf<DB> }
  : { readonly table: TableOf<DB> }

export type TypedModelsCheck<DB, M> = {
  readonly [K in keyof M]: TypedModelCheck<DB, M[K], Extract<keyof M, string>>
}

export type TypedPolicyInput<M> = Omit<PolicyInput, 'models'> & { readonly models: M }

declare const typedPolicy: unique symbol

/**
 * A Policy that remembers, at the type level only, the database type and the literal models it was written
 * with. The symbol never exists at run time; it keeps a plain Policy from passing as a typed one.
 */
export type TypedPolicy<DB, M> = Policy & { readonly [typedPolicy]: { readonly db: DB; readonly models: M } }

/** The database type and the literal models of a TypedPolicy. */
export type PolicyDatabase<P> = P extends TypedPolicy<infer DB, infer _M> ? DB : never
export type PolicyModels<P> = P extends TypedPolicy<infer _DB, infer M> ? M : never
