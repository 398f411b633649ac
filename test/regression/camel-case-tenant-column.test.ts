/**
 * Regression (red team, careless host): tenant columns were recognised by their snake_case names only. A schema
 * with camelCase columns — what an ORM such as Prisma creates (`"tenantId"`, `"orgId"`) — passed every
 * tenant-column check: `tessera init` wrote its tenant tables as `shared: true` (every tenant read every
 * invoice), a model leaving `tenantId` unscoped loaded, and writes pinned nothing. Names are now compared
 * case- and underscore-blind.
 */
import { sql } from 'kysely'
import { beforeAll, expect, it } from 'vitest'
import { starterPolicy } from '../../src/cli/starter-policy.ts'
import { bindPolicy, definePolicy } from '../../src/policy/index.ts'
import type { PolicyInput } from '../../src/policy/policy-schema.ts'
import { introspectSchema, type DbSchema } from '../../src/schema/index.ts'
import { describeEachDatabase } from '../support/databases.ts'

describeEachDatabase('camelCase tenant columns', (db) => {
  let schema: DbSchema
  beforeAll(async () => {
    const admin = db().admin
    await sql`create table "Invoice" (id uuid primary key, "tenantId" uuid not null, "orgId" text, amount numeric)`.execute(
      admin,
    )
    await sql`create table "Ledger" (id int primary key, "TenantID" text not null, "organisationId" text)`.execute(
      admin,
    )
    schema = await introspectSchema(admin)
  })

  it('are scoped by tessera init, never shared', () => {
    const starter = starterPolicy(schema, 'test')
    const models = new Map(starter.models.map((m) => [m.table, m.kind]))
    expect(models.get('Invoice')).toBe('scoped')
    expect(models.get('Ledger')).toBe('scoped')
    expect(starter.text).toContain('scoping: { tenantId: principal.tenantId }')
    expect(starter.text).toContain('scoping: { TenantID: principal.tenantId }')
  })

  it('make a permissive rule that reaches past them through a user id a load error', () => {
    const rule = (crossTenant?: true): PolicyInput => ({
      models: {
        Invoice: {
          table: 'Invoice',
          rowPolicies: [
            {
              name: 'mine',
              condition: 'tenantId = principal.tenantId OR ownerId = principal.userId',
              mode: 'permissive' as const,
              ...(crossTenant ? { crossTenant } : {}),
            },
          ],
          fields: { id: 'allow' },
        },
      },
    })
    expect(() => definePolicy(rule())).toThrow(
      expect.objectContaining({
        message: expect.stringContaining("ties rows to the caller only through 'ownerId'"),
      }),
    )
    expect(() => definePolicy(rule(true))).not.toThrow()
  })

  it('must be scoped or waived for a policy to load', () => {
    const unscoped = definePolicy({
      models: {
        Invoice: {
          table: 'Invoice',
          scoping: { orgId: 'principal.metadata.orgId' },
          fields: { id: 'allow', tenantId: 'allow', orgId: 'allow', amount: 'allow' },
        },
      },
    })
    expect(() => bindPolicy(unscoped, schema)).toThrow(
      expect.objectContaining({ message: expect.stringContaining("tenant-like column 'tenantId'") }),
    )
    const waived = definePolicy({
      models: {
        Invoice: {
          table: 'Invoice',
          scoping: { tenantId: 'principal.tenantId' },
          unscopedColumns: ['orgId'],
          fields: { id: 'allow', tenantId: 'allow', orgId: 'allow', amount: 'allow' },
        },
      },
    })
    expect(() => bindPolicy(waived, schema)).not.toThrow()
  })
})
