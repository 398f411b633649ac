import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const dir = fileURLToPath(new URL('../fixtures/', import.meta.url))

/** The SaaS fixture: schema, seed data, then the non-superuser role and its grants. */
export function fixtureSql(): string {
  return ['saas-schema.sql', 'saas-seed.sql', 'saas-roles.sql']
    .map((f) => readFileSync(dir + f, 'utf8'))
    .join('\n')
}
