/**
 * Regression (issue 9, open question of the last round): a permissive `owner_id = principal.userId` on a
 * tenant-scoped model loaded without `crossTenant`. A permissive rule is ORed with the scoping, so a user of
 * tenant A with id `u-1` saw tenant B's rows owned by B's own `u-1` — in queries, gets, includes and aggregates.
 * Nothing makes a user id unique across tenants (an IdP subject, per-tenant numbering). Such a rule is now a load
 * error (`reason: 'permissive_rule_crosses_tenant'`) saying how to write it; written that way, the other tenant's
 * same-id rows stay invisible on every path.
 */
import { sql } from 'kysely'
import { beforeAll, describe, expect, it } from 'vitest'
import type { PolicyProblem } from '../../src/errors/index.ts'
import { isTesseraError } from '../../src/errors/index.ts'
import { definePolicy, type PolicyInput } from '../../src/policy/index.ts'
import type { ModelPolicyInput, RowPolicyInput } from '../../src/policy/policy-schema.ts'
import { describeEachDatabase } from '../support/databases.ts'
import { toolsetFor } from '../support/toolset.ts'

const A = 'a0000000-0000-4000-8000-000000000000'
const B = 'b0000000-0000-4000-8000-000000000000'
/** User `u-1` of tenant A; tenant B has a user `u-1` of its own. */
const ctx = { principal: { tenantId: A, userId: 'u-1', roles: ['member'] } }

const SCOPED = { scoping: { tenant_id: 'principal.tenantId' } }

function note(extra: Partial<ModelPolicyInput>): ModelPolicyInput {
  return {
    table: 'tw_notes',
    fields: { id: 'allow', tenant_id: 'allow', owner_id: 'allow', body: 'allow' },
    relations: { comments: { model: 'Comment' } },
    aggregations: { fields: ['id'] },
    ...extra,
  }
}

function comment(extra: Partial<ModelPolicyInput>): ModelPolicyInput {
  return {
    table: 'tw_comments',
    fields: { id: 'allow', tenant_id: 'allow', note_id: 'allow', author_id: 'allow', body: 'allow' },
    ...extra,
  }
}

const policy = (n: ModelPolicyInput, c: ModelPolicyInput = comment(SCOPED)): PolicyInput => ({
  models: { Note: n, Comment: c },
})

const permissive = (condition: string, more: Partial<RowPolicyInput> = {}): RowPolicyInput[] => [
  { name: 'own', condition, mode: 'permissive', ...more },
]

function problemsOf(input: PolicyInput): PolicyProblem[] {
  try {
    definePolicy(input)
  } catch (error) {
    if (isTesseraError(error) && error.code === 'POLICY_INVALID') {
      return error.details['problems'] as PolicyProblem[]
    }
    throw error
  }
  return []
}

describe('permissive rules tied to a claim that is not a tenant', () => {
  it('refuses owner_id = principal.userId on a tenant-scoped model, with a stable reason and the fix', () => {
    const found = problemsOf(
      policy(note({ ...SCOPED, rowPolicies: permissive('owner_id = principal.userId') })),
    )
    expect(found).toEqual([
      {
        path: 'models.Note.rowPolicies[0].condition',
        reason: 'permissive_rule_crosses_tenant',
        message: expect.stringContaining("ties rows to the caller only through 'owner_id'"),
      },
    ])
    const message = found[0]?.message ?? ''
    expect(message).toContain('ORed with the scoping')
    expect(message).toContain("remove mode: 'permissive'")
    expect(message).toContain('`tenant_id = principal.tenantId AND`')
    expect(message).toContain('add crossTenant: true')
  })

  it.each([
    [
      'the scoped model of an include target',
      policy(note(SCOPED), comment({ ...SCOPED, rowPolicies: permissive('author_id = principal.userId') })),
    ],
    [
      'a model scoped by permissive rules alone, through a branch that skips the tenant',
      policy(
        note({ rowPolicies: permissive('owner_id = principal.userId OR tenant_id = principal.tenantId') }),
      ),
    ],
    [
      'a metadata claim in a branch',
      policy(
        note({
          ...SCOPED,
          rowPolicies: permissive("body = principal.metadata.team AND 'lead' IN principal.roles"),
        }),
      ),
    ],
    [
      'a model scoped by owner whose other permissive rule names the tenant',
      policy(
        note({
          scoping: { owner_id: 'principal.userId' },
          rowPolicies: [
            { name: 'tenant', condition: 'tenant_id = principal.tenantId', mode: 'permissive' },
            { name: 'team', condition: 'body = principal.metadata.team', mode: 'permissive' },
          ],
        }),
      ),
    ],
    [
      'a claim list (IN principal.…)',
      policy(note({ ...SCOPED, rowPolicies: permissive('owner_id IN principal.metadata.delegates') })),
    ],
  ])('refuses it on %s', (_name, input) => {
    expect(problemsOf(input).map((p) => p.reason)).toEqual(['permissive_rule_crosses_tenant'])
  })

  it.each([
    [
      'a hierarchy rule on the tenant column',
      policy(note({ ...SCOPED, rowPolicies: permissive('tenant_id IN principal.metadata.tenantHierarchy') })),
    ],
    [
      'the claim pinned together with the tenant',
      policy(
        note({
          rowPolicies: permissive(
            '(tenant_id = principal.tenantId AND owner_id = principal.userId) OR tenant_id IN principal.metadata.shared',
          ),
        }),
      ),
    ],
    [
      'a public branch beside the tenant on a model without scoping',
      policy(note({ rowPolicies: permissive('owner_id IS NULL OR tenant_id = principal.tenantId') })),
    ],
    [
      'the same rule declared crossTenant',
      policy(
        note({ ...SCOPED, rowPolicies: permissive('owner_id = principal.userId', { crossTenant: true }) }),
      ),
    ],
    [
      'the same rule as a restriction (no mode)',
      policy(note({ ...SCOPED, rowPolicies: [{ name: 'own', condition: 'owner_id = principal.userId' }] })),
    ],
    [
      'a model scoped by owner alone (no tenant boundary)',
      policy(
        note({
          scoping: { owner_id: 'principal.userId' },
          unscopedColumns: ['tenant_id'],
          rowPolicies: permissive('body = principal.metadata.team'),
        }),
      ),
    ],
  ])('loads %s', (_name, input) => {
    expect(problemsOf(input)).toEqual([])
  })
})

describeEachDatabase('rows of another tenant with the same user id', (db) => {
  beforeAll(async () => {
    const admin = db().admin
    await sql`create table tw_notes (id int primary key, tenant_id uuid not null, owner_id text not null, body text)`.execute(
      admin,
    )
    await sql`create table tw_comments (id int primary key, tenant_id uuid not null,
      note_id int not null references tw_notes(id), author_id text not null, body text)`.execute(admin)
    await sql`grant select, insert, update, delete on tw_notes, tw_comments to tessera_app`.execute(admin)
    await sql`insert into tw_notes values (1, ${A}, 'u-1', 'a-own'), (2, ${A}, 'u-2', 'a-other'),
      (3, ${B}, 'u-1', 'b-same-user-id'), (4, ${B}, 'u-2', 'b-other')`.execute(admin)
    // 11 is B's comment by B's u-1, planted on A's note 1: only a widening target rule would show it.
    await sql`insert into tw_comments values (10, ${A}, 1, 'u-2', 'a-comment'), (11, ${B}, 1, 'u-1', 'b-planted'),
      (12, ${B}, 3, 'u-1', 'b-same-user-id')`.execute(admin)
  })

  it('widens past the tenant when the rule is declared crossTenant (what the refusal prevents by default)', async () => {
    const wide = permissive('owner_id = principal.userId', { crossTenant: true })
    const wideC = permissive('author_id = principal.userId', { crossTenant: true })
    const { toolset } = await toolsetFor(
      db(),
      policy(note({ ...SCOPED, rowPolicies: wide }), comment({ ...SCOPED, rowPolicies: wideC })),
    )
    const notes = await toolset.query(ctx, {
      model: 'Note',
      select: ['id'],
      include: { comments: { select: ['id'] } },
    })
    expect(notes.rows.map((r) => r['id'])).toEqual([1, 2, 3])
    expect(notes.rows[0]?.['comments']).toEqual([{ id: 10 }, { id: 11 }])
  })

  it.each([
    [
      'restrictive (no mode), as the refusal suggests',
      [{ name: 'own', condition: 'owner_id = principal.userId' }],
      [1],
    ],
    [
      'permissive with the tenant pinned in the branch',
      permissive('tenant_id = principal.tenantId AND owner_id = principal.userId'),
      [1, 2],
    ],
  ] as const)(
    'keeps the other tenant’s same-id rows invisible in query, get, include and aggregate when written %s',
    async (_name, rules, visible) => {
      const ownC = permissive('tenant_id = principal.tenantId AND author_id = principal.userId')
      const { toolset } = await toolsetFor(
        db(),
        policy(note({ ...SCOPED, rowPolicies: [...rules] }), comment({ ...SCOPED, rowPolicies: ownC })),
      )
      const notes = await toolset.query(ctx, {
        model: 'Note',
        select: ['id'],
        include: { comments: { select: ['id'] } },
      })
      expect(notes.rows.map((r) => r['id'])).toEqual(visible)
      expect(notes.rows[0]?.['comments']).toEqual([{ id: 10 }])
      const get = await toolset.call(ctx, 'db_get', { model: 'Note', id: 3 })
      expect(get).toMatchObject({ ok: false, error: { code: 'NOT_FOUND' } })
      const count = await toolset.call(ctx, 'db_aggregate', { model: 'Note', op: 'count' })
      expect(count).toMatchObject({ ok: true, data: { value: visible.length } })
      const comments = await toolset.query(ctx, { model: 'Comment', select: ['id'] })
      expect(comments.rows.map((r) => r['id'])).toEqual([10])
    },
  )
})
