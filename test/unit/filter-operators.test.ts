/**
 * The operators the tools' narrowed schemas offer on a field (filterOperatorsFor) are exactly those the
 * planner accepts on it for some value: nothing offered is refused for its type, nothing refused is offered.
 */
import { describe, expect, it } from 'vitest'
import { emptyFilterCost, filterOperatorsFor, planFilter } from '../../src/planner/plan-filter.ts'
import { profiles } from '../../src/policy/profiles.ts'
import type { BoundModel } from '../../src/policy/index.ts'
import { FILTER_OPS, type FilterNode, type FilterOp } from '../../src/request/index.ts'
import type { ColumnInfo, ColumnTypeClass } from '../../src/schema/index.ts'

const COLUMNS: readonly [udtName: string, typeClass: ColumnTypeClass][] = [
  ['text', 'string'],
  ['varchar', 'string'],
  ['citext', 'string'],
  ['mood', 'string'], // an enum: string values, but no LIKE
  ['uuid', 'uuid'],
  ['int4', 'integer'],
  ['int8', 'bigint'],
  ['numeric', 'numeric'],
  ['float8', 'float'],
  ['bool', 'boolean'],
  ['timestamptz', 'timestamp'],
  ['date', 'timestamp'],
  ['time', 'timestamp'],
  ['jsonb', 'json'],
  ['bytea', 'bytea'],
  ['_text', 'array'],
  ['point', 'other'],
]

const SCALARS: readonly unknown[] = [
  'abc',
  '1',
  '1.5',
  1,
  1.5,
  true,
  false,
  '3f9a1c2e-8b7d-4e6f-9a0b-1c2d3e4f5a6b',
  '2024-01-01',
  '2024-01-01T00:00:00Z',
  '14:30:00',
]
// No empty list: `in []` plans on every type (it compares nothing), which says nothing about the type.
const VALUES: readonly unknown[] = [
  undefined,
  ...SCALARS,
  ...SCALARS.map((s) => [s]),
  ...SCALARS.map((s) => [s, s]),
]

function model(column: ColumnInfo): BoundModel {
  // planFilter reads only the field's rule and column.
  return {
    name: 'M',
    fields: { f: { name: 'f', column, rule: { action: 'allow' } } },
  } as unknown as BoundModel
}

function accepts(m: BoundModel, op: FilterOp): boolean {
  return VALUES.some((value) => {
    const node = { kind: 'cmp', field: 'f', op, value } as unknown as FilterNode
    try {
      planFilter(m, node, profiles.PROD.budget, emptyFilterCost())
      return true
    } catch {
      return false
    }
  })
}

describe('filter operators offered per field type', () => {
  it.each(COLUMNS)(
    'offers on a %s column (%s) exactly the operators the planner accepts',
    (udtName, typeClass) => {
      const column: ColumnInfo = {
        name: 'f',
        dataType: udtName,
        udtName,
        typeClass,
        nullable: true,
        hasDefault: false,
        defaultExpression: null,
        generated: false,
        ordinal: 1,
      }
      const m = model(column)
      const accepted = FILTER_OPS.filter((op) => accepts(m, op))
      expect([...filterOperatorsFor(column)].sort()).toEqual([...accepted].sort())
    },
  )
})
