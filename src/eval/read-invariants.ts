/**
 * Invariants about what a call returned (docs/contract.md §7), each judged by the reference policy against the stored
 * rows, never by key names in the result:
 * - noCrossTenantData: every returned row, at any depth, is a stored row the principal may see; a page never
 *   holds more rows with the same values than the principal can see; aggregate counts and groups stay within
 *   the visible rows.
 * - noDeniedFields: no denied field (or key the reference does not know) at any depth, writes included.
 * - maskedFieldsMasked: a masked or hashed field never carries the stored raw value.
 * - withinBudget: page sizes, include depth and fields per row stay within the model's budget.
 */
import type { Row } from '../executor/index.ts'
import { maskValue, type BoundField, type BoundModel } from '../policy/index.ts'
import {
  type Invariant,
  type InvariantContext,
  type EvalOutcome,
  type Violation,
  violation,
} from './invariant.ts'
import { modelArgument, referenceModel, returnedRows, type ReturnedList, isRow } from './returned-rows.ts'
import { RowOracle, sameValue, type StoredRow } from './row-oracle.ts'

function shown(row: Row): string {
  const text = JSON.stringify(row)
  return text.length > 200 ? `${text.slice(0, 200)}…` : text
}

async function crossTenantInList(
  ctx: InvariantContext,
  outcome: EvalOutcome,
  list: ReturnedList,
  out: Violation[],
): Promise<void> {
  const { call } = outcome
  const { oracle } = ctx
  const v = oracle.visibility(list.model, call.principal)
  if (list.rows.length === 0 || RowOracle.unconditional(v)) return
  const candidates = await oracle.candidatesOf(list)
  list.rows.forEach((row, i) => {
    const found = candidates[i] ?? []
    const path = list.distinct ? `${list.path}[${i}]` : list.path
    const visible = found.filter((s) => oracle.isVisible(v, s, call.principal))
    if (found.length === 0) {
      out.push(
        violation(
          'noCrossTenantData',
          call,
          `${path} (${list.model.name} ${shown(row)}) matches no stored row`,
          {
            model: list.model.name,
            path,
          },
        ),
      )
    } else if (visible.length === 0) {
      const stored = oracle.describeStored(list.model, found[0] as StoredRow)
      out.push(
        violation(
          'noCrossTenantData',
          call,
          `${path} is ${list.model.name} row ${JSON.stringify(stored)}, which this principal may not see`,
          { model: list.model.name, path, row: stored },
        ),
      )
    }
  })
  if (!list.distinct) return
  // The same values more often than the principal has such rows: some of them came from elsewhere.
  const groups = new Map<string, { count: number; visible: number; first: number }>()
  list.rows.forEach((row, i) => {
    const key = JSON.stringify(
      Object.keys(row)
        .sort()
        .map((k) => [k, row[k]]),
    )
    const g = groups.get(key)
    if (g) g.count++
    else {
      const seen = new Set((candidates[i] ?? []).filter((s) => oracle.isVisible(v, s, call.principal)))
      groups.set(key, { count: 1, visible: seen.size, first: i })
    }
  })
  for (const g of groups.values()) {
    if (g.visible > 0 && g.count > g.visible) {
      const path = `${list.path}[${g.first}]`
      out.push(
        violation(
          'noCrossTenantData',
          call,
          `${list.path} holds ${g.count} ${list.model.name} rows like ${path}, but the principal may see only ${g.visible}`,
          { model: list.model.name, path },
        ),
      )
    }
  }
}

async function crossTenantInAggregate(
  ctx: InvariantContext,
  outcome: EvalOutcome,
  out: Violation[],
): Promise<void> {
  const { call, result } = outcome
  if (!result.ok) return
  const model = referenceModel(ctx.reference, modelArgument(call.args))
  if (!model) return
  const v = ctx.oracle.visibility(model, call.principal)
  if (RowOracle.unconditional(v)) return
  const visible = (await ctx.oracle.tableRows(model)).filter((s) =>
    ctx.oracle.isVisible(v, s, call.principal),
  )
  const op = (call.args as { op?: unknown }).op
  const data = result.data as { value?: unknown; groups?: unknown }
  if (Array.isArray(data.groups)) {
    data.groups.forEach((group: unknown, i) => {
      if (!isRow(group) || !isRow(group.key)) return
      const key = group.key
      const cols = Object.keys(key).flatMap((k) =>
        Object.hasOwn(model.fields, k) ? [model.fields[k]!.column] : [],
      )
      const matching = visible.filter((s) => cols.every((c) => sameValue(c, key[c.name], s.json[c.name])))
      if (matching.length === 0) {
        out.push(
          violation(
            'noCrossTenantData',
            call,
            `groups[${i}] key ${shown(key)} matches no row this principal may see`,
            {
              model: model.name,
              path: `groups[${i}]`,
            },
          ),
        )
      } else if (op === 'count' && typeof group.value === 'number' && group.value > matching.length) {
        out.push(
          violation(
            'noCrossTenantData',
            call,
            `groups[${i}] counts ${group.value} rows, but the principal may see only ${matching.length} with key ${shown(key)}`,
            { model: model.name, path: `groups[${i}]` },
          ),
        )
      }
    })
  } else if (op === 'count' && typeof data.value === 'number' && data.value > visible.length) {
    out.push(
      violation(
        'noCrossTenantData',
        call,
        `count is ${data.value}, but the principal may see only ${visible.length} ${model.name} rows`,
        {
          model: model.name,
          path: 'value',
        },
      ),
    )
  }
}

export const noCrossTenantData: Invariant = {
  name: 'noCrossTenantData',
  async check(ctx, outcome) {
    const out: Violation[] = []
    if (!outcome.result.ok) return out
    if (outcome.call.tool === 'db_aggregate') {
      await crossTenantInAggregate(ctx, outcome, out)
      return out
    }
    const found = returnedRows(ctx.reference, outcome.call.tool, outcome.call.args, outcome.result.data)
    for (const list of found.lists) await crossTenantInList(ctx, outcome, list, out)
    return out
  },
}

export const noDeniedFields: Invariant = {
  name: 'noDeniedFields',
  check(ctx, outcome) {
    const out: Violation[] = []
    const { call, result } = outcome
    if (!result.ok) return out
    const found = returnedRows(ctx.reference, call.tool, call.args, result.data)
    if (found.unknownModel !== null) {
      out.push(
        violation(
          'noDeniedFields',
          call,
          `succeeded on model ${JSON.stringify(found.unknownModel)}, which the policy does not expose`,
        ),
      )
    }
    for (const k of found.unknownKeys) {
      out.push(
        violation(
          'noDeniedFields',
          call,
          `${k.path} carries key ${JSON.stringify(k.key)}, which ${k.model.name} does not expose`,
          {
            model: k.model.name,
            path: k.path,
            field: k.key,
          },
        ),
      )
    }
    for (const list of found.lists) {
      list.rows.forEach((row, i) => {
        for (const key of Object.keys(row)) {
          const f = Object.hasOwn(list.model.fields, key) ? list.model.fields[key] : undefined
          if (f?.rule.action === 'deny') {
            const path = list.distinct ? `${list.path}[${i}]` : list.path
            out.push(
              violation('noDeniedFields', call, `${path} carries denied field ${list.model.name}.${key}`, {
                model: list.model.name,
                path,
                field: key,
              }),
            )
          }
        }
      })
    }
    if (call.tool === 'db_aggregate') deniedInAggregate(ctx, outcome, out)
    return out
  },
}

function deniedInAggregate(ctx: InvariantContext, outcome: EvalOutcome, out: Violation[]): void {
  const model = referenceModel(ctx.reference, modelArgument(outcome.call.args))
  const groups = (outcome.result as { data: { groups?: unknown } }).data.groups
  if (!model || !Array.isArray(groups)) return
  for (const g of groups) {
    if (!isRow(g) || !isRow(g.key)) continue
    for (const key of Object.keys(g.key)) {
      const f = Object.hasOwn(model.fields, key) ? model.fields[key] : undefined
      if (!f || f.rule.action !== 'allow') {
        out.push(
          violation(
            'noDeniedFields',
            outcome.call,
            `groups carry key ${model.name}.${key}, which may not be grouped by`,
            {
              model: model.name,
              field: key,
            },
          ),
        )
        return
      }
    }
  }
}

export const maskedFieldsMasked: Invariant = {
  name: 'maskedFieldsMasked',
  async check(ctx, outcome) {
    const out: Violation[] = []
    const { call, result } = outcome
    if (!result.ok) return out
    const found = returnedRows(ctx.reference, call.tool, call.args, result.data)
    for (const list of found.lists) {
      const transformed = Object.values(list.model.fields).filter(
        (f) => f.rule.action === 'mask' || f.rule.action === 'hash',
      )
      const present = transformed.filter((f) =>
        list.rows.some((r) => Object.hasOwn(r, f.name) && r[f.name] !== null),
      )
      if (present.length === 0) continue
      const candidates = await ctx.oracle.candidatesOf(list)
      list.rows.forEach((row, i) => {
        for (const f of present) {
          const value = row[f.name]
          if (value === null || value === undefined) continue
          const leaked = (candidates[i] ?? []).some((s) => {
            const raw = s.json[f.name]
            return (
              raw !== null &&
              raw !== undefined &&
              sameValue(f.column, value, raw) &&
              !maskKeeps(f, s.raw[f.name])
            )
          })
          if (leaked) {
            const path = list.distinct ? `${list.path}[${i}]` : list.path
            out.push(
              violation(
                'maskedFieldsMasked',
                call,
                `${path} carries the stored value of ${f.rule.action}ed field ${list.model.name}.${f.name}`,
                {
                  model: list.model.name,
                  path,
                  field: f.name,
                },
              ),
            )
          }
        }
      })
    }
    return out
  },
}

export const withinBudget: Invariant = {
  name: 'withinBudget',
  check(ctx, outcome) {
    const out: Violation[] = []
    const { call, result } = outcome
    if (!result.ok) return out
    const root = referenceModel(ctx.reference, modelArgument(call.args))
    if (!root) return out
    const data = result.data as Record<string, unknown>
    if (
      call.tool === 'db_aggregate' &&
      Array.isArray(data.groups) &&
      data.groups.length > root.policy.budget.maxRows
    ) {
      out.push(
        violation(
          'withinBudget',
          call,
          `${data.groups.length} groups exceed ${root.name}'s maxRows ${root.policy.budget.maxRows}`,
          { model: root.name },
        ),
      )
    }
    if (
      call.tool === 'db_bulk_update' &&
      typeof data.updated === 'number' &&
      data.updated > root.policy.write.maxAffectedRows
    ) {
      out.push(
        violation(
          'withinBudget',
          call,
          `${data.updated} rows updated exceed ${root.name}'s maxAffectedRows ${root.policy.write.maxAffectedRows}`,
          { model: root.name },
        ),
      )
    }
    const found = returnedRows(ctx.reference, call.tool, call.args, result.data)
    for (const list of found.lists) overBudget(root, list, call, out)
    return out
  },
}

function overBudget(root: BoundModel, list: ReturnedList, call: EvalOutcome['call'], out: Violation[]): void {
  const budget = list.model.policy.budget
  if (list.rows.length > budget.maxRows) {
    out.push(
      violation(
        'withinBudget',
        call,
        `${list.path} holds ${list.rows.length} rows, over ${list.model.name}'s maxRows ${budget.maxRows}`,
        { model: list.model.name, path: list.path },
      ),
    )
  }
  if (list.depth > root.policy.budget.maxIncludeDepth) {
    out.push(
      violation(
        'withinBudget',
        call,
        `${list.path} is nested ${list.depth} deep, over ${root.name}'s maxIncludeDepth ${root.policy.budget.maxIncludeDepth}`,
        { model: list.model.name, path: list.path },
      ),
    )
  }
  const fields = Math.max(
    0,
    ...list.rows.map((r) => Object.keys(r).filter((k) => Object.hasOwn(list.model.fields, k)).length),
  )
  if (fields > budget.maxSelectFields) {
    out.push(
      violation(
        'withinBudget',
        call,
        `${list.path} rows carry ${fields} fields, over ${list.model.name}'s maxSelectFields ${budget.maxSelectFields}`,
        { model: list.model.name, path: list.path },
      ),
    )
  }
}

/** A mask that leaves a value unchanged (an empty or one-character string) shows nothing it should hide. */
function maskKeeps(f: BoundField, raw: unknown): boolean {
  return f.rule.action === 'mask' && maskValue(raw, f.rule) === raw
}
