/**
 * Red team, help desk schema: reads of one request shape by principals whose plans differ. Anything kept per
 * shape (statements, templates, audit facts) must not carry one principal's plan into another's call: roles,
 * a metadata attribute, a bypass, a cross-tenant permissive rule, soft delete, field transforms and an include
 * all decide the plan here (helpdeskReadPolicy). The oracle: one toolset per principal that only ever sees
 * that principal's calls. The attacked toolset sees every principal's calls of each shape in turn, in both
 * orders, then again with other values; every answer, and every audit record's facts, must equal the oracle's.
 * Cursors are bound to their principal: page two of one principal's query with another principal's cursor is
 * refused the same way by both toolsets.
 */
import { Kysely, PostgresDialect } from 'kysely'
import { beforeAll, expect, it } from 'vitest'
import type { RunContext } from '../../src/context/index.ts'
import { createToolset } from '../../src/create-toolset-with-rls.ts'
import { createTesseraDialect, type EnforcementMode } from '../../src/executor/index.ts'
import { definePolicy } from '../../src/policy/define-policy.ts'
import { MemoryAuditStore } from '../../src/stores/index.ts'
import { describeEachDatabase, type TestDatabase } from '../support/databases.ts'
import { helpdeskReadPolicy, loadHelpdesk, ORG_A, ORG_B, READERS } from '../support/helpdesk.ts'
import { TEST_SECRET } from '../support/saas.ts'
import { type ToolsetHarness, toolsetFor } from '../support/toolset.ts'

/**
 * A toolset of `mode` without the read-shape cache, over the RLS the first harness installed: harnesses of toolsetFor reinstall their RLS
 * whenever another harness installed its own since, which for eight toolsets of one policy is every call.
 */
async function sameRlsHarness(db: TestDatabase, mode: EnforcementMode): Promise<ToolsetHarness> {
  const audit = new MemoryAuditStore()
  const kysely = new Kysely<unknown>({
    dialect:
      db.kind === 'postgres'
        ? createTesseraDialect({ pool: db.appPool })
        : new PostgresDialect({ pool: db.appPool }),
  })
  const toolset = await createToolset({
    db: kysely,
    policy: definePolicy(helpdeskReadPolicy()),
    audit,
    secret: TEST_SECRET,
    schemas: ['desk'],
    enforcement: mode,
    // The oracle takes the path without the read-shape cache: nothing of another call reaches its answers.
    readShapeCache: false,
    ...(db.appRole === undefined ? {} : { role: db.appRole }),
  })
  return { toolset, audit, queries: [] }
}

type Call = readonly [tool: string, args: Record<string, unknown>]

/** Request shapes, each with two sets of values. */
const SHAPES: Record<string, readonly [Call, Call]> = {
  'query everything': [
    ['db_query', { model: 'Ticket' }],
    ['db_query', { model: 'Ticket' }],
  ],
  'query by priority, ordered, limited': [
    [
      'db_query',
      {
        model: 'Ticket',
        where: { field: 'priority', op: 'gte', value: 1 },
        orderBy: [{ field: 'id', direction: 'asc' }],
        limit: 2,
      },
    ],
    [
      'db_query',
      {
        model: 'Ticket',
        where: { field: 'priority', op: 'gte', value: 2 },
        orderBy: [{ field: 'id', direction: 'asc' }],
        limit: 2,
      },
    ],
  ],
  'query by team': [
    [
      'db_query',
      {
        model: 'Ticket',
        select: ['org_id', 'id', 'team'],
        where: { field: 'team', op: 'eq', value: 'support' },
      },
    ],
    [
      'db_query',
      { model: 'Ticket', select: ['org_id', 'id', 'team'], where: { field: 'team', op: 'eq', value: 'all' } },
    ],
  ],
  'query in a list': [
    [
      'db_query',
      { model: 'Ticket', select: ['id', 'subject'], where: { field: 'id', op: 'in', value: [1, 2, 3] } },
    ],
    [
      'db_query',
      { model: 'Ticket', select: ['id', 'subject'], where: { field: 'id', op: 'in', value: [3, 4, 5] } },
    ],
  ],
  'query with the macro included': [
    [
      'db_query',
      {
        model: 'Ticket',
        select: ['org_id', 'id', 'body'],
        include: { macro: { select: ['title', 'body'] } },
      },
    ],
    [
      'db_query',
      {
        model: 'Ticket',
        select: ['org_id', 'id', 'body'],
        where: { field: 'id', op: 'ne', value: 1 },
        include: { macro: { select: ['title', 'body'] } },
      },
    ],
  ],
  'get one ticket': [
    ['db_get', { model: 'Ticket', id: { org_id: ORG_A, id: 3 } }],
    ['db_get', { model: 'Ticket', id: { org_id: ORG_B, id: 3 } }],
  ],
  'get another ticket': [
    ['db_get', { model: 'Ticket', id: { org_id: ORG_B, id: 2 } }],
    ['db_get', { model: 'Ticket', id: { org_id: ORG_A, id: 4 } }],
  ],
  'count by team': [
    ['db_aggregate', { model: 'Ticket', op: 'count', groupBy: ['team'] }],
    ['db_aggregate', { model: 'Ticket', op: 'count', groupBy: ['team'] }],
  ],
  'sum of priorities where public': [
    [
      'db_aggregate',
      { model: 'Ticket', op: 'sum', field: 'priority', where: { field: 'is_public', op: 'eq', value: true } },
    ],
    [
      'db_aggregate',
      {
        model: 'Ticket',
        op: 'sum',
        field: 'priority',
        where: { field: 'is_public', op: 'eq', value: false },
      },
    ],
  ],
  'query macros': [
    ['db_query', { model: 'Macro', orderBy: [{ field: 'title', direction: 'asc' }] }],
    ['db_query', { model: 'Macro', where: { field: 'is_public', op: 'eq', value: true } }],
  ],
}

/** What a call answered, without what differs between toolsets by design (cursor bytes, request ids). */
function answerOf(r: Awaited<ReturnType<ToolsetHarness['toolset']['call']>>): unknown {
  if (!r.ok) return { error: r.error.code, message: r.error.message }
  const data = r.data as Record<string, unknown>
  const { nextCursor, ...rest } = data
  return { ...rest, ...(nextCursor === undefined ? {} : { hasNext: nextCursor !== null }) }
}

/** The audit facts of a call: what it scoped, which rules and bypass applied, which fields it redacted. */
function factsOf(h: ToolsetHarness, requestId: string): unknown {
  const r = h.audit.all().find((x) => x.requestId === requestId)
  if (!r) return 'no record'
  return {
    outcome: r.outcome,
    errorCode: r.errorCode,
    model: r.model,
    scopesInjected: r.scopesInjected,
    rowPolicies: r.rowPolicies,
    bypass: r.bypass,
    fieldsRedacted: r.fieldsRedacted,
    rowCount: r.rowCount,
  }
}

const MODES: readonly EnforcementMode[] = ['app', 'rls']

for (const mode of MODES) {
  describeEachDatabase(
    `red team on the help desk schema: one read shape, many principals (${mode})`,
    (db) => {
      let shared: ToolsetHarness
      const oracle: Record<string, ToolsetHarness> = {}
      let n = 0

      beforeAll(async () => {
        await loadHelpdesk(db())
        shared = await toolsetFor(db(), helpdeskReadPolicy(), { schemas: ['desk'], enforcement: mode })
        for (const name of Object.keys(READERS)) oracle[name] = await sameRlsHarness(db(), mode)
      })

      const run = async (h: ToolsetHarness, ctx: RunContext, [tool, args]: Call) => {
        const requestId = `shape-${n++}`
        const r = await h.toolset.call({ ...ctx, requestId }, tool, args)
        return { answer: answerOf(r), facts: factsOf(h, requestId), raw: r }
      }

      it.each(Object.entries(SHAPES))(
        'answers %s for every principal exactly as a toolset that only served that principal',
        async (_, calls) => {
          const names = Object.keys(READERS)
          for (const order of [names, [...names].reverse()]) {
            for (const call of calls) {
              for (const name of order) {
                const ctx = READERS[name] as RunContext
                const got = await run(shared, ctx, call)
                const want = await run(oracle[name] as ToolsetHarness, ctx, call)
                expect(got.answer, `${name}: ${JSON.stringify(call)}`).toEqual(want.answer)
                expect(got.facts, `${name} audit: ${JSON.stringify(call)}`).toEqual(want.facts)
              }
            }
          }
        },
      )

      it('follows each principal’s own cursor to its page two, and refuses another principal’s cursor alike', async () => {
        const call: Call = [
          'db_query',
          {
            model: 'Ticket',
            select: ['org_id', 'id'],
            orderBy: [{ field: 'id', direction: 'asc' }],
            limit: 1,
          },
        ]
        const cursors: Record<string, string> = {}
        for (const [name, ctx] of Object.entries(READERS)) {
          const first = await run(shared, ctx, call)
          if (!first.raw.ok) continue
          const next = (first.raw.data as { nextCursor: string | null }).nextCursor
          if (next !== null) cursors[name] = next
        }
        expect(Object.keys(cursors).length).toBeGreaterThanOrEqual(2)
        for (const [owner, cursor] of Object.entries(cursors)) {
          for (const [name, ctx] of Object.entries(READERS)) {
            const paged: Call = ['db_query', { ...call[1], cursor }]
            const got = await run(shared, ctx, paged)
            const want = await run(oracle[name] as ToolsetHarness, ctx, paged)
            expect(got.answer, `${owner}'s cursor used by ${name}`).toEqual(want.answer)
            if (owner !== name) expect(got.raw.ok, `${owner}'s cursor used by ${name}`).toBe(false)
          }
        }
      })
    },
  )
}
