/**
 * Writes policies/policy.schema.json from the zod policy schema (`npm run schema:gen`). With `--check`
 * (`npm run schema:check`, run in CI) it writes nothing and exits 1 when the committed file is stale.
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { POLICY_JSON_SCHEMA_PATH, renderPolicyJsonSchema } from '../src/policy/policy-json-schema.ts'

const target = fileURLToPath(new URL(`../${POLICY_JSON_SCHEMA_PATH}`, import.meta.url))
const fresh = renderPolicyJsonSchema()

if (process.argv.includes('--check')) {
  let current: string | undefined
  try {
    current = readFileSync(target, 'utf8')
  } catch {
    current = undefined
  }
  if (current !== fresh) {
    console.error(`${POLICY_JSON_SCHEMA_PATH} is stale: run \`npm run schema:gen\` and commit the result`)
    process.exit(1)
  }
  console.log(`${POLICY_JSON_SCHEMA_PATH} is up to date`)
} else {
  writeFileSync(target, fresh)
  console.log(`wrote ${POLICY_JSON_SCHEMA_PATH}`)
}
