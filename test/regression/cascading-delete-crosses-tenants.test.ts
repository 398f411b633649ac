/**
 * Regression (second red-team pass): with `comments.post_id references posts on delete cascade` and public
 * posts, tenant B commented on A's public post and A's hard delete of the post deleted B's comment — a write
 * outside A's scope that no policy rule covered. Policies that allow such hard deletes (or cascading key
 * updates) no longer load.
 */
import { sql } from 'kysely'
import { beforeAll, expect, it } from 'vitest'
import { bindPolicy } from '../../src/policy/bind-policy.ts'
import { definePolicy } from '../../src/policy/define-policy.ts'
import type { ModelPolicyInput } from '../../src/policy/policy-schema.ts'
import { introspectSchema } from '../../src/schema/index.ts'
import type { DbSchema } from '../../src/schema/types.ts'
import { describeEachDatabase } from '../support/databases.ts'

describeEachDatabase('cascading foreign keys and hard deletes', (db) => {
  let schema: DbSchema
  beforeAll(async () => {
    const admin = db().admin
    await sql`create table posts (id uuid primary key default gen_random_uuid(), tenant_id uuid not null, slug text not null unique, is_public boolean not null default false, deleted_at timestamptz)`.execute(
      admin,
    )
    await sql`create table comments (id uuid primary key default gen_random_uuid(), tenant_id uuid not null, post_id uuid references posts(id) on delete cascade, post_slug text references posts(slug) on update cascade, body text)`.execute(
      admin,
    )
    await sql`grant select, insert, update, delete on posts to tessera_app`.execute(admin)
    // The referencing table is not even readable by the app role: the cascade must be seen all the same.
    await sql`revoke all on comments from tessera_app`.execute(admin)
    const role = db().appRole
    schema = await introspectSchema(db().app, role === undefined ? {} : { role })
  })

  const post = (write: ModelPolicyInput['write']): ModelPolicyInput => ({
    table: 'posts',
    fields: { id: 'allow', tenant_id: 'allow', slug: 'allow', is_public: 'allow' },
    rowPolicies: [
      {
        name: 'public_or_own',
        condition: 'is_public = true OR tenant_id = principal.tenantId',
        mode: 'permissive',
      },
    ],
    ...(write === undefined ? {} : { write }),
  })
  const bind = (model: ModelPolicyInput): unknown =>
    bindPolicy(definePolicy({ models: { Post: model } }), schema)

  it('sees foreign keys from tables the role cannot read', () => {
    expect(
      schema.tables['posts']?.cascadingReferences.map((r) => [r.fromTable, r.onDelete, r.onUpdate]),
    ).toEqual([
      ['public.comments', 'cascade', null],
      ['public.comments', null, 'cascade'],
    ])
  })

  it('refuses a policy whose hard delete would cascade into other rows', () => {
    expect(() => bind(post({ delete: 'allow' }))).toThrow(
      expect.objectContaining({
        code: 'POLICY_INVALID',
        message: expect.stringMatching(/models\.Post\.write\.delete: .*ON DELETE CASCADE/),
      }),
    )
  })

  it('refuses a policy whose update could change a key that cascades', () => {
    expect(() => bind(post({ update: 'allow' }))).toThrow(
      expect.objectContaining({
        code: 'POLICY_INVALID',
        message: expect.stringMatching(/models\.Post\.write\.update: column 'slug' .*ON UPDATE CASCADE/),
      }),
    )
  })

  it('loads when deletes are soft, the key is immutable, or the operation is denied', () => {
    expect(() => bind(post({ delete: 'allow', softDelete: { field: 'deleted_at' } }))).not.toThrow()
    expect(() => bind(post({ update: 'allow', immutableFields: ['slug'] }))).not.toThrow()
    expect(() => bind(post({ delete: 'deny', update: 'deny' }))).not.toThrow()
    expect(() => bind(post(undefined))).not.toThrow()
  })
})
