/**
 * The SaaS demo fixture (fixtures/saas/*.sql): schema, seed data, and the non-superuser role `tessera_app`.
 * One copy serves the demo, the tests and the eval suites.
 */
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const dir = fileURLToPath(new URL('../../fixtures/saas/', import.meta.url))

export const DEMO_APP_ROLE = 'tessera_app'

export function saasFixtureSql(): string {
  return ['schema.sql', 'seed.sql', 'roles.sql'].map((f) => readFileSync(dir + f, 'utf8')).join('\n')
}
