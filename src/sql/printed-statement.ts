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
 * What a statement is to the session it runs in (print-session.ts): a plain statement, a transaction's `set_config`
 * statement, or a statement carrying the `set_config` statement it must run after (a session statement).
 */
const PLAIN = 0
const SETTINGS = 1
const SESSION = 2
type SessionRole = typeof PLAIN | typeof SETTINGS | typeof SESSION

/**
 * A statement made from a template (one per read): branded by a private field instead of entering the WeakSet,
 * which costs more per call and leaves the collector an entry to clear. Only this class's constructor can give
 * an object the field, and it refuses to finish without MINT, so holding a statement does not let anyone make
 * another with other text; the instances are frozen, so nobody changes one's text either. The session role and
 * prefix are private fields too, set here only, so no caller can attach settings to a statement or pass one off
 * as a settings statement.
 */
class TemplateStatement<R> implements CompiledQuery<R> {
  readonly #printed = true
  readonly #role: SessionRole
  readonly #prefix: CompiledQuery | undefined
  readonly query: RootOperationNode
  readonly queryId: QueryId
  readonly sql: string
  readonly parameters: readonly unknown[]

  constructor(
    mint: symbol,
    query: RootOperationNode,
    queryId: QueryId,
    sql: string,
    parameters: readonly unknown[],
    role: SessionRole = PLAIN,
    prefix: CompiledQuery | undefined = undefined,
  ) {
    if (mint !== MINT) throw new TypeError('statements are printed by src/sql only')
    this.query = query
    this.queryId = queryId
    this.sql = sql
    this.parameters = parameters
    this.#role = role
    this.#prefix = prefix
    Object.freeze(this)
  }

  static isOne(value: object): boolean {
    return #printed in value
  }

  static roleOf(value: object): SessionRole {
    return #printed in value ? value.#role : PLAIN
  }

  static prefixOf(value: object): CompiledQuery | undefined {
    return #printed in value ? value.#prefix : undefined
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

/** A `set_config` statement made from a template print-session.ts printed and marked (isSettingsStatement). */
export function settingsStatement(
  query: RootOperationNode,
  queryId: QueryId,
  sql: string,
  parameters: readonly unknown[],
): CompiledQuery {
  return new TemplateStatement(MINT, query, queryId, sql, parameters, SETTINGS)
}

/**
 * `statement` (printed here) as a session statement: the same text and parameters, carrying the settings statement
 * (a settingsStatement) it is to run after. A new object, since `statement` may be a shared cached one.
 */
export function sessionStatement<R>(statement: CompiledQuery<R>, settings: CompiledQuery): CompiledQuery<R> {
  if (!isPrintedStatement(statement))
    throw new Error('session statement over a statement src/sql did not print')
  if (TemplateStatement.roleOf(settings) !== SETTINGS)
    throw new Error('session statement without its settings')
  return new TemplateStatement<R>(
    MINT,
    statement.query,
    statement.queryId,
    statement.sql,
    statement.parameters,
    SESSION,
    settings,
  )
}

/** Whether `compiled` is a settings statement made by settingsStatement. */
export function isSettingsStatement(compiled: CompiledQuery): boolean {
  return TemplateStatement.roleOf(compiled) === SETTINGS
}

/** The settings statement a session statement runs after, or undefined for any other statement. */
export function sessionPrefix(compiled: CompiledQuery): CompiledQuery | undefined {
  return TemplateStatement.prefixOf(compiled)
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
