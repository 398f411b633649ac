/**
 * Names Tessera's own statements use for columns of their results (red team, marketplace schema): the hidden
 * order keys `__tessera_k<i>`, the aggregate's `__tessera_value`, a write's `__tessera_check`, `__tessera_raw<i>`,
 * `__tessera_before<i>` and `__tessera_ref<i>`. A result row is a JavaScript object, and node-postgres keeps the
 * last of two columns with one name, so a host column of such a name that the caller can see came back holding
 * Tessera's value instead of its own: an update's `__tessera_raw1` returned the raw value of a hashed column its
 * write check reads, and `sum(price)` grouped by `__tessera_value` answered the group keys. A field the caller
 * can see (anything but `deny`) and a relation (its include is a result column too) may not start with the
 * prefix; a denied column is never selected under its own name, so it may keep it.
 */
import type { PolicyProblem } from '../errors/index.ts'
import type { TableInfo } from '../schema/index.ts'
import type { PathSegment } from './problem-path.ts'
import type { FieldRule, ModelPolicy } from './types.ts'

/** The prefix of every result column name Tessera's statements introduce (src/sql). */
export const RESERVED_PREFIX = '__tessera'

export function reservedNameProblems(
  model: ModelPolicy,
  table: TableInfo,
  rule: (model: ModelPolicy, column: string) => FieldRule,
  at: (...path: PathSegment[]) => string,
): PolicyProblem[] {
  const problems: PolicyProblem[] = []
  for (const column of table.columns) {
    if (!isReservedName(column.name) || rule(model, column.name).action === 'deny') continue
    problems.push({
      path: at('fields', column.name),
      message:
        `column '${column.name}' of table '${table.key}' has a name Tessera uses for columns of its own ` +
        `statements ('${RESERVED_PREFIX}…'), so its values could not be told from Tessera's; deny it or rename it`,
    })
  }
  for (const name of Object.keys(model.relations)) {
    if (!isReservedName(name)) continue
    problems.push({
      path: at('relations', name),
      message: `relation '${name}' has a name Tessera uses for columns of its own statements ('${RESERVED_PREFIX}…'); rename it`,
    })
  }
  return problems
}

/** Whether a field or relation of this name would be told apart from Tessera's own result columns. */
export function isReservedName(name: string): boolean {
  return name.toLowerCase().startsWith(RESERVED_PREFIX)
}
