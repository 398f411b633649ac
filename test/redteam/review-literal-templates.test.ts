/**
 * Review of row-policy literals as fixed template parameters (8090ff6) and the one probe walk (4d317f7): the
 * read statement templates are cached per Kysely instance, so toolsets over one Kysely whose Doc policies differ
 * only in a literal, a literal's type (true vs 'true' vs 1), NULL tests, a literal list's order or length, or
 * the nesting of and/or/not would read through each other's template were any of it missing from the shape key
 * or bound in the wrong slot. Each toolset is held to an oracle (the same condition as SQL, by the superuser),
 * call after call in both orders, for query, get and count, with request filters whose values collide with the
 * policy's literals (a slot and a fixed parameter of the same value and type).
 */
import { Kysely, PostgresDialect, sql } from 'kysely'
import { beforeAll, expect, it } from 'vitest'
import { createTesseraDialect } from '../../src/executor/index.ts'
import { definePolicy } from '../../src/policy/define-policy.ts'
import type { PolicyInput } from '../../src/policy/policy-schema.ts'
import { createToolset, type Toolset } from '../../src/tools/create-toolset.ts'
import { APP_ROLE, describeEachDatabase } from '../support/databases.ts'
import { TEST_SECRET } from '../support/saas.ts'

/** A policy condition and the same condition as SQL over rv_lit. */
const VARIANTS: [string, string][] = [
  ['flag = true', 'flag = true'],
  ['flag = false', 'flag = false'],
  ['flag IS NULL', 'flag is null'],
  ['flag IS NOT NULL', 'flag is not null'],
  ['NOT (flag = true)', 'not (flag = true)'],
  ["code = 'true'", "code = 'true'"],
  ["code = '1'", "code = '1'"],
  ["code = 'a'", "code = 'a'"],
  ["code IN ('a', 'b')", "code in ('a', 'b')"],
  ["code IN ('b', 'a')", "code in ('b', 'a')"],
  ["code IN ('b')", "code in ('b')"],
  ["code NOT IN ('a')", "code not in ('a')"],
  ['rank = 1', 'rank = 1'],
  ['rank = -1', 'rank = -1'],
  ['rank = 0', 'rank = 0'],
  ["(code = 'a' OR flag = true) AND NOT (code = 'b')", "(code = 'a' or flag = true) and not (code = 'b')"],
  ["code = 'a' OR (flag = true AND NOT (code = 'b'))", "code = 'a' or (flag = true and not (code = 'b'))"],
  ["NOT (code = 'a' OR flag = true)", "not (code = 'a' or flag = true)"],
  ["NOT (code = 'a') OR flag = true", "not (code = 'a') or flag = true"],
]

/** Request filters, some with the very values the policies hold as literals. */
interface Where {
  field: string
  op: 'eq' | 'in'
  value: unknown
}
const WHERES: (Where | undefined)[] = [
  undefined,
  { field: 'code', op: 'eq', value: 'a' },
  { field: 'code', op: 'eq', value: 'true' },
  { field: 'code', op: 'eq', value: '1' },
  { field: 'rank', op: 'eq', value: 1 },
  { field: 'flag', op: 'eq', value: true },
  { field: 'code', op: 'in', value: ['a', 'b'] },
]

const as = { principal: { tenantId: '1', userId: 'u1' } }

describeEachDatabase('review: toolsets over one Kysely whose row policies differ only in literals', (db) => {
  const toolsets: Toolset[] = []

  beforeAll(async () => {
    const admin = db().admin
    await sql`create table rv_lit (id int primary key, tenant_id int not null, code text, flag boolean, rank int)`.execute(
      admin,
    )
    await sql`insert into rv_lit values (1, 1, 'a', true, 1), (2, 1, 'b', false, 0), (3, 1, 'true', null, null),
      (4, 1, '1', true, -1), (5, 1, null, null, 2), (6, 2, 'a', true, 1), (7, 2, 'true', false, 0)`.execute(
      admin,
    )
    await sql`grant select on rv_lit to ${sql.id(APP_ROLE)}`.execute(admin)
    const shared = new Kysely<unknown>({
      dialect:
        db().kind === 'postgres'
          ? createTesseraDialect({ pool: db().appPool })
          : new PostgresDialect({ pool: db().appPool }),
    })
    for (const [condition] of VARIANTS) {
      const policy: PolicyInput = {
        models: {
          Doc: {
            table: 'rv_lit',
            fields: { id: 'allow', tenant_id: 'allow', code: 'allow', flag: 'allow', rank: 'allow' },
            scoping: { tenant_id: 'principal.tenantId' },
            rowPolicies: [{ name: 'v', condition }],
          },
        },
      }
      const role = db().appRole
      toolsets.push(
        await createToolset({
          db: shared,
          policy: definePolicy(policy),
          secret: TEST_SECRET,
          ...(role === undefined ? {} : { role }),
        }),
      )
    }
  })

  it('each toolset reads its own policy’s rows, for every filter, in either order', async () => {
    const oracle = async (condition: string, where: Where | undefined): Promise<number[]> => {
      const filter =
        where === undefined
          ? sql`true`
          : where.op === 'in'
            ? sql`${sql.ref(where.field)} = any(${where.value})`
            : sql`${sql.ref(where.field)} = ${where.value}`
      const { rows } = await sql<{ id: number }>`select id from rv_lit where tenant_id = 1
        and (${sql.raw(condition)}) and ${filter} order by id`.execute(db().admin)
      return rows.map((r) => r.id)
    }
    const expected: number[][][] = []
    for (const [, condition] of VARIANTS) {
      const perWhere: number[][] = []
      for (const where of WHERES) perWhere.push(await oracle(condition, where))
      expected.push(perWhere)
    }
    const indices = VARIANTS.map((_, i) => i)
    for (const order of [indices, [...indices].reverse()]) {
      for (let w = 0; w < WHERES.length; w++) {
        const where = WHERES[w]
        for (const i of order) {
          const t = toolsets[i] as Toolset
          const q = await t.query(as, {
            model: 'Doc',
            select: ['id'],
            orderBy: [{ field: 'id', direction: 'asc' }],
            ...(where === undefined ? {} : { where }),
          })
          const got = q.rows.map((r) => r['id'])
          const want = expected[i]?.[w]
          expect({ policy: VARIANTS[i]?.[0], where, got }).toEqual({
            policy: VARIANTS[i]?.[0],
            where,
            got: want,
          })
          const count = await t.call(as, 'db_aggregate', {
            model: 'Doc',
            op: 'count',
            ...(where === undefined ? {} : { where }),
          })
          expect({
            policy: VARIANTS[i]?.[0],
            where,
            count: count.ok ? count.data : count.error.code,
          }).toMatchObject({
            policy: VARIANTS[i]?.[0],
            where,
            count: { value: want?.length },
          })
        }
      }
      for (const i of order) {
        const t = toolsets[i] as Toolset
        for (const id of [1, 3, 4, 6]) {
          const r = await t.call(as, 'db_get', { model: 'Doc', id })
          const visible = expected[i]?.[0]?.includes(id) ?? false
          expect({ policy: VARIANTS[i]?.[0], id, ok: r.ok }).toEqual({
            policy: VARIANTS[i]?.[0],
            id,
            ok: visible,
          })
        }
      }
    }
  })
})
