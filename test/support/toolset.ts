/**
 * Builds a toolset over a test database with an inline policy, and a query counter for "no SQL ran" checks.
 * Every call a suite makes through the harness's toolset is also held to the audit contract (docs/audit.md):
 * exactly one new record for the call's request id, whose outcome, error code and row counts match what the
 * caller got — so the read, write and security suites prove it call by call.
 *
 * `TESSERA_TEST_ENFORCEMENT=both` (or `rls`) runs every suite built on `toolsetFor` — the read and write
 * suites — under that enforcement (docs/rls.md, "The read and write suites under both and rls"): each harness
 * takes Tessera's RLS off every table, installs the RLS generated from its own policy, and starts its toolset
 * through the package root's createToolset, whose posture check must pass. A harness's calls reinstall its RLS
 * when another harness has installed its own since (one test database, several policies over the same
 * tables). Unset, suites run in `app` mode as always.
 *
 * The toolset's Kysely uses Tessera's own dialect (what createPostgresDatabase and createPgliteDatabase give an
 * application: named prepared statements, session batches, the direct read path, exact json) on PostgreSQL, and
 * Kysely's PostgresDialect (a host bringing its own Kysely) on PGlite, so the suites cover both drivers.
 */
import { randomUUID } from 'node:crypto'
import { Kysely, PostgresDialect, sql } from 'kysely'
import { createToolset as createCheckedToolset } from '../../src/create-toolset-with-rls.ts'
import { createTesseraDialect, ENFORCEMENT_MODES, type EnforcementMode } from '../../src/executor/index.ts'
import { bindPolicy } from '../../src/policy/index.ts'
import { applyRls, generateRls } from '../../src/rls/index.ts'
import { introspectSchema } from '../../src/schema/index.ts'
import type { RunContext } from '../../src/context/index.ts'
import { type SerializedError, TesseraError } from '../../src/errors/index.ts'
import { MemoryAuditStore, type AuditRecord } from '../../src/stores/index.ts'
import { definePolicy } from '../../src/policy/define-policy.ts'
import type { PolicyInput } from '../../src/policy/policy-schema.ts'
import {
  createToolset,
  type Toolset,
  type ToolsetOptions,
  type ToolResult,
} from '../../src/tools/create-toolset.ts'
import { TOOL_KEYS, TOOL_NAMES, type ToolKey } from '../../src/tools/index.ts'
import { APP_ROLE, type TestDatabase } from './databases.ts'
import { TEST_SECRET } from './saas.ts'

export interface ToolsetHarness {
  toolset: Toolset
  audit: MemoryAuditStore
  /** Statements the toolset sent since the last reset. */
  queries: string[]
}

/** The error a tool call answered with; the call succeeding fails the test (with what it returned). */
export async function callError(
  h: ToolsetHarness,
  ctx: RunContext,
  tool: string,
  args: unknown,
): Promise<SerializedError> {
  const r = await h.toolset.call(ctx, tool, args)
  if (r.ok) throw new Error(`${tool} succeeded: ${JSON.stringify(r.data)}`)
  return r.error
}

export async function toolsetFor(
  db: TestDatabase,
  policy: PolicyInput,
  extra: Partial<Omit<ToolsetOptions, 'db' | 'policy'>> = {},
  /** Which Kysely dialect the toolset runs on (see the file comment); a suite may pin one. */
  dialect: 'kysely' | 'tessera' = db.kind === 'postgres' ? 'tessera' : 'kysely',
): Promise<ToolsetHarness> {
  const queries: string[] = []
  const counted = new Kysely<any>({
    dialect:
      dialect === 'tessera'
        ? createTesseraDialect({ pool: db.appPool })
        : new PostgresDialect({ pool: db.appPool }),
    log: (event) => {
      queries.push(event.query.sql)
    },
  })
  const audit = new MemoryAuditStore()
  const defined = definePolicy(policy)
  const enforcement = extra.enforcement ?? suiteEnforcement()
  const token = {}
  const install = async (): Promise<void> => {
    await installRls(db, defined, extra.schemas)
    installedRls.set(db, token)
  }
  if (enforcement !== 'app') await install()
  const create = enforcement === 'app' ? createToolset : createCheckedToolset
  const built = await create({
    db: counted,
    policy: defined,
    audit,
    secret: TEST_SECRET,
    ...(db.appRole === undefined ? {} : { role: db.appRole }),
    ...extra,
    enforcement,
  })
  queries.length = 0
  const created =
    enforcement === 'app'
      ? built
      : withRlsInstalled(built, () => (installedRls.get(db) === token ? Promise.resolve() : install()))
  // A suite that brings its own store (or its own failure mode) checks its records itself.
  const toolset =
    extra.audit === undefined && extra.auditFailure === undefined ? auditChecked(created, audit) : created
  return { toolset, audit, queries }
}

/** The enforcement the suites run under (`TESSERA_TEST_ENFORCEMENT`, default `app`). */
export function suiteEnforcement(): EnforcementMode {
  const value = process.env['TESSERA_TEST_ENFORCEMENT'] ?? 'app'
  const mode = ENFORCEMENT_MODES.find((m) => m === value)
  if (mode === undefined) {
    throw new Error(`TESSERA_TEST_ENFORCEMENT must be one of ${ENFORCEMENT_MODES.join(', ')}`)
  }
  return mode
}

/** Takes every table's tessera_* RLS off, then installs the RLS generated from `policy`. */
async function installRls(
  db: TestDatabase,
  policy: ReturnType<typeof definePolicy>,
  schemas: readonly string[] | undefined,
): Promise<void> {
  await sql`do $$ declare p record; begin
    for p in select polname, polrelid::regclass::text as tab from pg_catalog.pg_policy where polname like 'tessera\\_%'
    loop
      execute format('drop policy %I on %s', p.polname, p.tab);
      execute format('alter table %s no force row level security, disable row level security', p.tab);
    end loop;
  end $$`.execute(db.admin)
  const bound = bindPolicy(
    policy,
    await introspectSchema(db.admin, { role: APP_ROLE, ...(schemas === undefined ? {} : { schemas }) }),
  )
  await applyRls(db.admin, generateRls(bound))
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

const KEYS: ReadonlySet<string> = new Set(TOOL_KEYS)
const CHECKED = new WeakSet<object>()

/** The toolset, with every tool method and `call` checked against the audit store after it settles. */
function auditChecked(toolset: Toolset, audit: MemoryAuditStore): Toolset {
  return new Proxy(toolset, {
    get(target, key, receiver) {
      const value: unknown = Reflect.get(target, key, receiver)
      if (typeof value !== 'function' || typeof key !== 'string') return value
      if (key === 'call') {
        return async (ctx: RunContext, name: string, args: unknown): Promise<ToolResult> => {
          const { ctx: c, before } = track(audit, ctx)
          const result = await target.call(c, name, args)
          const tool = typeof name === 'string' ? name : `(${typeof name})`
          expectOneRecord(audit, c, before, tool, result.ok ? result.data : result.error, result.ok)
          return result
        }
      }
      if (!KEYS.has(key)) return value
      const tool = TOOL_NAMES[key as ToolKey]
      return async (ctx: RunContext, ...rest: unknown[]): Promise<unknown> => {
        const { ctx: c, before } = track(audit, ctx)
        let data: unknown
        try {
          data = await (value as (ctx: RunContext, ...a: unknown[]) => Promise<unknown>).call(
            target,
            c,
            ...rest,
          )
        } catch (e) {
          if (e instanceof TesseraError) expectOneRecord(audit, c, before, tool, e.toJSON(), false)
          throw e
        }
        expectOneRecord(audit, c, before, tool, data, true)
        return data
      }
    },
  })
}

function track(audit: MemoryAuditStore, ctx: RunContext): { ctx: RunContext; before: number } {
  // Hostile contexts (getters, proxies, non-objects) are the point of some tests: pass them through unchecked.
  if (
    typeof ctx !== 'object' ||
    ctx === null ||
    CHECKED.has(ctx) ||
    Object.getPrototypeOf(ctx) !== Object.prototype
  ) {
    return { ctx, before: -1 }
  }
  const own = Object.getOwnPropertyDescriptor(ctx, 'requestId')
  if (own !== undefined && !('value' in own)) return { ctx, before: -1 }
  const c: RunContext = own === undefined ? { ...ctx, requestId: `audit-check-${randomUUID()}` } : ctx
  return { ctx: c, before: recordsOf(audit, c.requestId).length }
}

function recordsOf(audit: MemoryAuditStore, requestId: unknown): AuditRecord[] {
  return audit.all().filter((r) => r.requestId === requestId)
}

function expectOneRecord(
  audit: MemoryAuditStore,
  ctx: RunContext | null | undefined,
  before: number,
  tool: string,
  outcome: unknown,
  ok: boolean,
): void {
  if (before < 0 || ctx === null || ctx === undefined) return
  const requestId = ctx.requestId
  const fail = (why: string): never => {
    throw new Error(`audit contract (${tool.slice(0, 64)}, request ${requestId}): ${why}`)
  }
  const fresh = recordsOf(audit, requestId).slice(before)
  // A domain tool's data API calls share its request id and have records of their own.
  const mine = fresh.filter((r) => r.tool === tool)
  // A name no tool could have is recorded in a bounded, printable form of its own.
  const renamed = fresh.length === 1 && mine.length === 0 && !/^[a-zA-Z0-9_-]{1,64}$/.test(tool)
  if (!renamed && mine.length !== 1) fail(`expected exactly one new record, found ${mine.length}`)
  const r = renamed ? fresh[0]! : mine[0]!
  if (ok) {
    if (r.outcome !== 'success' || r.errorCode !== null)
      fail(`a successful call was recorded as ${r.outcome}`)
    const data = outcome as Record<string, unknown>
    if (Array.isArray(data['rows']) && r.rowCount !== data['rows'].length) {
      fail(`rowCount ${r.rowCount} for ${data['rows'].length} rows returned`)
    }
    if ('row' in data && tool !== TOOL_NAMES.create && tool !== TOOL_NAMES.update && r.rowCount !== 1) {
      fail(`rowCount ${r.rowCount} for one row returned`)
    }
    if ('row' in data && (tool === TOOL_NAMES.create || tool === TOOL_NAMES.update) && r.affectedRows !== 1) {
      fail(`affectedRows ${r.affectedRows} for one row written`)
    }
    return
  }
  const code = (outcome as { code?: unknown }).code
  if (r.errorCode !== code) fail(`record says ${r.errorCode}, the caller got ${String(code)}`)
  if (r.outcome === 'success') fail('a failed call was recorded as a success')
}
