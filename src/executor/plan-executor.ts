/**
 * Runs plans (docs/contract.md §5): a tool hands the executor the plan the planner made, and the executor does the rest
 * of the call's database work — prints the plan's statements (src/sql), opens the session the enforcement mode
 * asks for (claims, statement timeout and role in one `set_config` statement, see executor.ts), applies the
 * cost guard, runs the write's steps in their transaction and maps every failure to a safe TesseraError.
 * src/tools only parses, plans, hands the plan over and shapes the result and the audit record. Statements
 * run on the host's instance with the statement guard installed: nothing src/sql did not print runs there.
 */
import type { CompiledQuery, QueryResult } from 'kysely'
import type { Logger } from 'pino'
import type { Principal } from '../context/index.ts'
import { budgetExceeded } from '../errors/index.ts'
import { databaseEnforcedRead, type BudgetReport, type ReadPlan, type WritePlan } from '../planner/index.ts'
import {
  bindReadTemplate,
  compileAggregate,
  compileGet,
  compileQuery,
  readTemplateOf,
  type ReadTemplate,
} from '../sql/index.ts'
import type { AnyDatabase } from '../schema/index.ts'
import { createExecutor, type ExecutionSpec } from './executor.ts'
import type { EnforcementMode } from './enforcement-mode.ts'
import { estimateCost } from './explain-cost.ts'
import {
  performWrite,
  prepareWrite,
  selfDecidingWrite,
  writeRefusal,
  type WriteOutcome,
  type WriteResult,
} from './run-write.ts'
import { guarded, runPrinted, storeView } from './statement-guard.ts'
import type { Row } from './shape-rows.ts'

/** Who a call runs for; the request id is logged with any database error and quoted in INTERNAL_ERROR hints. */
export interface PlanCall {
  readonly requestId: string
  readonly principal: Principal
}

export interface WriteCall extends PlanCall {
  /** The model budget's maxConcurrentPerTenant (a write plan carries its timeout, not this). */
  readonly maxConcurrentPerTenant: number
}

/** What a write did, handed to the caller before its transaction commits. */
export interface WrittenPlan {
  /** The target rows before the write, in the read shape (audit image); empty for a create. */
  readonly before: Row[]
  readonly outcome: WriteOutcome
}

/**
 * The write's transaction as the caller may use it before commit: it runs compiled statements only (the audit
 * store's `stage` is its one user). A StoreTransaction.
 */
export interface CallTransaction {
  executeQuery<R>(query: CompiledQuery<R>): Promise<QueryResult<R>>
}

export interface PlanExecutor {
  /**
   * The Kysely instance this executor sends statements on: the host's, with the statement guard installed
   * (statement-guard.ts). Anything built on it is refused; it is exposed for tests and diagnostics only.
   */
  readonly db: AnyDatabase
  /**
   * The raw rows of a read plan's statement (query, get or aggregate), printed for the enforcement mode
   * (`rls`: without the planner's scope and row-policy predicates) and refused with QUERY_BUDGET_EXCEEDED
   * first when the cost guard is on and EXPLAIN estimates more than the budget allows.
   */
  runRead(plan: ReadPlan, call: PlanCall, template?: ReadTemplate): Promise<Row[]>
  /**
   * The statement template of a read plan's shape as this executor prints it (the enforcement mode's
   * reduction applied), for a caller that keeps it per shape and hands it back to runRead (the read fast
   * path, src/tools/read-shape-cache.ts); undefined when the shape is not templated. runRead binds a plan into
   * it only when the plan's values fit (sql/read-template.ts) and compiles the plan itself otherwise.
   */
  readTemplate(plan: ReadPlan): ReadTemplate | undefined
  /**
   * Everything a write checks without changing anything — targets and references visible, the row as written
   * still in scope — in a read-only transaction, without locks: the preview an approval is created from.
   */
  checkWrite(plan: WritePlan, call: WriteCall): Promise<void>
  /**
   * One write transaction: (a) targets read and locked, (b) references checked, (c) the write statement with its
   * SQL WITH CHECK, (d) the affected count held against maxAffectedRows; then `record` (the audit record is
   * staged there, in the same transaction). Anything thrown rolls everything back.
   *
   * With `recordAfterCommit` (the audit store stages without the transaction, and nothing can make it refuse
   * any more: run-write-tool.ts reserveAudit), a write whose one statement decides every refusal itself
   * (run-write.ts selfDecidingWrite) commits with that statement in one round trip, and `record` runs after the
   * commit, with no transaction (`null`).
   */
  runWrite(
    plan: WritePlan,
    call: WriteCall,
    record: (written: WrittenPlan, trx: CallTransaction | null) => Promise<void>,
    recordAfterCommit: boolean,
  ): Promise<WriteResult>
}

export interface PlanExecutorOptions {
  readonly db: AnyDatabase
  readonly enforcement: EnforcementMode
  /** Run EXPLAIN before every read and refuse it above the budget's maxEstimatedCost. */
  readonly costGuard: boolean
  /** Key of the `hash` field transform in written rows' images. */
  readonly secret: string | Uint8Array
  /** Role assumed inside every call (see ExecutorOptions.role). */
  readonly role?: string
  readonly logger?: Logger
  /**
   * Print reads without the planner's scope and row-policy predicates whatever the enforcement (the toolset's
   * test-only seam, which it guards; `rls` enforcement prints them so anyway).
   */
  readonly omitPlannerPredicates?: boolean
}

export function createPlanExecutor(options: PlanExecutorOptions): PlanExecutor {
  const { db, enforcement, costGuard, secret, logger } = options
  // Statements are printed (compiled) on the host's instance and sent on the guarded one.
  const sendDb = guarded(db)
  const session = createExecutor({
    db: sendDb,
    ...(options.role === undefined ? {} : { role: options.role }),
    ...(logger === undefined ? {} : { logger }),
  })
  const claims = enforcement !== 'app'
  const plannerPredicates = enforcement !== 'rls' && options.omitPlannerPredicates !== true

  function spec(
    access: ExecutionSpec['access'],
    call: PlanCall,
    statementTimeoutMs: number,
    maxConcurrentPerTenant: number,
  ): ExecutionSpec {
    return {
      access,
      requestId: call.requestId,
      principal: call.principal,
      claims,
      statementTimeoutMs,
      maxConcurrentPerTenant,
    }
  }

  /** The statement of a read plan as this enforcement mode prints it. */
  function compileRead(plan: ReadPlan): CompiledQuery<Row> {
    const printed = plannerPredicates ? plan : databaseEnforcedRead(plan)
    switch (printed.kind) {
      case 'query':
        return compileQuery<Row>(db, printed)
      case 'get':
        return compileGet<Row>(db, printed)
      case 'aggregate':
        return compileAggregate<Row>(db, printed)
      default: {
        const never: never = printed
        throw new Error(`unhandled read plan ${String(never)}`)
      }
    }
  }

  function readTemplate(plan: ReadPlan): ReadTemplate | undefined {
    return readTemplateOf(db, plannerPredicates ? plan : databaseEnforcedRead(plan))
  }

  function runRead(plan: ReadPlan, call: PlanCall, template?: ReadTemplate): Promise<Row[]> {
    // Not async: the read's promise is handed on as it is (an async function returning it adds a promise and
    // two ticks to every read); anything thrown before it exists leaves as a rejection all the same.
    let compiled: CompiledQuery<Row>
    try {
      compiled =
        (template === undefined
          ? undefined
          : bindReadTemplate<Row>(template, db, plannerPredicates ? plan : databaseEnforcedRead(plan))) ??
        compileRead(plan)
    } catch (error) {
      return Promise.reject(error)
    }
    const budget: BudgetReport = plan.budget
    if (!costGuard) {
      return session.read(
        spec('read', call, budget.statementTimeoutMs, budget.maxConcurrentPerTenant),
        compiled,
      )
    }
    return session.run(
      spec('read', call, budget.statementTimeoutMs, budget.maxConcurrentPerTenant),
      async (q) => {
        if (costGuard) {
          const cost = await estimateCost(q, compiled)
          if (cost > budget.maxEstimatedCost) {
            // No `requested`: even the generic plan's estimate counts other tenants' rows (the table's size).
            throw budgetExceeded('estimated_cost', budget.maxEstimatedCost, undefined)
          }
        }
        return (await runPrinted(q, compiled)).rows
      },
    )
  }

  async function checkWrite(plan: WritePlan, call: WriteCall): Promise<void> {
    await session.run(spec('read', call, plan.statementTimeoutMs, call.maxConcurrentPerTenant), (q) =>
      prepareWrite({ print: db, q }, plan, secret, false),
    )
  }

  async function runWrite(
    plan: WritePlan,
    call: WriteCall,
    record: (written: WrittenPlan, trx: CallTransaction | null) => Promise<void>,
    recordAfterCommit: boolean,
  ): Promise<WriteResult> {
    const writeSpec = spec('write', call, plan.statementTimeoutMs, call.maxConcurrentPerTenant)
    const self = recordAfterCommit ? selfDecidingWrite(db, plan, secret) : null
    if (self !== null) {
      const written = await session.commitWith(writeSpec, self.statement, self.finish, writeRefusal)
      await record(written, null)
      return written.outcome.result
    }
    return session.run(writeSpec, async (q) => {
      const written = await performWrite({ print: db, q }, plan, secret)
      // The audit store stages its record here, through the transaction without the guard (storeView).
      await record(written, storeView(q))
      return written.outcome.result
    })
  }

  return { db: sendDb, runRead, readTemplate, checkWrite, runWrite }
}
