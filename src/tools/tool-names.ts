/**
 * The generic tools' names (docs/contract.md §4), the only place they are spelled: the registry (tool-registry.ts), the
 * MCP server, the CLI and the eval harness all name a tool through this table. test/unit/tool-names.test.ts
 * fails when a name appears anywhere else in src/.
 */
export const TOOL_NAMES = {
  describeSchema: 'db_describe_schema',
  query: 'db_query',
  get: 'db_get',
  aggregate: 'db_aggregate',
  create: 'db_create',
  update: 'db_update',
  delete: 'db_delete',
  bulkUpdate: 'db_bulk_update',
} as const

/** A toolset method name (`query`, `bulkUpdate`, …): the key of a tool in the registry. */
export type ToolKey = keyof typeof TOOL_NAMES
export type ToolName = (typeof TOOL_NAMES)[ToolKey]

export const TOOL_KEYS = Object.keys(TOOL_NAMES) as readonly ToolKey[]

const BY_NAME: ReadonlyMap<string, ToolKey> = new Map(TOOL_KEYS.map((key) => [TOOL_NAMES[key], key]))

/** The registry key of a generic tool's name, or undefined for any other string (domain tools included). */
export function toolKeyOf(name: string): ToolKey | undefined {
  return BY_NAME.get(name)
}

/** Domain tools may not take names under this prefix (tools/domain-tool.ts). */
export const GENERIC_TOOL_PREFIX = 'db_'
