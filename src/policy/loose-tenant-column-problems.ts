/**
 * A tenant column whose `=` calls distinct values equal (ColumnInfo.looseEquality) cannot carry a tenant
 * boundary: under a nondeterministic collation (or citext) `tenant_id = 'acme'` also matches tenant 'ACME''s rows,
 * under char(n) `'acme'` matches `'acme '`, on numeric `1.0` matches `1`. That one comparison is every scope
 * Tessera writes — reads, counts and aggregates, includes, write targets — and the RLS policies `tessera rls
 * generate` prints, so the policy does not load (docs/decisions.md, "A tenant column compares exactly or the policy does not load").
 * The columns checked are the scoped ones and the tenant-like ones a permissive rule pins (tenantColumnsOf).
 * Other row-policy comparisons on such columns (`owner = principal.userId` under citext) stay allowed: there the
 * looseness is usually the point, and docs/decisions.md says what it means.
 */
import type { PolicyProblem } from '../errors/index.ts'
import type { ColumnInfo, LooseEquality, TableInfo } from '../schema/index.ts'
import { findColumn } from '../schema/index.ts'
import type { PathSegment } from './problem-path.ts'
import { tenantColumnsOf } from './tenant-pins.ts'
import type { ModelPolicy } from './types.ts'

export function looseTenantColumnProblems(
  model: ModelPolicy,
  table: TableInfo,
  at: (...path: PathSegment[]) => string,
): PolicyProblem[] {
  const scoped = new Set(model.scoping.map((s) => s.column))
  const problems: PolicyProblem[] = []
  for (const name of tenantColumnsOf(model, table)) {
    const loose = looseTenantColumn(table, name)
    if (loose === undefined) continue
    const how = scoped.has(name) ? 'scoped' : 'pinned to the caller’s tenant by a permissive row policy'
    problems.push({
      path: scoped.has(name) ? at('scoping', name) : at('rowPolicies'),
      message: `column '${name}' of table '${table.key}' is ${how}, but ${loose}`,
    })
  }
  return problems
}

/**
 * Why `name` of `table` cannot be a tenant column and how to fix it, or undefined when it can (as far as the
 * schema tells). `tessera init` skips such a table with this reason.
 */
export function looseTenantColumn(table: TableInfo, name: string): string | undefined {
  const column = findColumn(table, name)
  if (column?.looseEquality === undefined) return undefined
  return (
    `${looseness(column.looseEquality)}, so one tenant would see another's rows; ` +
    remedy(table, column, column.looseEquality)
  )
}

function looseness(kind: LooseEquality): string {
  switch (kind) {
    case 'nondeterministic-collation':
      return "its collation is nondeterministic: '=' can call 'acme' and 'ACME' equal"
    case 'citext':
      return "it is citext: '=' calls 'acme' and 'ACME' equal"
    case 'blank-padded':
      return "it is char(n): '=' ignores trailing blanks, calling 'acme' and 'acme ' equal"
    case 'numeric':
      return "it is numeric: '=' ignores scale, calling '1' and '1.0' equal"
    case 'float':
      return "it is floating point: '=' compares rounded values, calling '0.1' and '0.10000000000000001' equal"
    case 'time':
      return "it is a date or time type: '=' compares instants, calling '2024-05-01' and '2024-05-01 00:00' equal"
    case 'truncating':
      return 'it is name: its input is cut at 63 bytes, so a longer tenant id reads the rows of the one it begins with'
    default: {
      const unhandled: never = kind
      return String(unhandled)
    }
  }
}

function remedy(table: TableInfo, column: ColumnInfo, kind: LooseEquality): string {
  const alter = `alter table ${qualified(table)} alter column ${ident(column.name)}`
  switch (kind) {
    case 'nondeterministic-collation':
      return `give it a deterministic collation: ${alter} type ${column.dataType} collate "C"`
    case 'citext':
      return `make it text: ${alter} type text`
    case 'blank-padded':
      return `make it text or varchar: ${alter} type text`
    case 'numeric':
    case 'float':
      return `make it an integer: ${alter} type bigint`
    case 'time':
    case 'truncating':
      return `make it text: ${alter} type text`
    default: {
      const unhandled: never = kind
      return String(unhandled)
    }
  }
}

function qualified(table: TableInfo): string {
  return table.schema === 'public' ? ident(table.name) : `${ident(table.schema)}.${ident(table.name)}`
}

/** Quoted only when it has to be, so the common case reads as the user wrote it. */
function ident(name: string): string {
  return /^[a-z_][a-z0-9_]*$/.test(name) ? name : `"${name.replaceAll('"', '""')}"`
}
