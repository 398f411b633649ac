/**
 * Replaying a recorded session under another policy: every call runs again, in order, through a toolset under
 * the new policy, and its outcome is compared with the recorded one — calls newly denied or newly allowed, an
 * error code that changed, rows added, removed or altered per call. A policy change review for pull requests:
 * the report lists exactly the calls whose results differ.
 */
import { readFile } from 'node:fs/promises'
import { TesseraError } from '../errors/index.ts'
import type { JsonValue } from '../executor/index.ts'
import { REDACTED } from '../stores/index.ts'
import type { Toolset } from '../tools/index.ts'
import {
  outcomeOf,
  recordedCallSchema,
  recordingHeaderSchema,
  type RecordedCall,
  type RecordedOutcome,
  type RecordingHeader,
} from './call-recording.ts'

export type ReplayChange =
  'newly-denied' | 'newly-allowed' | 'error-changed' | 'rows-changed' | 'result-changed'

export interface ReplayedCall {
  readonly seq: number
  readonly tool: string
  readonly tenantId: string
  readonly model?: string
  /** Undefined: the call's outcome is the same. */
  readonly change?: ReplayChange
  readonly before: RecordedOutcome
  readonly after: RecordedOutcome
  readonly rowsAdded: readonly string[]
  readonly rowsRemoved: readonly string[]
  /** Same key, different values (e.g. a field now masked). */
  readonly rowsAltered: readonly string[]
  /**
   * The recording holds `[REDACTED]` in place of some argument (call-recording.ts), so the call was replayed
   * with that text: a change may come from the missing value rather than from the policy.
   */
  readonly argsRedacted: boolean
}

export interface ReplayReport {
  readonly calls: readonly ReplayedCall[]
  readonly changed: readonly ReplayedCall[]
}

export interface Recording {
  readonly header: RecordingHeader | undefined
  readonly calls: readonly RecordedCall[]
}

/** Parses a JSONL recording; every malformed line is reported at once with its line number. */
export function parseRecording(text: string, file = 'recording'): Recording {
  let header: RecordingHeader | undefined
  const calls: RecordedCall[] = []
  const problems: string[] = []
  text.split('\n').forEach((line, i) => {
    if (line.trim() === '') return
    let value: unknown
    try {
      value = JSON.parse(line)
    } catch {
      problems.push(`${file}:${i + 1}: not JSON`)
      return
    }
    const isHeader = (value as { type?: unknown } | null)?.type === 'session'
    const parsed = (isHeader ? recordingHeaderSchema : recordedCallSchema).safeParse(value)
    if (!parsed.success) {
      const issue = parsed.error.issues[0]
      problems.push(`${file}:${i + 1}: ${issue?.path.join('.') || '(line)'}: ${issue?.message ?? 'invalid'}`)
    } else if (isHeader) header ??= parsed.data as RecordingHeader
    else calls.push(parsed.data as RecordedCall)
  })
  if (problems.length > 0) {
    throw new TesseraError('VALIDATION_ERROR', `Recording ${file} is invalid:\n${problems.join('\n')}`, {
      details: { file, problems },
    })
  }
  return { header, calls }
}

export async function loadRecording(file: string): Promise<Recording> {
  return parseRecording(await readFile(file, 'utf8'), file)
}

function holdsRedacted(value: JsonValue): boolean {
  if (value === REDACTED) return true
  if (typeof value !== 'object' || value === null) return false
  return (Array.isArray(value) ? value : Object.values(value)).some(holdsRedacted)
}

function compare(
  call: RecordedCall,
  after: RecordedOutcome,
): Omit<ReplayedCall, 'seq' | 'tool' | 'tenantId' | 'model' | 'argsRedacted'> {
  const before = call.outcome
  const none = { rowsAdded: [], rowsRemoved: [], rowsAltered: [] }
  if (!before.ok && !after.ok) {
    return before.code === after.code
      ? { before, after, ...none }
      : { before, after, change: 'error-changed', ...none }
  }
  if (before.ok !== after.ok) {
    const added = after.ok ? Object.keys(after.rows) : []
    const removed = before.ok ? Object.keys(before.rows) : []
    return {
      before,
      after,
      change: after.ok ? 'newly-allowed' : 'newly-denied',
      rowsAdded: added,
      rowsRemoved: removed,
      rowsAltered: [],
    }
  }
  if (!before.ok || !after.ok) return { before, after, ...none } // unreachable: narrowed above
  const rowsAdded = Object.keys(after.rows).filter((k) => !Object.hasOwn(before.rows, k))
  const rowsRemoved = Object.keys(before.rows).filter((k) => !Object.hasOwn(after.rows, k))
  const rowsAltered = Object.keys(after.rows).filter(
    (k) => Object.hasOwn(before.rows, k) && before.rows[k] !== after.rows[k],
  )
  const rowsDiffer = rowsAdded.length + rowsRemoved.length + rowsAltered.length > 0
  const change: ReplayChange | undefined = rowsDiffer
    ? 'rows-changed'
    : before.digest !== after.digest
      ? 'result-changed'
      : undefined
  return { before, after, rowsAdded, rowsRemoved, rowsAltered, ...(change === undefined ? {} : { change }) }
}

/** Runs every recorded call through `toolset` (under the new policy) and compares outcomes. */
export async function replayCalls(
  toolset: Toolset,
  calls: readonly RecordedCall[],
  options: { onCall?: (call: ReplayedCall) => void } = {},
): Promise<ReplayReport> {
  const out: ReplayedCall[] = []
  for (const call of calls) {
    const result = await toolset.call({ principal: call.principal }, call.tool, call.args)
    const args = call.args
    const model =
      typeof args === 'object' && args !== null && !Array.isArray(args) && typeof args['model'] === 'string'
        ? args['model']
        : undefined
    const replayed: ReplayedCall = {
      seq: call.seq,
      tool: call.tool,
      tenantId: call.principal.tenantId,
      ...(model === undefined ? {} : { model }),
      argsRedacted: holdsRedacted(call.args),
      ...compare(call, outcomeOf(toolset.bound, call.args, result)),
    }
    out.push(replayed)
    options.onCall?.(replayed)
  }
  return { calls: out, changed: out.filter((c) => c.change !== undefined) }
}

const SHOWN_KEYS = 5

function keys(label: string, list: readonly string[]): string[] {
  if (list.length === 0) return []
  const shown = list.slice(0, SHOWN_KEYS).join(', ')
  const more = list.length > SHOWN_KEYS ? ` and ${list.length - SHOWN_KEYS} more` : ''
  return [`      ${label} ${list.length}: ${shown}${more}`]
}

function outcomeText(o: RecordedOutcome): string {
  return o.ok ? `ok, ${Object.keys(o.rows).length} rows` : o.code
}

/** The report for people: one line per changed call, with its row keys, then a count. */
export function replayLines(report: ReplayReport): string[] {
  const lines: string[] = []
  for (const c of report.changed) {
    const what = `#${c.seq} ${c.tool}${c.model === undefined ? '' : ` ${c.model}`} as tenant ${JSON.stringify(c.tenantId)}`
    const note = c.argsRedacted ? ` (replayed with ${REDACTED} for a value not recorded)` : ''
    lines.push(`  ${c.change ?? ''}  ${what}: ${outcomeText(c.before)} → ${outcomeText(c.after)}${note}`)
    lines.push(
      ...keys('rows added', c.rowsAdded),
      ...keys('rows removed', c.rowsRemoved),
      ...keys('rows altered', c.rowsAltered),
    )
  }
  lines.push(
    report.changed.length === 0
      ? `No change: all ${report.calls.length} calls replayed with the same outcome.`
      : `${report.changed.length} of ${report.calls.length} calls changed.`,
  )
  return lines
}
