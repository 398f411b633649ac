/**
 * Domain tools (`toolset.defineTool`): an application's own typed tools next to the generic ones. Input and
 * output are zod schemas (listed as JSON Schemas); the handler receives the validated input, the caller's
 * context, and a data API bound to that context — the generic tools themselves, so every read and write it
 * makes is scoped, policy-checked and audited exactly as an agent's own call would be. It never gets a
 * database handle, and it cannot change whom it acts as: the data API has no context parameter.
 */
import { z } from 'zod'
import type { Principal, RunContext } from '../context/index.ts'
import { TesseraError } from '../errors/index.ts'
import type { SchemaDescription } from './describe-schema.ts'
import type { AggregateResult, GetResult, QueryResult } from './read-tools.ts'
import { toJsonSchema, type ToolAnnotations, type ToolDefinition } from './tool-definitions.ts'
import { GENERIC_TOOL_PREFIX } from './tool-names.ts'
import type { BulkUpdateResult, DeleteResult, RowResult } from './write-tools.ts'

/** The generic tools, bound to the calling context. */
export interface DataApi {
  describeSchema(args?: { model?: string }): Promise<SchemaDescription>
  query(args: unknown): Promise<QueryResult>
  get(args: unknown): Promise<GetResult>
  aggregate(args: unknown): Promise<AggregateResult>
  create(args: unknown): Promise<RowResult>
  update(args: unknown): Promise<RowResult>
  delete(args: unknown): Promise<DeleteResult>
  bulkUpdate(args: unknown): Promise<BulkUpdateResult>
}

export interface DomainToolSpec<I extends z.ZodObject, O extends z.ZodObject> {
  /** `^[a-zA-Z0-9_-]{1,64}$`, not starting with `db_` (reserved for the generic tools). */
  readonly name: string
  readonly description: string
  readonly input: I
  readonly output: O
  readonly handler: (input: z.output<I>, ctx: RunContext, data: DataApi) => Promise<z.input<O>>
  /** Which principals see and may call it (default: everyone). */
  readonly allow?: (principal: Principal) => boolean
  /** Defaults: not read-only, not destructive, not idempotent (the cautious reading). */
  readonly annotations?: Partial<ToolAnnotations>
}

export interface DomainTool {
  readonly definition: ToolDefinition
  readonly allow: (principal: Principal) => boolean
  /** Validates, runs and validates the result; throws TesseraError. */
  run(ctx: RunContext, args: unknown, data: DataApi): Promise<unknown>
}

const NAME = /^[a-zA-Z0-9_-]{1,64}$/

export function buildDomainTool<I extends z.ZodObject, O extends z.ZodObject>(
  spec: DomainToolSpec<I, O>,
  taken: (name: string) => boolean,
): DomainTool {
  if (typeof spec.name !== 'string' || !NAME.test(spec.name) || spec.name.startsWith(GENERIC_TOOL_PREFIX)) {
    throw new TesseraError(
      'VALIDATION_ERROR',
      'A domain tool name must match ^[a-zA-Z0-9_-]{1,64}$ and not start with db_',
      {
        details: { name: String(spec.name).slice(0, 80) },
      },
    )
  }
  if (taken(spec.name)) {
    throw new TesseraError('VALIDATION_ERROR', `A tool named '${spec.name}' already exists`)
  }
  if (!(spec.input instanceof z.ZodObject) || !(spec.output instanceof z.ZodObject)) {
    throw new TesseraError(
      'VALIDATION_ERROR',
      'Domain tool input and output must be zod objects (z.object({...}))',
    )
  }
  const input = spec.input.strict()
  const definition: ToolDefinition = {
    name: spec.name,
    description: spec.description,
    inputSchema: jsonSchema(input, 'input'),
    outputSchema: jsonSchema(spec.output, 'output'),
    annotations: {
      readOnlyHint: false,
      destructiveHint: false,
      idempotentHint: false,
      openWorldHint: false,
      ...spec.annotations,
    },
  }
  return {
    definition,
    allow: spec.allow ?? (() => true),
    async run(ctx, args, data) {
      const parsed = input.safeParse(args)
      if (!parsed.success) {
        throw new TesseraError('VALIDATION_ERROR', `Invalid arguments for ${spec.name}`, {
          details: {
            issues: parsed.error.issues
              .slice(0, 20)
              .map((i) => ({ path: i.path.join('.'), message: i.message })),
          },
        })
      }
      const result = await spec.handler(parsed.data as z.output<I>, ctx, data)
      const checked = spec.output.safeParse(result)
      // The application's handler broke its own contract: the caller learns only that it failed.
      if (!checked.success) throw new TesseraError('INTERNAL_ERROR', 'Internal error')
      return checked.data
    },
  }
}

function jsonSchema(schema: z.ZodObject, io: 'input' | 'output'): Record<string, unknown> {
  try {
    return toJsonSchema(schema, io)
  } catch {
    throw new TesseraError('VALIDATION_ERROR', `The domain tool's ${io} schema has no JSON Schema form`, {
      hints: ['Use JSON-representable zod types (no transforms, dates, bigints, functions)'],
    })
  }
}
