/**
 * CPU cost of the Tessera read path without a database: each stage a toolset call runs, timed in its own loop
 * over the same varying inputs the latency benchmark uses. "Before send" is what a call spends before its
 * statement reaches the driver (context, request, plan, build, compile, statement name); "after receive" is
 * what it spends once the rows are back (shaping, cursor, audit).
 */
import { createHash } from 'node:crypto'
import type { Kysely } from 'kysely'
import { auditSensitiveFields, MemoryAuditStore, sealAuditRecord } from '../src/stores/index.ts'
import { parseRunContext, type RunContext } from '../src/context/index.ts'
import { printGet, printQuery } from '../src/sql/print-select.ts'
import { compileGet, compileQuery } from '../src/sql/statement-cache.ts'
import { cursorBinding, encodeCursor } from '../src/planner/cursor.ts'
import { planGet, planQuery } from '../src/planner/plan-read.ts'
import { parseRequest } from '../src/request/request-schema.ts'
import type { BoundPolicy } from '../src/policy/types.ts'
import { shapeRows } from '../src/executor/shape-rows.ts'
import { type CallStart, auditDraft } from '../src/tools/call-audit.ts'
import type { ToolRuntime } from '../src/tools/tool-runtime.ts'
import type { SampleRow } from './bench-data.ts'

/** A call record as call-audit.ts builds one (the parsed request among its facts), for timing auditDraft. */
function benchCall(tool: string, rawCtx: unknown, args: unknown, request: unknown): CallStart {
  return {
    tool,
    action: 'read',
    rawCtx,
    args,
    started: 0,
    requestId: 'req',
    facts: { request },
    log: undefined,
  }
}

export interface StageCost {
  readonly stage: string
  /**
   * Part of the path before the statement is sent ('before') or after the rows are back ('after'); 'reference'
   * rows are alternatives or sums shown for comparison and are not added up.
   */
  readonly phase: 'before' | 'after' | 'reference'
  readonly micros: number
}

export interface CpuBreakdown {
  readonly get: readonly StageCost[]
  readonly query: readonly StageCost[]
}

let sink: unknown

/** Mean µs per call of `fn` over `n` calls, after `n / 5` warm-up calls. */
function timeLoop(n: number, fn: (i: number) => unknown): number {
  for (let i = 0; i < Math.max(50, Math.floor(n / 5)); i++) sink = fn(i)
  const started = performance.now()
  for (let i = 0; i < n; i++) sink = fn(i)
  return ((performance.now() - started) * 1000) / n
}

// The dialect's statement naming (a salted SHA-1 of the SQL text). The dialect now remembers the name of each
// text, so a call pays a Map lookup; the hash is shown for reference.
function statementName(sql: string): string {
  return createHash('sha1').update('0123456789abcdef').update('\0').update(sql).digest('hex').slice(0, 16)
}

export function measureCpu(
  db: Kysely<any>,
  bound: BoundPolicy,
  secret: string,
  sample: readonly SampleRow[],
  n: number,
): CpuBreakdown {
  const at = (i: number): SampleRow => sample[i % sample.length] as SampleRow
  const rawCtx = (i: number): RunContext => ({ principal: { tenantId: at(i).tenantId } })
  const ctxs = sample.map((_, i) => parseRunContext(rawCtx(i)))
  const ctx = (i: number): RunContext => ctxs[i % ctxs.length] as RunContext
  // What auditDraft reads from the runtime, as createToolset sets it for the default (memory) store: the digest
  // is sealed with the record, off the call path.
  const runtime = {
    bound,
    auditSensitiveFields: auditSensitiveFields(bound),
    auditDigestKey: createHash('sha256').update(secret).digest(),
    auditSealsDigests: true,
  } as unknown as ToolRuntime
  const audit = new MemoryAuditStore()
  const fakeRow = (i: number) => ({
    id: at(i).id,
    status: 'paid',
    total: '123.45',
    created_at: '2024-01-05T10:11:12+00:00',
  })

  const getArgs = (i: number) => ({ model: 'Order', id: at(i).id })
  const getReqs = sample.map((_, i) => parseRequest('get', getArgs(i)))
  const getPlans = sample.map((_, i) => planGet(bound, ctx(i).principal, getReqs[i]!))
  const getSql = compileGet(db, getPlans[0]!).sql
  const getStages: StageCost[] = [
    { stage: 'parseRunContext', phase: 'before', micros: timeLoop(n, (i) => parseRunContext(rawCtx(i))) },
    { stage: 'parseRequest', phase: 'before', micros: timeLoop(n, (i) => parseRequest('get', getArgs(i))) },
    {
      stage: 'planGet',
      phase: 'before',
      micros: timeLoop(n, (i) => planGet(bound, ctx(i).principal, getReqs[i % getReqs.length]!)),
    },
    {
      stage: 'build + compile (Kysely, no cache)',
      phase: 'reference',
      micros: timeLoop(n, (i) => printGet(db, getPlans[i % getPlans.length]!).compile()),
    },
    {
      stage: 'compileGet (statement template cache)',
      phase: 'before',
      micros: timeLoop(n, (i) => compileGet(db, getPlans[i % getPlans.length]!)),
    },
    {
      stage: 'statement name (sha1, now once per text)',
      phase: 'reference',
      micros: timeLoop(n, () => statementName(getSql)),
    },
    {
      stage: 'shapeRows (1 row)',
      phase: 'after',
      micros: timeLoop(n, (i) => shapeRows([fakeRow(i)], getPlans[i % getPlans.length]!.root, secret)),
    },
    {
      stage: 'audit draft + record (memory store)',
      phase: 'after',
      micros: timeLoop(n, (i) => {
        const draft = auditDraft(
          runtime,
          benchCall('db_get', rawCtx(i), getArgs(i), getReqs[i % getReqs.length]),
          ctx(i),
          null,
        )
        return audit.record(draft)
      }),
    },
    {
      stage: 'seal one record (batched, off the call path)',
      phase: 'reference',
      micros: timeLoop(n, (i) =>
        sealAuditRecord(
          auditDraft(
            runtime,
            benchCall('db_get', rawCtx(i), getArgs(i), getReqs[i % getReqs.length]),
            ctx(i),
            null,
          ),
          null,
        ),
      ),
    },
  ]
  getStages.push({
    stage: 'context + request + plan + compile, one loop',
    phase: 'reference',
    micros: timeLoop(n, (i) => {
      const c = parseRunContext(rawCtx(i))
      return compileGet(db, planGet(bound, c.principal, parseRequest('get', getArgs(i))))
    }),
  })

  const queryArgs = () => ({ model: 'Order', orderBy: [{ field: 'created_at' }], limit: 20 })
  const queryReq = parseRequest('query', queryArgs())
  const queryPlans = sample.map((_, i) => planQuery(bound, ctx(i).principal, queryReq, { cursorKey: secret }))
  const querySql = compileQuery(db, queryPlans[0]!).sql
  const page = Array.from({ length: 20 }, (_, i) => fakeRow(i))
  const binding = cursorBinding(queryPlans[0]!.cursorScope)
  const queryStages: StageCost[] = [
    { stage: 'parseRunContext', phase: 'before', micros: timeLoop(n, (i) => parseRunContext(rawCtx(i))) },
    { stage: 'parseRequest', phase: 'before', micros: timeLoop(n, () => parseRequest('query', queryArgs())) },
    {
      stage: 'planQuery',
      phase: 'before',
      micros: timeLoop(n, (i) => planQuery(bound, ctx(i).principal, queryReq, { cursorKey: secret })),
    },
    {
      stage: 'build + compile (Kysely, no cache)',
      phase: 'reference',
      micros: timeLoop(n, (i) => printQuery(db, queryPlans[i % queryPlans.length]!).compile()),
    },
    {
      stage: 'compileQuery (statement template cache)',
      phase: 'before',
      micros: timeLoop(n, (i) => compileQuery(db, queryPlans[i % queryPlans.length]!)),
    },
    {
      stage: 'statement name (sha1, now once per text)',
      phase: 'reference',
      micros: timeLoop(n, () => statementName(querySql)),
    },
    {
      stage: 'shapeRows (20 rows)',
      phase: 'after',
      micros: timeLoop(n, (i) => shapeRows(page, queryPlans[i % queryPlans.length]!.root, secret)),
    },
    {
      stage: 'cursorBinding (next cursor)',
      phase: 'after',
      micros: timeLoop(n, (i) => cursorBinding(queryPlans[i % queryPlans.length]!.cursorScope)),
    },
    {
      stage: 'encodeCursor',
      phase: 'after',
      micros: timeLoop(n, (i) =>
        encodeCursor({ v: 1, b: binding, k: [`2024-01-0${1 + (i % 9)}`, at(i).id] }, secret),
      ),
    },
    {
      stage: 'audit draft + record (memory store)',
      phase: 'after',
      micros: timeLoop(n, (i) => {
        const draft = auditDraft(
          runtime,
          benchCall('db_query', rawCtx(i), queryArgs(), queryReq),
          ctx(i),
          null,
        )
        return audit.record(draft)
      }),
    },
  ]
  queryStages.push({
    stage: 'context + request + plan + compile, one loop',
    phase: 'reference',
    micros: timeLoop(n, (i) => {
      const c = parseRunContext(rawCtx(i))
      return compileQuery(
        db,
        planQuery(bound, c.principal, parseRequest('query', queryArgs()), { cursorKey: secret }),
      )
    }),
  })
  if (sink === Symbol.for('never')) throw new Error('unreachable')
  return { get: getStages, query: queryStages }
}
