/**
 * The one handle a store is given to run statements on: a connection of its own (a Kysely instance) or, for a
 * store that writes inside a tool call's transaction (AuditStore.stage), that transaction. Stores send
 * compiled statements with constant text and bound parameters only; the query builders stay in src/sql/.
 * Kysely's `Kysely` and `Transaction` both satisfy it, and so does anything else that runs a compiled query.
 */
import type { CompiledQuery, QueryResult } from 'kysely'

export interface StoreTransaction {
  executeQuery<R>(query: CompiledQuery<R>): Promise<QueryResult<R>>
}
