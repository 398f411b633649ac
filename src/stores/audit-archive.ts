/**
 * The one stored form of a chained audit record outside PostgreSQL: one JSON line
 * `{"chain","seq","record","signature"}` (and `{"cut":{…}}` lines for retention cuts in a JSONL store). The
 * JSONL store writes it, retention archives write it, and the CLI reads it.
 */
import { appendFile, mkdir } from 'node:fs/promises'
import { dirname } from 'node:path'
import type { AuditRecord } from './audit-record.ts'
import type { ChainCut, ChainedRecord } from './audit-chain.ts'

export function entryLine(entry: ChainedRecord): string {
  return `${JSON.stringify({
    chain: entry.chain,
    seq: entry.seq,
    record: entry.record,
    signature: entry.signature,
  })}\n`
}

export function cutLine(cut: ChainCut): string {
  return `${JSON.stringify({ cut })}\n`
}

export type ParsedLine =
  | { readonly kind: 'entry'; readonly entry: ChainedRecord }
  | { readonly kind: 'cut'; readonly cut: ChainCut }
  /** A line that is not a stored entry: `chain`/`seq` when they could still be read, for the report. */
  | { readonly kind: 'unreadable'; readonly chain: string | null; readonly seq: number | null }

export function parseLine(line: string): ParsedLine {
  let value: unknown
  try {
    value = JSON.parse(line)
  } catch {
    return { kind: 'unreadable', chain: null, seq: null }
  }
  if (typeof value !== 'object' || value === null) return { kind: 'unreadable', chain: null, seq: null }
  const v = value as Record<string, unknown>
  if (isCut(v['cut'])) return { kind: 'cut', cut: v['cut'] }
  const chain = typeof v['chain'] === 'string' ? v['chain'] : null
  const seq = Number.isSafeInteger(v['seq']) ? (v['seq'] as number) : null
  const record = v['record']
  const signature = v['signature'] === null || typeof v['signature'] === 'string' ? v['signature'] : undefined
  if (
    chain === null ||
    seq === null ||
    signature === undefined ||
    typeof record !== 'object' ||
    record === null ||
    typeof (record as { timestamp?: unknown }).timestamp !== 'string'
  ) {
    return { kind: 'unreadable', chain, seq }
  }
  return { kind: 'entry', entry: { chain, seq, record: record as AuditRecord, signature } }
}

function isCut(value: unknown): value is ChainCut {
  if (typeof value !== 'object' || value === null) return false
  const c = value as Record<string, unknown>
  return (
    typeof c['chain'] === 'string' &&
    Number.isSafeInteger(c['seq']) &&
    typeof c['hash'] === 'string' &&
    (c['signature'] === null || typeof c['signature'] === 'string')
  )
}

/** Appends entries to a JSONL archive (created with its directory if missing). */
export async function appendArchive(path: string, entries: readonly ChainedRecord[]): Promise<void> {
  if (entries.length === 0) return
  await mkdir(dirname(path), { recursive: true })
  await appendFile(path, entries.map(entryLine).join(''), { encoding: 'utf8', mode: 0o600 })
}
