/**
 * What a tool looks like from outside: its definition (name, description, JSON Schemas, MCP annotations), the
 * zod schemas of the generic tools' results, and the one way a zod schema becomes a tool's JSON Schema.
 */
import { z } from 'zod'

/** MCP tool annotations: hints for a client deciding what to confirm with its user (never a security boundary). */
export interface ToolAnnotations {
  readOnlyHint: boolean
  destructiveHint: boolean
  idempotentHint: boolean
  openWorldHint: boolean
}

export interface ToolDefinition {
  name: string
  description: string
  inputSchema: Record<string, unknown>
  /** JSON Schema of a successful result (`data` of `call`): an MCP client validates structured output against it. */
  outputSchema: Record<string, unknown>
  annotations: ToolAnnotations
}

export const READ_ANNOTATIONS: ToolAnnotations = Object.freeze({
  readOnlyHint: true,
  destructiveHint: false,
  idempotentHint: true,
  openWorldHint: false,
})

export function writeAnnotations(destructive: boolean, idempotent: boolean): ToolAnnotations {
  return Object.freeze({
    readOnlyHint: false,
    destructiveHint: destructive,
    idempotentHint: idempotent,
    openWorldHint: false,
  })
}

/**
 * A zod schema as a tool's JSON Schema (draft 2020-12, without `$schema`). Inputs are described as the caller
 * sends them, results as the toolset returns them. Throws on a schema JSON Schema cannot express.
 */
export function toJsonSchema(schema: z.ZodType, io: 'input' | 'output'): Record<string, unknown> {
  const { $schema: _drop, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: 'throw' }) as Record<
    string,
    unknown
  >
  return rest
}

// Results are loose objects: a client validating them must not break when a result gains a member.
const row = z
  .record(z.string(), z.unknown())
  .describe('One row: field name → value (int8, numeric and timestamps as strings)')
const scalarResult = z.union([z.string(), z.number(), z.null()])

export const OUTPUT = {
  describe: z.looseObject({ models: z.record(z.string(), z.unknown()) }),
  query: z.looseObject({ rows: z.array(row), nextCursor: z.string().nullable(), hasMore: z.boolean() }),
  row: z.looseObject({ row }),
  aggregate: z
    .looseObject({
      value: scalarResult.optional(),
      groups: z.array(z.looseObject({ key: row, value: scalarResult })).optional(),
    })
    .describe('{value} without groupBy, {groups: [{key, value}]} with it'),
  delete: z.looseObject({ deleted: z.number().int(), soft: z.boolean() }),
  bulkUpdate: z.looseObject({ updated: z.number().int() }),
} as const
