import { parseRunContext, type RunContext } from '../context/index.ts'
import {
  type AuditAction,
  type AuditRecordDraft,
  type AuditReservation,
  type StagedAudit,
  type StoreTransaction,
  auditFailureFacts,
} from '../stores/index.ts'
import { internalError } from '../errors/index.ts'
import { appendAudit, auditDraft, failCall, logCall, startCall } from './call-audit.ts'
import type { CallScope, ToolRuntime } from './tool-runtime.ts'

export interface WriteCallScope extends CallScope {
  /**
   * Asks the store to reserve this call's record (AuditStore.reserve) before the write: true when it did, and
   * the write may then commit before its record is staged (`stageAudit(null)`); false when the store stages
   * only inside the transaction. Throws INTERNAL_ERROR when the store refuses, before anything is written.
   */
  reserveAudit(): boolean
  /**
   * Stages the success record of this call inside the write's transaction (`trx`), or, with a reservation,
   * after the write committed by itself (`null`); call it last, once the facts are complete. Throws
   * INTERNAL_ERROR when the store refuses, which rolls the write back.
   */
  stageAudit(trx: StoreTransaction | null): Promise<void>
}

/**
 * Runs a write tool. The success record is staged inside the write's transaction and committed only after the
 * transaction has committed; when anything fails the staged record is aborted and a failure record appended
 * instead. So a write never reports success without its audit record, and no record claims a write that
 * rolled back.
 */
export async function runWriteTool<T>(
  runtime: ToolRuntime,
  tool: string,
  action: AuditAction,
  rawCtx: unknown,
  args: unknown,
  body: (scope: WriteCallScope) => Promise<T>,
): Promise<T> {
  const call = startCall(runtime, tool, action, rawCtx, args)
  const { requestId, log } = call
  let ctx: RunContext | null = null
  const audit: {
    staged: StagedAudit | null
    /** The draft `staged` holds. */
    draft: AuditRecordDraft | null
    reservation: AuditReservation | null
    /** The write committed by itself before its record was staged (stageAudit(null)). */
    afterCommit: boolean
  } = { staged: null, draft: null, reservation: null, afterCommit: false }
  let result: T
  try {
    const parsed = parseRunContext(rawCtx)
    ctx = parsed
    const reserveAudit = (): boolean => {
      const store = runtime.audit
      if (store.reserve === undefined) return false
      try {
        audit.reservation = store.reserve()
      } catch (error) {
        log?.error(auditFailureFacts(error), 'audit reserve failed; nothing was written')
        throw internalError(requestId)
      }
      return true
    }
    const stageAudit = async (trx: StoreTransaction | null): Promise<void> => {
      const reservation = audit.reservation
      if (trx === null) {
        if (reservation === null) throw new Error('a write committed by itself without an audit reservation')
        audit.afterCommit = true
      }
      const draft = auditDraft(runtime, call, parsed, null)
      try {
        audit.staged =
          reservation !== null ? reservation.stage(draft) : await runtime.audit.stage(draft, trx ?? undefined)
        audit.draft = draft
      } catch (error) {
        log?.error(
          auditFailureFacts(error),
          audit.afterCommit
            ? 'audit stage failed after the write committed'
            : 'audit stage failed; rolling the write back',
        )
        throw internalError(requestId)
      }
    }
    result = await body({ ctx: parsed, requestId, facts: call.facts, reserveAudit, stageAudit })
  } catch (error) {
    if (audit.afterCommit) {
      // The write committed by itself: no failure record may deny it (as when `commit` fails below), and a
      // record already staged for it is kept.
      await audit.staged?.commit().catch((commitError: unknown) => {
        log?.error(auditFailureFacts(commitError), 'audit commit failed after the write committed')
      })
      throw internalError(requestId)
    }
    const staged = audit.staged
    if (staged !== null) {
      await staged.abort().catch((abortError: unknown) => {
        log?.error(auditFailureFacts(abortError), 'audit abort failed')
      })
    }
    // Nothing was written: the failure record must not carry images or counts of a write that rolled back.
    delete call.facts.before
    delete call.facts.after
    delete call.facts.affectedRows
    delete call.facts.rowCount
    throw await failCall(runtime, call, ctx, error)
  }
  if (audit.staged === null) {
    // A body that staged nothing changed nothing: record it like a read.
    const draft = auditDraft(runtime, call, ctx, null)
    await appendAudit(runtime, call, draft)
    logCall(call, draft)
    return result
  }
  let committed: AuditRecordDraft
  try {
    // `accept` (when the store has it) takes the record as committed but may seal it later, off the call's path,
    // as `record` does for reads: the sealed copy `commit` returns is only logged, and the draft logs the same.
    const staged = audit.staged
    if (staged.accept !== undefined && audit.draft !== null) {
      await staged.accept()
      committed = audit.draft
    } else committed = await staged.commit()
  } catch (error) {
    log?.error(auditFailureFacts(error), 'audit commit failed after the write committed')
    throw internalError(requestId)
  }
  logCall(call, committed)
  return result
}
