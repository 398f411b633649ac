/**
 * When the SQL WITH CHECK alone decides a single update (src/planner/sql-decides-write-check.ts): only columns
 * whose `=` is exact in SQL, compared with constants in their Node form, by equality, IN or IS NULL. Everything
 * else keeps the transaction and the in-memory check: a wrong "yes" here would let an update commit on SQL's
 * word where Node's comparison refuses it (a case-variant tenant under a case-insensitive collation).
 */
import { describe, expect, it } from 'vitest'
import type { Principal } from '../../src/context/index.ts'
import { parseCondition } from '../../src/policy/condition/parse-condition.ts'
import type { ScopePredicate, VisibilityPlan } from '../../src/planner/query-plan.ts'
import { bindConditionToPrincipal } from '../../src/planner/bind-principal-values.ts'
import { sqlDecidesWriteCheck } from '../../src/planner/sql-decides-write-check.ts'
import type { ColumnInfo, ColumnTypeClass } from '../../src/schema/index.ts'
import { hasExactEquality } from '../../src/schema/index.ts'

const who: Principal = { tenantId: 't1', userId: 'u1', roles: ['member', 'admin'] }

function column(name: string, typeClass: ColumnTypeClass, exact: boolean): ColumnInfo {
  return {
    name,
    dataType: typeClass,
    udtName: typeClass,
    typeClass,
    nullable: true,
    hasDefault: false,
    defaultExpression: null,
    generated: false,
    ordinal: 1,
    ...(exact ? { exactEquality: true as const } : {}),
  }
}

const COLUMNS = new Map<string, ColumnInfo>(
  [
    column('tenant_id', 'string', true),
    column('ci_tenant', 'string', false), // text under a nondeterministic collation, char(n), citext
    column('owner_id', 'string', true),
    column('org_uuid', 'uuid', true),
    column('level', 'integer', true),
    column('big', 'bigint', false),
    column('active', 'boolean', true),
    column('tags', 'array', false),
    column('title', 'string', true),
  ].map((c) => [c.name, c]),
)
const columnOf = (name: string) => COLUMNS.get(name)

const SCOPE: ScopePredicate = { column: 'tenant_id', source: 'principal.tenantId', value: 't1' }

function plan(overrides: Partial<VisibilityPlan> = {}): VisibilityPlan {
  return {
    model: 'Doc',
    scopes: [SCOPE],
    permissive: [],
    restrictive: [],
    bypass: null,
    softDeleteColumn: null,
    shared: false,
    ...overrides,
  }
}

const rule = (text: string) => ({
  name: 'r',
  condition: bindConditionToPrincipal(parseCondition(text), null, who),
})

const decided = (v: VisibilityPlan, set: readonly string[] = ['title']) =>
  sqlDecidesWriteCheck(v, new Set(set), columnOf)

describe('sqlDecidesWriteCheck', () => {
  it('decides a scope on an unset exact column with a value in its Node form', () => {
    expect(decided(plan())).toBe(true)
    expect(decided(plan({ scopes: [{ ...SCOPE, column: 'level', value: 7 }] }))).toBe(true)
    expect(decided(plan({ scopes: [{ ...SCOPE, column: 'active', value: true }] }))).toBe(true)
    expect(
      decided(
        plan({ scopes: [{ ...SCOPE, column: 'org_uuid', value: 'a0000000-0000-4000-8000-00000000000f' }] }),
      ),
    ).toBe(true)
  })

  it('does not decide a scope on a column SQL compares other than Node (case-insensitive, int8, unknown)', () => {
    expect(decided(plan({ scopes: [{ ...SCOPE, column: 'ci_tenant' }] }))).toBe(false)
    expect(decided(plan({ scopes: [{ ...SCOPE, column: 'big', value: '7' }] }))).toBe(false)
    expect(decided(plan({ scopes: [{ ...SCOPE, column: 'nowhere' }] }))).toBe(false)
  })

  it('does not decide a value SQL would read differently from Node', () => {
    // An upper-case uuid is the same uuid to SQL, not the same string to Node.
    const upper = { ...SCOPE, column: 'org_uuid', value: 'A0000000-0000-4000-8000-00000000000F' }
    expect(decided(plan({ scopes: [upper] }))).toBe(false)
    // A lone surrogate is sent as U+FFFD: two strings in Node, one in SQL.
    expect(decided(plan({ scopes: [{ ...SCOPE, value: 't1\uD800' }] }))).toBe(false)
    // A number against a text column is compared as a decimal in Node ('07' = 7), as text in SQL.
    expect(decided(plan({ scopes: [{ ...SCOPE, value: 7 }] }))).toBe(false)
    expect(decided(plan({ scopes: [{ ...SCOPE, column: 'level', value: '7' }] }))).toBe(false)
    expect(decided(plan({ scopes: [{ ...SCOPE, column: 'level', value: 2 ** 60 }] }))).toBe(false)
  })

  it('needs nothing when data sets every column the check reads', () => {
    expect(decided(plan({ scopes: [{ ...SCOPE, column: 'ci_tenant' }] }), ['ci_tenant'])).toBe(true)
    expect(decided(plan({ restrictive: [rule("title < 'm'")] }), ['title'])).toBe(true)
  })

  it('decides equality, IN, NOT IN, IS NULL and their NOT / AND / OR on unset exact columns', () => {
    for (const text of [
      'owner_id = principal.userId',
      "owner_id != 'u2'",
      "not (owner_id = 'u2') and active = true",
      "owner_id in ('u1', 'u2') or level is null",
      'owner_id not in principal.roles',
      'level in (1, 2, 3)',
      'owner_id is not null',
    ]) {
      expect(decided(plan({ restrictive: [rule(text)] })), text).toBe(true)
    }
  })

  it('does not decide ordering, column-to-column, array fields, or a rule mixing written and unset columns', () => {
    for (const text of [
      "owner_id < 'u2'", // collation order is not code-unit order
      'level >= 2',
      'owner_id = title', // another column: the written one, read from data in Node
      'owner_id in tags',
      "title = 'x' and owner_id = 'u1'", // title is written: its SQL value is the stored one, not data's
      "ci_tenant = 't1'",
      "big = '7'",
      'ci_tenant is null',
    ]) {
      expect(decided(plan({ restrictive: [rule(text)] })), text).toBe(false)
    }
  })

  it('reads only the branch checkWrittenRow reads: a bypass or a shared model skips scopes and grants', () => {
    const ci = { ...SCOPE, column: 'ci_tenant' }
    expect(decided(plan({ scopes: [ci] }))).toBe(false)
    expect(decided(plan({ scopes: [], bypass: 'support' }))).toBe(true)
    expect(decided(plan({ scopes: [], shared: true, restrictive: [rule("ci_tenant = 't1'")] }))).toBe(false)
    expect(decided(plan({ scopes: [], permissive: [rule('owner_id = principal.userId')] }))).toBe(true)
    expect(decided(plan({ scopes: [], permissive: [rule("owner_id < 'u2'")] }))).toBe(false)
  })
})

describe('hasExactEquality', () => {
  const base = (typname: string, typschema = 'pg_catalog') => ({
    typname,
    typschema,
    typtype: 'b',
    typcategory: 'S',
  })

  it('holds for text and varchar only under a deterministic collation', () => {
    expect(hasExactEquality(base('text'), true)).toBe(true)
    expect(hasExactEquality(base('varchar'), true)).toBe(true)
    expect(hasExactEquality(base('text'), false)).toBe(false)
    expect(hasExactEquality(base('text'), null)).toBe(false)
  })

  it('holds for int2, int4, uuid and bool; never for char(n), int8, numeric, citext or a look-alike', () => {
    for (const t of ['int2', 'int4', 'uuid', 'bool']) expect(hasExactEquality(base(t), null), t).toBe(true)
    for (const t of ['bpchar', 'int8', 'numeric', 'float8', 'timestamptz', 'jsonb', 'name'])
      expect(hasExactEquality(base(t), true), t).toBe(false)
    expect(hasExactEquality(base('citext', 'public'), true)).toBe(false)
    expect(hasExactEquality(base('text', 'public'), true)).toBe(false)
    expect(hasExactEquality({ ...base('mood'), typtype: 'e' }, null)).toBe(false)
  })
})
