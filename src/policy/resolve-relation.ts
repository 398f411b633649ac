/**
 * Resolves a policy relation to a real foreign key. Includes join only along declared foreign keys, so a
 * relation the database does not back is a load error rather than a guessed join.
 *
 * Rule: a foreign key from this table to the target's table gives cardinality `one`; otherwise a foreign key
 * from the target's table to this table gives `many`. When several keys qualify, `foreignKey` must name the
 * holding side's columns of exactly one of them. A self-referencing table therefore always resolves to `one`
 * (the parent); the children direction is not expressible yet.
 */
import type { ForeignKeyInfo, TableInfo } from '../schema/index.ts'
import type { BoundRelation } from './types.ts'

export type RelationResolution =
  | {
      readonly ok: true
      readonly cardinality: BoundRelation['cardinality']
      readonly pairs: BoundRelation['pairs']
    }
  | { readonly ok: false; readonly message: string }

export function resolveRelation(
  table: TableInfo,
  target: TableInfo,
  foreignKey: readonly string[] | undefined,
): RelationResolution {
  const outgoing = table.foreignKeys.filter((fk) => references(fk, target))
  const incoming = target.foreignKeys.filter((fk) => references(fk, table))
  const between = `table '${table.key}' and table '${target.key}'`

  if (foreignKey !== undefined) {
    const one = outgoing.filter((fk) => sameColumns(fk.columns, foreignKey))
    const many = incoming.filter((fk) => sameColumns(fk.columns, foreignKey))
    const chosen = one.length > 0 ? one : many
    if (chosen.length === 1 && chosen[0]) return resolved(chosen[0], one.length > 0 ? 'one' : 'many')
    if (chosen.length > 1) {
      return { ok: false, message: `several foreign keys on (${foreignKey.join(', ')}) link ${between}` }
    }
    const options = [...outgoing, ...incoming].map(describe)
    return {
      ok: false,
      message:
        `no foreign key on (${foreignKey.join(', ')}) links ${between}` +
        (options.length > 0 ? `; foreign keys that do: ${options.join('; ')}` : ''),
    }
  }

  const candidates = outgoing.length > 0 ? outgoing : incoming
  const cardinality = outgoing.length > 0 ? 'one' : 'many'
  if (candidates.length === 1 && candidates[0]) return resolved(candidates[0], cardinality)
  if (candidates.length === 0) return { ok: false, message: `no foreign key links ${between}` }
  return {
    ok: false,
    message: `several foreign keys link ${between} (${candidates.map(describe).join('; ')}); set foreignKey to choose one`,
  }
}

function references(fk: ForeignKeyInfo, table: TableInfo): boolean {
  return fk.referencedSchema === table.schema && fk.referencedTable === table.name
}

function sameColumns(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((column) => b.includes(column))
}

function resolved(fk: ForeignKeyInfo, cardinality: 'one' | 'many'): RelationResolution {
  const pairs = fk.columns.map((column, i) => {
    const referenced = fk.referencedColumns[i] ?? ''
    return cardinality === 'one'
      ? { local: column, remote: referenced }
      : { local: referenced, remote: column }
  })
  return { ok: true, cardinality, pairs }
}

function describe(fk: ForeignKeyInfo): string {
  return `${fk.name} (${fk.columns.join(', ')})`
}
