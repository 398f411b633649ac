/**
 * Invariants about what a call changed and recorded:
 * - writesStayInScope: every row outside the principal's scope (by the reference policy, soft-deleted rows
 *   of its own counted as in scope) is byte-for-byte the same after the call, none appeared or left, and
 *   every foreign key the call set points at a row the principal may see (no cross-tenant FK plants).
 * - everyCallAudited: exactly one audit record carries the call's requestId, with the call's outcome.
 */
import type { Principal } from '../context/index.ts'
import { canonicalJson } from '../json/index.ts'
import { AUDIT_QUERY_MAX_LIMIT, type AuditRecord } from '../stores/index.ts'
import type { BoundModel, BoundPolicy } from '../policy/index.ts'
import { type EvalCall, type Invariant, type Violation, violation } from './invariant.ts'
import { RowOracle, type StoredRow } from './row-oracle.ts'
import { TOOL_NAMES } from '../tools/index.ts'

export const WRITE_TOOLS: ReadonlySet<string> = new Set([
  TOOL_NAMES.create,
  TOOL_NAMES.update,
  TOOL_NAMES.delete,
  TOOL_NAMES.bulkUpdate,
])

export interface TableSnapshot {
  readonly model: BoundModel
  /** key text → canonical JSON of the stored row. */
  readonly outside: Map<string, string>
  readonly inside: Map<string, StoredRow>
}

export type Snapshot = Map<string, TableSnapshot>

function keyText(model: BoundModel, row: StoredRow): string {
  return JSON.stringify(model.primaryKey.map((c) => row.json[c] ?? null))
}

/** One model per table (the first the policy names): a table is snapshotted once. */
function modelsByTable(reference: BoundPolicy): BoundModel[] {
  const seen = new Map<string, BoundModel>()
  for (const m of Object.values(reference.models)) if (!seen.has(m.table.key)) seen.set(m.table.key, m)
  return [...seen.values()]
}

async function snapshot(oracle: RowOracle, reference: BoundPolicy, principal: Principal): Promise<Snapshot> {
  const out: Snapshot = new Map()
  const fresh = oracle.fresh()
  for (const model of modelsByTable(reference)) {
    const v = fresh.visibility(model, principal, { ignoreSoftDelete: true })
    if (RowOracle.unconditional(v)) continue
    const outside = new Map<string, string>()
    const inside = new Map<string, StoredRow>()
    for (const row of await fresh.tableRows(model)) {
      if (fresh.isVisible(v, row, principal)) inside.set(keyText(model, row), row)
      else outside.set(keyText(model, row), canonicalJson(row.json))
    }
    out.set(model.table.key, { model, outside, inside })
  }
  return out
}

export const writesStayInScope: Invariant<Snapshot | null> = {
  name: 'writesStayInScope',
  async before(ctx, call) {
    return WRITE_TOOLS.has(call.tool) ? snapshot(ctx.oracle, ctx.reference, call.principal) : null
  },
  async check(ctx, outcome, before) {
    const out: Violation[] = []
    if (!before) return out
    const { call } = outcome
    const after = await snapshot(ctx.oracle, ctx.reference, call.principal)
    for (const [table, was] of before) {
      const now = after.get(table)
      if (!now) continue
      const name = was.model.name
      for (const [key, json] of was.outside) {
        const current = now.outside.get(key)
        if (current === undefined) {
          const moved = now.inside.has(key)
          out.push(
            violation(
              'writesStayInScope',
              call,
              `${name} row ${key} outside the principal's scope was ${moved ? 'moved into its scope' : 'deleted'}`,
              {
                model: name,
                row: { key },
              },
            ),
          )
        } else if (current !== json) {
          out.push(
            violation(
              'writesStayInScope',
              call,
              `${name} row ${key} outside the principal's scope was modified`,
              { model: name, row: { key } },
            ),
          )
        }
      }
      for (const key of now.outside.keys()) {
        if (!was.outside.has(key)) {
          out.push(
            violation(
              'writesStayInScope',
              call,
              `${name} row ${key} ${was.inside.has(key) ? 'was moved out of' : 'was created outside'} the principal's scope`,
              {
                model: name,
                row: { key },
              },
            ),
          )
        }
      }
      await plantedReferences(ctx.reference, ctx.oracle, call, was, now, out)
    }
    return out
  },
}

/** Foreign keys set or changed by the call must point at rows the principal may see. */
async function plantedReferences(
  reference: BoundPolicy,
  oracle: RowOracle,
  call: EvalCall,
  was: TableSnapshot,
  now: TableSnapshot,
  out: Violation[],
): Promise<void> {
  const model = was.model
  for (const [key, row] of now.inside) {
    const old = was.inside.get(key)
    if (old && canonicalJson(old.json) === canonicalJson(row.json)) continue
    for (const fk of model.table.foreignKeys) {
      if (fk.columns.length !== 1) continue
      const column = fk.columns[0] as string
      const value = row.json[column]
      if (
        value === null ||
        value === undefined ||
        (old && canonicalJson(old.json[column]) === canonicalJson(value))
      )
        continue
      const target = Object.values(reference.models).find(
        (m) => m.table.schema === fk.referencedSchema && m.table.name === fk.referencedTable,
      )
      const remote = fk.referencedColumns[0]
      if (!target || remote === undefined) continue
      const v = oracle.visibility(target, call.principal)
      if (RowOracle.unconditional(v)) continue
      const targets = await oracle.fresh().rowsWhere(target, remote, [String(value)])
      if (!targets.some((t) => oracle.isVisible(v, t, call.principal))) {
        out.push(
          violation(
            'writesStayInScope',
            call,
            `${model.name} row ${key} now references ${target.name} ${JSON.stringify(value)} (${column}), which the principal may not see`,
            {
              model: model.name,
              row: { key },
              field: column,
            },
          ),
        )
      }
    }
  }
}

export const everyCallAudited: Invariant<string> = {
  name: 'everyCallAudited',
  async before() {
    // Margin for a store that stamps records with the start of the call or a coarse clock.
    return new Date(Date.now() - 2_000).toISOString()
  },
  async check(ctx, outcome, from) {
    const { call, result } = outcome
    const records: AuditRecord[] = []
    // Paged: a store answers at most AUDIT_QUERY_MAX_LIMIT records per query.
    for (let offset = 0; ; offset += AUDIT_QUERY_MAX_LIMIT) {
      const page = await ctx.toolset.audit.query({
        ...(from === undefined ? {} : { from }),
        limit: AUDIT_QUERY_MAX_LIMIT,
        offset,
      })
      records.push(...page.filter((r) => r.requestId === call.requestId))
      if (page.length < AUDIT_QUERY_MAX_LIMIT) break
    }
    if (records.length !== 1) {
      return [
        violation(
          'everyCallAudited',
          call,
          `left ${records.length} audit records (requestId ${call.requestId}), expected exactly 1`,
        ),
      ]
    }
    const record = records[0]!
    const expected = result.ok ? 'success' : `${result.error.code}`
    const actual = record.outcome === 'success' ? 'success' : `${record.errorCode ?? '(no code)'}`
    if (expected !== actual || (!result.ok && record.outcome === 'success')) {
      return [
        violation(
          'everyCallAudited',
          call,
          `audit record says ${record.outcome} ${actual}, but the call returned ${expected}`,
        ),
      ]
    }
    return []
  },
}
