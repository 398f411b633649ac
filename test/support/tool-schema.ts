/**
 * Reading narrowed tool schemas (src/tools/narrow-input.ts) in tests: where models differ, a property is an
 * `anyOf` of one alternative per model, each described "For model A, B."; `$ref`s point into `$defs`.
 */
import type { ToolDefinition } from '../../src/tools/index.ts'

type Json = Record<string, unknown>

function resolve(def: ToolDefinition, schema: Json | undefined): Json | undefined {
  let out = schema
  for (let i = 0; i < 10 && out !== undefined && typeof out['$ref'] === 'string'; i++) {
    const name = (out['$ref'] as string).replace('#/$defs/', '')
    const defs = def.inputSchema['$defs'] as Record<string, Json> | undefined
    const { $ref: _ref, ...own } = out
    out = { ...defs?.[name], ...own }
  }
  return out
}

function forModel(description: unknown, model: string): boolean {
  if (typeof description !== 'string') return false
  const match = /^For model ([^.]*)\./.exec(description)
  return match?.[1]?.split(', ').includes(model) === true
}

/** The schema of `property` in `def`'s input as it applies to `model`. */
export function propertyFor(
  def: ToolDefinition | undefined,
  property: string,
  model: string,
): Json | undefined {
  if (def === undefined) return undefined
  const properties = def.inputSchema['properties'] as Record<string, Json> | undefined
  const prop = resolve(def, properties?.[property])
  const alternatives = prop?.['anyOf'] as Json[] | undefined
  if (alternatives === undefined || !alternatives.some((a) => typeof a['description'] === 'string'))
    return prop
  return resolve(
    def,
    alternatives.find((a) => forModel(a['description'], model)),
  )
}

/** The field enum of `orderBy` items for `model`. */
export function orderByFields(def: ToolDefinition | undefined, model: string): unknown {
  const items = propertyFor(def, 'orderBy', model)?.['items'] as Json | undefined
  const byName = (items?.['anyOf'] as Json[] | undefined)?.[0]
  return byName?.['enum']
}

/** The relation names `include` offers on `model`. */
export function includeRelations(def: ToolDefinition | undefined, model: string): string[] | undefined {
  const include = propertyFor(def, 'include', model)
  const properties = include?.['properties'] as Json | undefined
  return properties === undefined ? undefined : Object.keys(properties)
}
