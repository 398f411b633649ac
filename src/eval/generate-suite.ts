/**
 * A generated isolation suite (issue: "evals for the user's own policy"): from any policy and a live database,
 * for pairs of principals of different tenants and every model, attempts to read the other tenant's rows
 * (get by key, a filter on the key, OR/NOT widening, reuse of a cursor issued to the other principal, a page
 * that selects neither key nor tenant, includes, aggregates) and, where the policy allows writes, to update,
 * delete and plant foreign keys into them. Every invariant checks each call; a `get` also expects exactly what the reference policy says (found or
 * NOT_FOUND). The result is an ordinary suite, so it can be written out as YAML and kept.
 */
import type { Principal } from '../context/index.ts'
import { toJsonSafe } from '../executor/index.ts'
import type { BoundModel, BoundPolicy } from '../policy/index.ts'
import { generatePrincipals, type GeneratedPrincipal } from './generate-principals.ts'
import type { RowOracle } from './row-oracle.ts'
import { type StoredRow } from './row-oracle.ts'
import type { EvalCase, EvalSuite } from './suite-file.ts'

export interface GenerateOptions {
  /** Ordered (attacker, victim) tenant pairs to attack (default 4). */
  readonly maxPairs?: number
  readonly name?: string
}

const TEXT_PROBE = 'eval-probe'

function tenantColumn(model: BoundModel): string | undefined {
  return model.policy.scoping.find((s) => s.path[0] === 'tenantId')?.column
}

function singleKey(model: BoundModel): string | undefined {
  const pk = model.primaryKey.length === 1 ? model.primaryKey[0] : undefined
  return pk !== undefined && model.fields[pk]?.rule.action === 'allow' ? pk : undefined
}

async function rowsOf(oracle: RowOracle, model: BoundModel): Promise<StoredRow[]> {
  try {
    return await oracle.tableRows(model)
  } catch {
    return []
  }
}

function keyValue(row: StoredRow, column: string): string | number | null {
  const v = toJsonSafe(row.raw[column] ?? null)
  return typeof v === 'string' || typeof v === 'number' ? v : null
}

/** Pairs: the first two tenants attack each other, every further tenant attacks the first. */
function pairs(
  principals: readonly GeneratedPrincipal[],
  max: number,
): [GeneratedPrincipal, GeneratedPrincipal][] {
  const tenants = principals.filter((p) => (p.principal.roles ?? []).length === 0)
  const out: [GeneratedPrincipal, GeneratedPrincipal][] = []
  const [a, b, ...rest] = tenants
  if (a && b) out.push([a, b], [b, a])
  if (a) for (const r of rest) out.push([r, a])
  // Role principals (bypass and the like) attack the second tenant, whatever the limit.
  const roles = principals.filter((x) => (x.principal.roles ?? []).length > 0)
  return [
    ...out.slice(0, Math.max(max, 0)),
    ...(b ? roles.map((p): [GeneratedPrincipal, GeneratedPrincipal] => [p, b]) : []),
  ]
}

function victimRow(
  oracle: RowOracle,
  rows: readonly StoredRow[],
  model: BoundModel,
  victim: Principal,
  attacker: Principal,
): StoredRow | undefined {
  const col = tenantColumn(model)
  const own = rows.filter(
    (r) => col !== undefined && String(toJsonSafe(r.raw[col] ?? null)) === victim.tenantId,
  )
  const v = oracle.visibility(model, attacker)
  // Prefer a row the attacker may not see: the interesting case.
  return own.find((r) => !oracle.isVisible(v, r, attacker)) ?? own[0]
}

function writableTextField(model: BoundModel): string | undefined {
  const w = model.policy.write
  return Object.values(model.fields).find(
    (f) =>
      f.rule.action === 'allow' &&
      f.column.typeClass === 'string' &&
      !f.column.generated &&
      !model.primaryKey.includes(f.name) &&
      !w.immutableFields.includes(f.name) &&
      !Object.hasOwn(w.autoSet, f.name) &&
      w.softDelete?.field !== f.name,
  )?.name
}

async function modelCases(
  reference: BoundPolicy,
  oracle: RowOracle,
  model: BoundModel,
  attacker: GeneratedPrincipal,
  victim: GeneratedPrincipal,
): Promise<EvalCase[]> {
  const out: EvalCase[] = []
  const pk = singleKey(model)
  const rows = await rowsOf(oracle, model)
  const target = victimRow(oracle, rows, model, victim.principal, attacker.principal)
  const max = model.policy.budget.maxRows
  const base = { principal: attacker.name }
  const label = `${attacker.name} → ${victim.name}: ${model.name}`
  if (pk !== undefined && target) {
    const id = keyValue(target, pk)
    if (id !== null) {
      const visible = oracle.isVisible(
        oracle.visibility(model, attacker.principal),
        target,
        attacker.principal,
      )
      const eq = { field: pk, op: 'eq', value: id }
      out.push(
        {
          ...base,
          name: `${label} get by key`,
          tool: 'db_get',
          args: { model: model.name, id },
          expect: visible ? { ok: true } : { errorCode: 'NOT_FOUND' },
        },
        {
          ...base,
          name: `${label} filter on the key`,
          tool: 'db_query',
          args: { model: model.name, where: eq, limit: 5 },
        },
        {
          ...base,
          name: `${label} OR/NOT widening`,
          tool: 'db_query',
          args: { model: model.name, where: { or: [eq, { not: eq }] }, limit: max },
        },
      )
      const w = model.policy.write
      const text = writableTextField(model)
      if (w.update !== 'deny' && text !== undefined) {
        out.push({
          ...base,
          name: `${label} update another tenant's row`,
          tool: 'db_update',
          args: { model: model.name, id, data: { [text]: TEXT_PROBE }, reason: 'eval' },
        })
      }
      if (w.delete !== 'deny') {
        out.push({
          ...base,
          name: `${label} delete another tenant's row`,
          tool: 'db_delete',
          args: { model: model.name, id, reason: 'eval' },
        })
      }
    }
  }
  // Cursor reuse: a cursor issued to the victim for its first page, sent by the attacker with the same query.
  const victimSees = oracle.visibility(model, victim.principal)
  if (
    pk !== undefined &&
    attacker.name !== victim.name &&
    rows.filter((r) => oracle.isVisible(victimSees, r, victim.principal)).length >= 2
  ) {
    const page = { model: model.name, select: [pk], limit: 1 }
    out.push({
      ...base,
      name: `${label} reuse of the victim's cursor`,
      tool: 'db_query',
      args: page,
      cursorFrom: { principal: victim.name, args: page },
      expect: { errorCode: 'INVALID_CURSOR' },
    })
  }
  const plain = Object.values(model.fields).find(
    (f) =>
      f.rule.action === 'allow' && f.name !== pk && !model.policy.scoping.some((s) => s.column === f.name),
  )
  if (plain) {
    out.push({
      ...base,
      name: `${label} page without key or tenant columns`,
      tool: 'db_query',
      args: { model: model.name, select: [plain.name], limit: max },
    })
  }
  out.push(...(await plantCases(reference, oracle, model, attacker, victim, label)))
  return out
}

/** Creates whose foreign key points at the victim's row of the referenced model. */
async function plantCases(
  reference: BoundPolicy,
  oracle: RowOracle,
  model: BoundModel,
  attacker: GeneratedPrincipal,
  victim: GeneratedPrincipal,
  label: string,
): Promise<EvalCase[]> {
  const w = model.policy.write
  if (w.create === 'deny') return []
  const rows = await rowsOf(oracle, model)
  const col = tenantColumn(model)
  const template = rows.find(
    (r) => col !== undefined && String(toJsonSafe(r.raw[col] ?? null)) === attacker.principal.tenantId,
  )
  if (!template) return []
  const out: EvalCase[] = []
  for (const fk of model.table.foreignKeys) {
    const column = fk.columns.length === 1 ? fk.columns[0] : undefined
    if (
      column === undefined ||
      Object.hasOwn(w.autoSet, column) ||
      model.fields[column]?.rule.action !== 'allow'
    )
      continue
    const target = Object.values(reference.models).find(
      (m) => m.table.schema === fk.referencedSchema && m.table.name === fk.referencedTable,
    )
    const remote = fk.referencedColumns[0]
    if (!target || remote === undefined) continue
    const planted = victimRow(
      oracle,
      await rowsOf(oracle, target),
      target,
      victim.principal,
      attacker.principal,
    )
    const value = planted ? keyValue(planted, remote) : null
    if (value === null) continue
    const data: Record<string, unknown> = {}
    for (const f of Object.values(model.fields)) {
      const required = w.requiredFields.includes(f.name) || (!f.column.nullable && !f.column.hasDefault)
      if (
        !required ||
        f.column.generated ||
        Object.hasOwn(w.autoSet, f.name) ||
        model.primaryKey.includes(f.name)
      )
        continue
      data[f.name] = toJsonSafe(template.raw[f.name] ?? null)
    }
    data[column] = value
    out.push({
      principal: attacker.name,
      name: `${label} create planting ${column} → ${target.name}`,
      tool: 'db_create',
      args: { model: model.name, data, reason: 'eval' },
    })
  }
  return out
}

/** Per attacker: every include of every model and the aggregates, each over the whole visible table. */
function attackerCases(reference: BoundPolicy, attacker: GeneratedPrincipal): EvalCase[] {
  const out: EvalCase[] = []
  for (const model of Object.values(reference.models)) {
    const label = `${attacker.name}: ${model.name}`
    const pk = singleKey(model)
    for (const relation of Object.keys(model.relations)) {
      out.push({
        principal: attacker.name,
        name: `${label} include ${relation}`,
        tool: 'db_query',
        args: {
          model: model.name,
          ...(pk === undefined ? {} : { select: [pk] }),
          include: { [relation]: {} },
          limit: 20,
        },
      })
    }
    out.push({
      principal: attacker.name,
      name: `${label} count`,
      tool: 'db_aggregate',
      args: { model: model.name, op: 'count' },
    })
    for (const g of model.policy.aggregations.groupBy) {
      out.push({
        principal: attacker.name,
        name: `${label} count by ${g}`,
        tool: 'db_aggregate',
        args: { model: model.name, op: 'count', groupBy: [g] },
      })
    }
  }
  return out
}

export async function generateIsolationSuite(
  reference: BoundPolicy,
  oracle: RowOracle,
  options: GenerateOptions = {},
): Promise<EvalSuite> {
  const principals = await generatePrincipals(reference, oracle)
  const cases: EvalCase[] = []
  const attackers = new Set<string>()
  for (const [attacker, victim] of pairs(principals, options.maxPairs ?? 4)) {
    if (!attackers.has(attacker.name)) {
      attackers.add(attacker.name)
      cases.push(...attackerCases(reference, attacker))
    }
    for (const model of Object.values(reference.models)) {
      if (model.policy.shared) continue
      cases.push(...(await modelCases(reference, oracle, model, attacker, victim)))
    }
  }
  return {
    name: options.name ?? `generated isolation suite (policy ${reference.policy.versionHash.slice(0, 12)})`,
    fixture: 'saas',
    principals: Object.fromEntries(
      principals.map((p) => [p.name, { ...p.principal, roles: [...(p.principal.roles ?? [])] }]),
    ),
    cases,
  } as EvalSuite
}
