/**
 * Review of the input guard's snapshot (e274b5c) and canonical tenant ids (454387f) from the principal's side: a
 * host passes a principal object it did not build (a Proxy over a session, an object with getters). Were the
 * principal read more than once — by the planner, the RLS claims, the write's autoSet, the audit — a tenantId that
 * answers '1' first and '2' after would scope the statement to one tenant and the claims or the written row to
 * another. Held in app, rls and both: each call reads the principal once, reads and writes only tenant 1, and
 * the audit names tenant 1; request keys `__proto__`/`constructor` and a toJSON member are refused.
 */
import { sql } from 'kysely'
import { beforeAll, describe, expect, it } from 'vitest'
import type { RunContext } from '../../src/context/index.ts'
import type { EnforcementMode } from '../../src/executor/index.ts'
import type { PolicyInput } from '../../src/policy/policy-schema.ts'
import { APP_ROLE, describeEachDatabase } from '../support/databases.ts'
import { callError, toolsetFor, type ToolsetHarness } from '../support/toolset.ts'

const policy: PolicyInput = {
  models: {
    Doc: {
      table: 'rv_in_docs',
      fields: {
        id: { action: 'allow', acceptGlobalUnique: true },
        tenant_id: 'allow',
        body: 'allow',
      },
      scoping: { tenant_id: 'principal.tenantId' },
      write: { create: 'allow', update: 'allow', autoSet: { tenant_id: 'principal.tenantId' } },
    },
  },
}

/** A principal whose tenantId reads '1' the first time and '2' every time after, and how often it was read. */
function flipping(kind: 'getter' | 'proxy'): { ctx: RunContext; reads: () => number } {
  let n = 0
  const next = (): string => (++n === 1 ? '1' : '2')
  const principal =
    kind === 'getter'
      ? {
          get tenantId() {
            return next()
          },
          userId: 'u1',
        }
      : new Proxy({ tenantId: '1', userId: 'u1' } as Record<string, unknown>, {
          get: (target, key) => (key === 'tenantId' ? next() : target[key as string]),
        })
  return { ctx: { principal } as unknown as RunContext, reads: () => n }
}

const MODES: readonly EnforcementMode[] = ['app', 'rls', 'both']
const ONE: RunContext = { principal: { tenantId: '1', userId: 'u1' } }

describeEachDatabase('review: a principal that answers differently on each read', (db) => {
  beforeAll(async () => {
    await sql`create table rv_in_docs (id int primary key, tenant_id int not null, body text not null)`.execute(
      db().admin,
    )
    await sql`insert into rv_in_docs values (1, 1, 'one'), (2, 2, 'two')`.execute(db().admin)
    await sql`grant select, insert, update on rv_in_docs to ${sql.id(APP_ROLE)}`.execute(db().admin)
  })

  for (const mode of MODES) {
    describe(`under ${mode}`, () => {
      let h: ToolsetHarness
      beforeAll(async () => {
        h = await toolsetFor(db(), policy, { enforcement: mode })
      })

      it('reads, creates and audits as the tenant it answered first, reading it once per call', async () => {
        for (const kind of ['getter', 'proxy'] as const) {
          const q = flipping(kind)
          const read = await h.toolset.call(q.ctx, 'db_query', { model: 'Doc', select: ['id', 'tenant_id'] })
          if (!read.ok) throw new Error(read.error.message)
          const rows = (read.data as { rows: { id: number; tenant_id: number }[] }).rows
          expect({ kind, tenants: [...new Set(rows.map((r) => r.tenant_id))], reads: q.reads() }).toEqual({
            kind,
            tenants: [1],
            reads: 1,
          })
          expect(h.audit.all().at(-1)?.tenantId).toBe('1')
          const c = flipping(kind)
          const id = 10 * (MODES.indexOf(mode) + 1) + (kind === 'getter' ? 1 : 2)
          const created = await h.toolset.call(c.ctx, 'db_create', { model: 'Doc', data: { id, body: 'n' } })
          expect(created.ok).toBe(true)
          expect(c.reads()).toBe(1)
          const row = await sql<{
            tenant_id: number
          }>`select tenant_id from rv_in_docs where id = ${id}`.execute(db().admin)
          expect(row.rows).toEqual([{ tenant_id: 1 }])
        }
      })

      it('refuses __proto__ and constructor keys and a toJSON member, writing nothing', async () => {
        const proto = await callError(
          h,
          ONE,
          'db_create',
          JSON.parse('{"model":"Doc","data":{"id":7,"body":"x","__proto__":{"tenant_id":2}}}'),
        )
        const where = await callError(
          h,
          ONE,
          'db_query',
          JSON.parse('{"model":"Doc","where":{"__proto__":{"tenant_id":2}}}'),
        )
        const ctor = await callError(
          h,
          ONE,
          'db_update',
          JSON.parse('{"model":"Doc","id":1,"data":{"constructor":{"x":1},"body":"y"}}'),
        )
        const toJSON = await callError(h, ONE, 'db_query', {
          model: 'Doc',
          toJSON: () => ({ model: 'Doc', where: { tenant_id: 2 } }),
        })
        expect([proto, where, ctor, toJSON].map((e) => e.code)).toEqual([
          'VALIDATION_ERROR',
          'VALIDATION_ERROR',
          'VALIDATION_ERROR',
          'VALIDATION_ERROR',
        ])
        const rows =
          await sql`select id, tenant_id, body from rv_in_docs where id in (1, 2, 7) order by id`.execute(
            db().admin,
          )
        expect(rows.rows).toEqual([
          { id: 1, tenant_id: 1, body: 'one' },
          { id: 2, tenant_id: 2, body: 'two' },
        ])
      })
    })
  }
})
