/**
 * A hand-built DbSchema for planner-level tests that need no database: one large tenant table (`widgets`) with
 * a column of every awkward type, and one large shared table (`catalog`) for the broad-query guard.
 */
import { bindPolicy } from '../../src/policy/bind-policy.ts'
import { definePolicy } from '../../src/policy/define-policy.ts'
import type { PolicyInput } from '../../src/policy/policy-schema.ts'
import type { BoundPolicy } from '../../src/policy/types.ts'
import type { ColumnInfo, ColumnTypeClass, DbSchema, TableInfo } from '../../src/schema/types.ts'

function column(
  name: string,
  udtName: string,
  typeClass: ColumnTypeClass,
  ordinal: number,
  nullable = true,
): ColumnInfo {
  return {
    name,
    dataType: udtName,
    udtName,
    typeClass,
    nullable,
    hasDefault: false,
    defaultExpression: null,
    generated: false,
    ordinal,
  }
}

function table(name: string, columns: ColumnInfo[], estimatedRows: number): TableInfo {
  return {
    schema: 'public',
    name,
    key: name,
    columns,
    primaryKey: ['id'],
    foreignKeys: [],
    indexes: [],
    uniqueKeys: [],
    estimatedRows,
    rlsEnabled: false,
    rlsForced: false,
    cascadingReferences: [],
  }
}

export const SYNTHETIC_SCHEMA: DbSchema = {
  tables: {
    widgets: table(
      'widgets',
      [
        column('id', 'uuid', 'uuid', 1, false),
        column('tenant_id', 'uuid', 'uuid', 2, false),
        column('name', 'text', 'string', 3),
        column('secret', 'text', 'string', 4),
        column('owner', 'uuid', 'uuid', 5),
        column('flag', 'bool', 'boolean', 6),
        column('doc', 'jsonb', 'json', 7),
        column('blob', 'bytea', 'bytea', 8),
        column('made_at', 'timestamptz', 'timestamp', 9),
        column('mood', 'mood_enum', 'string', 10),
      ],
      1_000_000,
    ),
    catalog: table(
      'catalog',
      [column('id', 'int8', 'bigint', 1, false), column('name', 'text', 'string', 2)],
      1_000_000,
    ),
  },
}

export function bindSynthetic(policy: PolicyInput): BoundPolicy {
  return bindPolicy(definePolicy(policy), SYNTHETIC_SCHEMA)
}
