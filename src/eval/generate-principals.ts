/**
 * Principals for a generated isolation suite, derived from the policy and the live data: tenants sampled from
 * the columns scoped to `principal.tenantId`, a user of each tenant where the policy needs `principal.userId`,
 * metadata values the scoping needs (scalars sampled from the data; lists — `x IN principal.metadata.k` —
 * holding the tenant itself) and one extra principal per role a rule tests (`'super_admin' IN principal.roles`).
 */
import type { Principal } from '../context/index.ts'
import { toJsonSafe } from '../executor/index.ts'
import type { BoundModel, BoundPolicy, ConditionNode, OperandNode } from '../policy/index.ts'
import type { RowOracle, StoredRow } from './row-oracle.ts'

export const MAX_GENERATED_TENANTS = 4

export interface GeneratedPrincipal {
  readonly name: string
  readonly principal: Principal
}

function tenantColumns(model: BoundModel): string[] {
  return model.policy.scoping.filter((s) => s.path[0] === 'tenantId').map((s) => s.column)
}

async function rowsOf(oracle: RowOracle, model: BoundModel): Promise<StoredRow[]> {
  try {
    return await oracle.tableRows(model)
  } catch {
    return [] // larger than the oracle reads without a key: sampled from the other models
  }
}

/** Distinct tenant values, most frequent first, at most MAX_GENERATED_TENANTS. */
export async function sampleTenants(reference: BoundPolicy, oracle: RowOracle): Promise<string[]> {
  const counts = new Map<string, number>()
  for (const model of Object.values(reference.models)) {
    for (const column of tenantColumns(model)) {
      for (const row of await rowsOf(oracle, model)) {
        const v = toJsonSafe(row.raw[column] ?? null)
        if (typeof v === 'string' || typeof v === 'number')
          counts.set(String(v), (counts.get(String(v)) ?? 0) + 1)
      }
    }
  }
  return [...counts.entries()]
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .slice(0, MAX_GENERATED_TENANTS)
    .map(([t]) => t)
}

function walk(node: ConditionNode, visit: (n: ConditionNode) => void): void {
  visit(node)
  switch (node.kind) {
    case 'and':
    case 'or':
      for (const o of node.operands) walk(o, visit)
      break
    case 'not':
      walk(node.operand, visit)
      break
    case 'compare':
    case 'in':
    case 'is_null':
    case 'bool':
      break
    default: {
      const never: never = node
      throw new Error(`unhandled condition ${String(never)}`)
    }
  }
}

function isPrincipal(
  o: OperandNode | { kind: 'list' } | { kind: 'claimList' },
  root: string,
): o is Extract<OperandNode, { kind: 'principal' }> {
  return o.kind === 'principal' && o.path[0] === root
}

/** Role literals rules test with `'x' IN principal.roles`, and metadata keys used as lists. */
function conditionFacts(reference: BoundPolicy): {
  roles: string[]
  listKeys: Set<string>
  usesUserId: boolean
} {
  const roles = new Set<string>()
  const listKeys = new Set<string>()
  let usesUserId = false
  for (const model of Object.values(reference.models)) {
    for (const rule of model.policy.rowPolicies) {
      walk(rule.condition, (n) => {
        if (n.kind === 'in' && n.right.kind !== 'list') {
          if (
            isPrincipal(n.right, 'roles') &&
            n.left.kind === 'literal' &&
            typeof n.left.value === 'string'
          ) {
            roles.add(n.left.value)
          }
          if (isPrincipal(n.right, 'metadata')) listKeys.add(n.right.path.slice(1).join('.'))
        }
        if (n.kind === 'compare' && (isPrincipal(n.left, 'userId') || isPrincipal(n.right, 'userId')))
          usesUserId = true
      })
    }
    if (model.policy.scoping.some((s) => s.path[0] === 'userId')) usesUserId = true
    if (
      Object.values(model.policy.write.autoSet).some((a) => a.kind === 'principal' && a.path[0] === 'userId')
    ) {
      usesUserId = true
    }
  }
  return { roles: [...roles].sort(), listKeys, usesUserId }
}

/** A user of the tenant: the key of a row of a table that `principal.userId` columns refer to or are scoped by. */
async function userOf(
  reference: BoundPolicy,
  oracle: RowOracle,
  tenant: string,
): Promise<string | undefined> {
  for (const model of Object.values(reference.models)) {
    const userColumns = [
      ...model.policy.scoping.filter((s) => s.path[0] === 'userId').map((s) => s.column),
      ...Object.entries(model.policy.write.autoSet)
        .filter(([, a]) => a.kind === 'principal' && a.path[0] === 'userId')
        .map(([c]) => c),
    ]
    for (const column of userColumns) {
      const fk = model.table.foreignKeys.find((f) => f.columns.length === 1 && f.columns[0] === column)
      const target =
        fk &&
        Object.values(reference.models).find(
          (m) => m.table.name === fk.referencedTable && m.table.schema === fk.referencedSchema,
        )
      const source = target ?? model
      const valueColumn = target ? (fk?.referencedColumns[0] ?? column) : column
      const tenantColumn = tenantColumns(source)[0]
      const row = (await rowsOf(oracle, source)).find(
        (r) =>
          tenantColumn !== undefined &&
          String(toJsonSafe(r.raw[tenantColumn] ?? null)) === tenant &&
          r.raw[valueColumn] != null,
      )
      if (row) return String(toJsonSafe(row.raw[valueColumn] ?? null))
    }
  }
  return undefined
}

async function metadataOf(
  reference: BoundPolicy,
  oracle: RowOracle,
  tenant: string,
  listKeys: ReadonlySet<string>,
): Promise<Record<string, unknown>> {
  const metadata: Record<string, unknown> = {}
  for (const key of listKeys) metadata[key] = [tenant]
  for (const model of Object.values(reference.models)) {
    const tenantColumn = tenantColumns(model)[0]
    for (const s of model.policy.scoping.filter((x) => x.path[0] === 'metadata' && x.path.length === 2)) {
      const key = s.path[1] as string
      if (Object.hasOwn(metadata, key)) continue
      const row = (await rowsOf(oracle, model)).find(
        (r) => tenantColumn === undefined || String(toJsonSafe(r.raw[tenantColumn] ?? null)) === tenant,
      )
      const v = row ? toJsonSafe(row.raw[s.column] ?? null) : null
      if (v !== null) metadata[key] = v
    }
  }
  return metadata
}

export async function generatePrincipals(
  reference: BoundPolicy,
  oracle: RowOracle,
): Promise<GeneratedPrincipal[]> {
  const tenants = await sampleTenants(reference, oracle)
  const facts = conditionFacts(reference)
  const out: GeneratedPrincipal[] = []
  for (const [i, tenant] of tenants.entries()) {
    const userId = facts.usesUserId ? await userOf(reference, oracle, tenant) : undefined
    const metadata = await metadataOf(reference, oracle, tenant, facts.listKeys)
    out.push({
      name: `tenant${i + 1}`,
      principal: {
        tenantId: tenant,
        ...(userId === undefined ? {} : { userId }),
        roles: [],
        ...(Object.keys(metadata).length === 0 ? {} : { metadata }),
      },
    })
  }
  const first = out[0]
  if (first) {
    for (const role of facts.roles) {
      out.push({
        name: `tenant1_${role.replace(/[^A-Za-z0-9_]/g, '_')}`,
        principal: { ...first.principal, roles: [role] },
      })
    }
  }
  return out
}
