/**
 * Which statements this folder printed. Every statement src/sql hands out — a read or write plan's statement,
 * the session's `set_config`, the cost guard's EXPLAIN, a store's statement — is marked here: the compiled
 * object, its root operation node and its query id go into one module-private WeakSet. The executor runs only
 * marked statements and installs a Kysely plugin (src/executor/statement-guard.ts) that refuses, on the
 * toolset's Kysely instance, any query built there (its nodes are never marked) and any result of a statement
 * that was not marked (docs/decisions.md, "Only printed statements run").
 *
 * Nothing outside the package can mark a statement: this module is reached only through src/sql/index.ts,
 * which is not a package entry point.
 */
import type { CompiledQuery, QueryId, RootOperationNode } from 'kysely'

const printed = new WeakSet<object>()

/** Marks a statement as printed here; returns it. Call only on statements this folder built. */
export function markPrinted<R>(compiled: CompiledQuery<R>): CompiledQuery<R> {
  printed.add(compiled)
  printed.add(compiled.query)
  printed.add(compiled.queryId)
  return compiled
}

/**
 * Marks a cached template's node and query id, once; each statement made from the template is then marked as an
 * object of its own (markTemplateStatement).
 */
export function markPrintedTemplate(query: RootOperationNode, queryId: QueryId): void {
  printed.add(query)
  printed.add(queryId)
}

/** Marks a statement made from a template whose node and query id markPrintedTemplate marked; returns it. */
export function markTemplateStatement<R>(compiled: CompiledQuery<R>): CompiledQuery<R> {
  printed.add(compiled)
  return compiled
}

/** Whether this exact compiled statement object was printed here (a copy with other text is not). */
export function isPrintedStatement(compiled: CompiledQuery): boolean {
  return printed.has(compiled)
}

export function isPrintedNode(node: RootOperationNode): boolean {
  return printed.has(node)
}

export function isPrintedQueryId(queryId: QueryId): boolean {
  return printed.has(queryId)
}
