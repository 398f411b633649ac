/**
 * `tessera demo`: the main job on the embedded database, no server. Loads the SaaS fixture into PGlite, binds
 * policies/demo.yaml, and plays an agent session for two tenants — including the attacks Tessera stops.
 */
import { randomBytes } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import { MemoryAuditStore } from '../stores/index.ts'
import { loadPolicyFile } from '../policy/index.ts'
import { TOOL_NAMES, createToolset } from '../tools/index.ts'
import type { CliOutput } from './cli-output.ts'
import { openDemoDatabase } from './demo-database.ts'
import { DEMO_APP_ROLE } from './saas-fixture.ts'

const ACME = {
  tenantId: 'a0000000-0000-4000-8000-000000000000',
  userId: 'a0000000-0000-4000-8000-0000000000a2',
  roles: ['member'],
}
const GLOBEX = {
  tenantId: 'b0000000-0000-4000-8000-000000000000',
  userId: 'b0000000-0000-4000-8000-0000000000b1',
  roles: ['admin'],
}
const GLOBEX_ORDER = '0b000000-0000-4000-8000-000000000001'

export interface DemoOptions {
  readonly output: CliOutput
  /** Where the embedded database image is cached (`null`: no cache). */
  readonly cacheDir?: string | null
}

export async function runDemo(options: DemoOptions): Promise<void> {
  const { output } = options
  const say = output.say
  const started = performance.now()
  say('Starting an embedded PostgreSQL (PGlite) with a two-tenant SaaS fixture…')
  const database = await openDemoDatabase({
    output,
    ...(options.cacheDir === undefined ? {} : { cacheDir: options.cacheDir }),
  })
  try {
    const policyPath = fileURLToPath(new URL('../../policies/demo.yaml', import.meta.url))
    const policy = await output.phase('Load the policy', () => loadPolicyFile(policyPath))
    const audit = new MemoryAuditStore()
    const toolset = await output.phase('Bind the policy to the live schema', () =>
      createToolset({
        db: database.db,
        policy,
        audit,
        secret: randomBytes(32),
        role: DEMO_APP_ROLE,
      }),
    )
    say(`Policy ${policyPath} bound to the live schema (version ${policy.versionHash.slice(0, 12)}).`)
    say(`Ready in ${Math.round(performance.now() - started)} ms.\n`)

    const step = async (
      title: string,
      who: string,
      ctx: { principal: typeof ACME },
      tool: string,
      args: unknown,
    ): Promise<void> => {
      const result = await toolset.call(ctx, tool, args)
      output.data({ step: title, as: who, tool, args, result })
      say(`${output.paint.bold(`▶ ${title}`)}\n  as ${who}: ${tool} ${JSON.stringify(args)}`)
      const text = JSON.stringify(result)
      const shown = `  → ${text.length > 900 ? `${text.slice(0, 900)}…` : text}\n`
      say(result.ok ? shown : output.paint.fail(shown))
    }

    const acme = { principal: ACME }
    const globex = { principal: GLOBEX }
    await step('An agent for acme lists the models it may use', 'acme', acme, TOOL_NAMES.describeSchema, {
      model: 'Customer',
    })
    await step("It reads acme's paid orders with their customer", 'acme', acme, TOOL_NAMES.query, {
      model: 'Order',
      select: ['id', 'status', 'total', 'customer_id'],
      where: { field: 'status', op: 'eq', value: 'paid' },
      include: { customer: { select: ['name', 'email', 'ssn'] } },
      limit: 5,
    })
    await step(
      "It tries to read globex's order by id: indistinguishable from a missing row",
      'acme',
      acme,
      TOOL_NAMES.get,
      {
        model: 'Order',
        id: GLOBEX_ORDER,
      },
    )
    await step(
      'It tries to widen its scope with a filter on the tenant column: still only its own rows',
      'acme',
      acme,
      TOOL_NAMES.query,
      {
        model: 'Order',
        select: ['id', 'tenant_id'],
        where: { field: 'tenant_id', op: 'eq', value: GLOBEX.tenantId },
      },
    )
    await step(
      'It tries to read password hashes: the field does not exist for it',
      'acme',
      acme,
      TOOL_NAMES.query,
      {
        model: 'User',
        select: ['name', 'password_hash'],
      },
    )
    await step('It tries SQL through a field name: rejected before any SQL', 'acme', acme, TOOL_NAMES.query, {
      model: 'Order',
      where: { field: 'status"; DROP TABLE orders; --', op: 'eq', value: 'x' },
    })
    await step('It counts orders by status (acme only)', 'acme', acme, TOOL_NAMES.aggregate, {
      model: 'Order',
      op: 'count',
      groupBy: ['status'],
    })
    await step('The same question from globex sees only globex', 'globex', globex, TOOL_NAMES.aggregate, {
      model: 'Order',
      op: 'count',
      groupBy: ['status'],
    })
    const records = await audit.query({})
    say(
      `Every call above was audited: ${records.length} records, ${records.filter((r) => r.outcome !== 'success').length} denials or errors.`,
    )
    output.data({ audit: { records: records.length } })
  } finally {
    await database.close()
  }
}
