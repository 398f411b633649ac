/**
 * Regression (docs/rls.md, formerly a known limit): under `both` and `rls` enforcement, a create whose column
 * default puts the new row outside the caller's scope (`customers.org_id` defaults to 'main'; Andy's org is
 * 'labs') was refused by PostgreSQL's RLS WITH CHECK during the INSERT (SQLSTATE 42501) and answered
 * INTERNAL_ERROR. The planner's own statement failing RLS's WITH CHECK now gives the answer `app` mode gives
 * — VALIDATION_ERROR "outside what you may access" — with no database text; a missing grant (also 42501)
 * stays an internal error.
 */
import { sql, type Kysely } from 'kysely'
import { beforeAll, expect, it } from 'vitest'
import { isTesseraError, type TesseraError } from '../../src/errors/index.ts'
import type { PolicyInput } from '../../src/policy/index.ts'
import { describeEachDatabase } from '../support/databases.ts'
import { ALICE, ANDY, as, TENANT_A } from '../support/saas.ts'
import { toolsetFor, type ToolsetHarness } from '../support/toolset.ts'

const orgScoped: PolicyInput = {
  models: {
    Customer: {
      table: 'customers',
      fields: { id: 'allow', tenant_id: 'allow', org_id: 'allow', name: 'allow' },
      scoping: { tenant_id: 'principal.tenantId', org_id: 'principal.metadata.orgId' },
      write: { create: 'allow', update: 'allow', autoSet: { tenant_id: 'principal.tenantId' } },
    },
  },
}

async function errorOf(run: Promise<unknown>): Promise<TesseraError> {
  try {
    await run
  } catch (error) {
    if (isTesseraError(error)) return error
    throw error
  }
  throw new Error('expected the call to be rejected')
}

async function customerCount(admin: Kysely<any>): Promise<number> {
  const r = await sql<{ n: number }>`select count(*)::int as n from customers`.execute(admin)
  return r.rows[0]?.n ?? -1
}

for (const enforcement of ['both', 'rls'] as const) {
  describeEachDatabase(
    `a create whose default leaves the caller's scope, enforcement ${enforcement}`,
    (db) => {
      let h: ToolsetHarness
      beforeAll(async () => {
        h = await toolsetFor(db(), orgScoped, { enforcement })
      })

      it('is refused as outside the caller scope (as in app mode), storing nothing', async () => {
        const before = await customerCount(db().admin)
        const e = await errorOf(h.toolset.create(as(ANDY), { model: 'Customer', data: { name: 'Labs Co' } }))
        expect(e).toMatchObject({
          code: 'VALIDATION_ERROR',
          message: 'The record would be outside what you may access after this write',
        })
        expect(JSON.stringify(e)).not.toMatch(/row-level|violates|customers|42501/i)
        expect(await customerCount(db().admin)).toBe(before)
        const record = (await h.audit.query({ tool: 'db_create' })).at(-1)
        expect(record).toMatchObject({ outcome: 'error', errorCode: 'VALIDATION_ERROR' })
      })

      it('keeps a create whose default lands inside the caller scope', async () => {
        const r = await h.toolset.create(as(ALICE), { model: 'Customer', data: { name: 'Main Co' } })
        expect(r.row).toMatchObject({ org_id: 'main', tenant_id: TENANT_A })
      })

      it('still answers INTERNAL_ERROR when the 42501 is a missing grant, not the row check', async () => {
        await sql`revoke insert on customers from tessera_app`.execute(db().admin)
        try {
          const e = await errorOf(
            h.toolset.create(as(ALICE), { model: 'Customer', data: { name: 'No Grant' } }),
          )
          expect(e.code).toBe('INTERNAL_ERROR')
        } finally {
          await sql`grant insert on customers to tessera_app`.execute(db().admin)
        }
      })
    },
  )
}
