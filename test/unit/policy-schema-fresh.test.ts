import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { POLICY_JSON_SCHEMA_PATH, renderPolicyJsonSchema } from '../../src/policy/index.ts'

describe('policies/policy.schema.json', () => {
  it('equals the schema freshly generated from the zod policy schema (run `npm run schema:gen`)', () => {
    expect(readFileSync(POLICY_JSON_SCHEMA_PATH, 'utf8')).toBe(renderPolicyJsonSchema())
  })

  it('rejects unknown keys in every object, like the zod schema', () => {
    const schema = JSON.parse(readFileSync(POLICY_JSON_SCHEMA_PATH, 'utf8')) as Record<string, any>
    expect(schema['additionalProperties']).toBe(false)
    const model = schema['properties'].models.additionalProperties
    expect(model.additionalProperties).toBe(false)
    expect(model.properties.rowPolicies.items.additionalProperties).toBe(false)
    expect(model.properties.write.additionalProperties).toBe(false)
  })
})
