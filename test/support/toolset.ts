/**
 * Builds a toolset over a test database with an inline policy, and a query counter for "no SQL ran" checks.
 *
 * `TESSERA_TEST_ENFORCEMENT=both` (or `rls`) runs every suite built on `toolsetFor` — the read and write
 * suites — under that enforcement (docs/rls.md, "Enforcement modes"): each harness first takes Tessera's RLS
 * off every table, installs the RLS generated from its own policy, and starts its toolset through the package
 * root's createToolset, whose posture check must pass. A harness's calls reinstall its RLS when another
 * harness has installed its own since (one test database, several policies over the same tables).
 * Unset, suites run in `app` mode as always.
 */
import { Kysely, PostgresDialect, sql } from 'kysely'
import { createToolset as createCheckedToolset } from '../../src/create-toolset-with-rls.ts'
import { ENFORCEMENT_MODES, type EnforcementMode } from '../../src/executor/index.ts'
import { MemoryAuditStore } from '../../src/stores/index.ts'
import { bindPolicy } from '../../src/policy/index.ts'
import { definePolicy } from '../../src/policy/define-policy.ts'
import type { PolicyInput } from '../../src/policy/policy-schema.ts'
import { applyRls, generateRls } from '../../src/rls/index.ts'
import { introspectSchema } from '../../src/schema/index.ts'
import { createToolset, type Toolset, type ToolsetOptions } from '../../src/tools/create-toolset.ts'
import { APP_ROLE, type TestDatabase } from './databases.ts'
import { TEST_SECRET } from './saas.ts'

export interface ToolsetHarness {
  toolset: Toolset
  audit: MemoryAuditStore
  /** Statements the toolset sent since the last reset. */
  queries: string[]
}

/** The enforcement the suites run under (`TESSERA_TEST_ENFORCEMENT`, default `app`). */
export function suiteEnforcement(): EnforcementMode {
  const value = process.env['TESSERA_TEST_ENFORCEMENT'] ?? 'app'
  const mode = ENFORCEMENT_MODES.find((m) => m === value)
  if (mode === undefined)
    throw new Error(`TESSERA_TEST_ENFORCEMENT must be one of ${ENFORCEMENT_MODES.join(', ')}`)
  return mode
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
  const defined = definePolicy(policy)
  const enforcement = extra.enforcement ?? suiteEnforcement()
  const token = {}
  const install = async (): Promise<void> => {
    await installRls(db, defined)
    installedRls.set(db, token)
  }
  if (enforcement !== 'app') await install()
  const create = enforcement === 'app' ? createToolset : createCheckedToolset
  const created = await create({
    db: counted,
    policy: defined,
    audit,
    secret: TEST_SECRET,
    ...(db.appRole === undefined ? {} : { role: db.appRole }),
    ...extra,
    enforcement,
  })
  queries.length = 0
  const toolset =
    enforcement === 'app'
      ? created
      : withRlsInstalled(created, () => (installedRls.get(db) === token ? Promise.resolve() : install()))
  return { toolset, audit, queries }
}

/** Which harness's RLS is installed on each test database (its token). */
const installedRls = new WeakMap<TestDatabase, object>()

/** The toolset calls that reach the database. */
const DATABASE_CALLS = new Set(['call', 'query', 'get', 'aggregate', 'create', 'update', 'delete'])

/**
 * `toolset` with its own policy's RLS installed again before each database call when another harness has
 * installed its own since: files build several harnesses over the same tables, one policy each.
 */
function withRlsInstalled(toolset: Toolset, ensure: () => Promise<void>): Toolset {
  return new Proxy(toolset, {
    get(target, key, receiver) {
      const value: unknown = Reflect.get(target, key, receiver)
      if (typeof key !== 'string' || !DATABASE_CALLS.has(key) || typeof value !== 'function') return value
      return async (...args: unknown[]) => {
        await ensure()
        return (value as (...a: unknown[]) => unknown).apply(target, args)
      }
    },
  })
}

/** Takes every table's tessera_* RLS off, then installs the RLS generated from `policy`. */
async function installRls(db: TestDatabase, policy: ReturnType<typeof definePolicy>): Promise<void> {
  await sql`do $$ declare p record; begin
    for p in select polname, polrelid::regclass::text as tab from pg_catalog.pg_policy where polname like 'tessera\\_%'
    loop
      execute format('drop policy %I on %s', p.polname, p.tab);
      execute format('alter table %s no force row level security, disable row level security', p.tab);
    end loop;
  end $$`.execute(db.admin)
  const bound = bindPolicy(policy, await introspectSchema(db.admin, { role: APP_ROLE }))
  await applyRls(db.admin, generateRls(bound))
}
