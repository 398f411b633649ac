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
 * object of its own (templateStatement).
 */
export function markPrintedTemplate(query: RootOperationNode, queryId: QueryId): void {
  printed.add(query)
  printed.add(queryId)
}

/** Passed to TemplateStatement's constructor by this module only: its class is reachable from any instance. */
const MINT = Symbol('printed template statement')

/**
 * A statement made from a template (one per read): branded by a private field instead of entering the WeakSet,
 * which costs more per call and leaves the collector an entry to clear. Only this class's constructor can give
 * an object the field, and it refuses to finish without MINT, so holding a statement does not let anyone make
 * another with other text; the instances are frozen, so nobody changes one's text either.
 */
class TemplateStatement<R> implements CompiledQuery<R> {
  readonly #printed = true
  readonly query: RootOperationNode
  readonly queryId: QueryId
  readonly sql: string
  readonly parameters: readonly unknown[]

  constructor(mint: symbol, query: RootOperationNode, queryId: QueryId, sql: string, parameters: unknown[]) {
    if (mint !== MINT) throw new TypeError('statements are printed by src/sql only')
    this.query = query
    this.queryId = queryId
    this.sql = sql
    this.parameters = parameters
    Object.freeze(this)
  }

  static isOne(value: object): boolean {
    return #printed in value
  }
}

/** A statement made from a template whose node and query id markPrintedTemplate marked. */
export function templateStatement<R>(
  query: RootOperationNode,
  queryId: QueryId,
  sql: string,
  parameters: unknown[],
): CompiledQuery<R> {
  return new TemplateStatement<R>(MINT, query, queryId, sql, parameters)
}

/** Whether this exact compiled statement object was printed here (a copy with other text is not). */
export function isPrintedStatement(compiled: CompiledQuery): boolean {
  return TemplateStatement.isOne(compiled) || printed.has(compiled)
}

export function isPrintedNode(node: RootOperationNode): boolean {
  return printed.has(node)
}

export function isPrintedQueryId(queryId: QueryId): boolean {
  return printed.has(queryId)
}
