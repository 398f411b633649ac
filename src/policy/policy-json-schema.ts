/**
 * The JSON Schema for policy files, generated from the zod schema so editors validate exactly what
 * `loadPolicyFile` accepts. `scripts/generate-policy-schema.ts` writes it to `policies/policy.schema.json`;
 * a test and CI check that the committed file is fresh.
 */
import { z } from 'zod'
import { policyInputSchema } from './policy-schema.ts'

export const POLICY_JSON_SCHEMA_PATH = 'policies/policy.schema.json'

/** The schema as the file's exact text: pretty printed, trailing newline, stable across runs. */
export function renderPolicyJsonSchema(): string {
  const schema = z.toJSONSchema(policyInputSchema, { io: 'input', target: 'draft-2020-12' })
  const titled = { ...schema, title: 'Tessera policy' }
  return `${JSON.stringify(titled, null, 2)}\n`
}
