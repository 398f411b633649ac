/**
 * Only statements src/sql printed run on the toolset's database (docs/decisions.md, "Only printed statements
 * run"). The plan executor installs StatementGuard on its own Kysely instance (`db.withPlugin`), so everything
 * sent through that instance or its transactions meets it:
 *
 * - a query built there — `db.selectFrom(…)`, `` sql`…`.execute(db) `` — reaches `transformQuery` while it is
 *   compiled, before anything is sent; its nodes were never marked by src/sql, so it is refused;
 * - a compiled statement the executor sends goes through `runPrinted`, which refuses an unmarked one before
 *   sending it;
 * - a compiled statement sent past both (`db.executeQuery(CompiledQuery.raw(…))` by code holding the instance)
 *   cannot be seen before it runs — Kysely hands a compiled query straight to the driver — so its result is
 *   refused in `transformResult`: the call fails closed, and inside the call's transaction that rolls it back.
 *
 * Statements sql/ prints are compiled on the host's own instance, never through this one, so the guard never
 * slows compilation or the statement cache. The one statement source that is not src/sql is the audit store's
 * `stage`, handed the call's transaction without the guard (storeView below): the host's store, configured by
 * the host, writing its record inside the write's transaction.
 */
import type {
  CompiledQuery,
  KyselyPlugin,
  PluginTransformQueryArgs,
  PluginTransformResultArgs,
  QueryResult,
  RootOperationNode,
  UnknownRow,
} from 'kysely'
import { statementNotPrinted } from '../errors/index.ts'
import { isPrintedNode, isPrintedQueryId, isPrintedStatement } from '../sql/index.ts'
import type { AnyDatabase } from '../schema/index.ts'

export class StatementGuard implements KyselyPlugin {
  transformQuery(args: PluginTransformQueryArgs): RootOperationNode {
    if (!isPrintedNode(args.node)) throw statementNotPrinted()
    return args.node
  }

  async transformResult(args: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
    if (!isPrintedQueryId(args.queryId)) throw statementNotPrinted()
    return args.result
  }
}

/** `db` with the guard installed: the instance (and, through it, the transactions) the executor runs on. */
export function guarded(db: AnyDatabase): AnyDatabase {
  return db.getExecutor().plugins.some((p) => p instanceof StatementGuard)
    ? db
    : db.withPlugin(new StatementGuard())
}

/** Sends a statement src/sql printed; anything else is refused before it is sent. */
export function runPrinted<R>(q: AnyDatabase, compiled: CompiledQuery<R>): Promise<QueryResult<R>> {
  if (!isPrintedStatement(compiled)) return Promise.reject(statementNotPrinted())
  return q.executeQuery(compiled)
}

/**
 * The call's transaction for an audit store's `stage`: the same connection and transaction, with the host's own
 * plugins but without the guard. The plan executor hands it to nothing but the write's `beforeCommit`, whose
 * one use is staging the audit record.
 */
export function storeView(q: AnyDatabase): AnyDatabase {
  let view = q.withoutPlugins()
  for (const plugin of q.getExecutor().plugins) {
    if (!(plugin instanceof StatementGuard)) view = view.withPlugin(plugin)
  }
  return view
}
