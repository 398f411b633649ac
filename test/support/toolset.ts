/** Builds a toolset over a test database with an inline policy, and a query counter for "no SQL ran" checks. */
import { Kysely, PostgresDialect } from 'kysely'
import { MemoryAuditStore } from '../../src/stores/index.ts'
import { definePolicy } from '../../src/policy/define-policy.ts'
import type { PolicyInput } from '../../src/policy/policy-schema.ts'
import { createToolset, type Toolset, type ToolsetOptions } from '../../src/tools/create-toolset.ts'
import type { TestDatabase } from './databases.ts'
import { TEST_SECRET } from './saas.ts'

export interface ToolsetHarness {
  toolset: Toolset
  audit: MemoryAuditStore
  /** Statements the toolset sent since the last reset. */
  queries: string[]
}

export async function toolsetFor(
  db: TestDatabase,
  policy: PolicyInput,
  extra: Partial<Omit<ToolsetOptions, 'db' | 'policy'>> = {},
): Promise<ToolsetHarness> {
  const queries: string[] = []
  const counted = new Kysely<any>({
    dialect: new PostgresDialect({ pool: db.appPool }),
    log: (event) => {
      queries.push(event.query.sql)
    },
  })
  const audit = new MemoryAuditStore()
  const toolset = await createToolset({
    db: counted,
    policy: definePolicy(policy),
    audit,
    secret: TEST_SECRET,
    ...(db.appRole === undefined ? {} : { role: db.appRole }),
    ...extra,
  })
  queries.length = 0
  return { toolset, audit, queries }
}
