import {
  DummyDriver,
  Kysely,
  PostgresAdapter,
  PostgresIntrospector,
  PostgresQueryCompiler,
  sql,
} from 'kysely'
import { describe, expect, it } from 'vitest'
import type { Principal } from '../../src/context/index.ts'
import { isTesseraError } from '../../src/errors/index.ts'
import { conditionPredicate } from '../../src/sql/print-condition.ts'
import { bindConditionToPrincipal } from '../../src/planner/bind-principal-values.ts'
import { parseCondition } from '../../src/policy/condition/parse-condition.ts'

const db = new Kysely<any>({
  dialect: {
    createAdapter: () => new PostgresAdapter(),
    createDriver: () => new DummyDriver(),
    createIntrospector: (k) => new PostgresIntrospector(k),
    createQueryCompiler: () => new PostgresQueryCompiler(),
  },
})

const alice: Principal = {
  tenantId: "t'1; drop table x; --",
  userId: 'u1',
  roles: ['member'],
  metadata: { tenantHierarchy: ['t1', 't2'], orgId: 'o1' },
}

function compiled(
  text: string,
  principal: Principal = alice,
): { sql: string; parameters: readonly unknown[] } {
  const where = conditionPredicate(bindConditionToPrincipal(parseCondition(text), null, principal), {
    column: (f) => sql.ref(`t0.${f}`),
  })
  const query = db.selectFrom('orders as t0').select('t0.id').where(where).compile()
  return {
    sql: query.sql.replace('select "t0"."id" from "orders" as "t0" where ', ''),
    parameters: query.parameters,
  }
}

function errorCode(fn: () => unknown): string | undefined {
  try {
    fn()
  } catch (error) {
    return isTesseraError(error) ? error.code : 'not a TesseraError'
  }
  return undefined
}

describe('conditionPredicate', () => {
  it('binds principal values and literals as parameters, never as SQL text', () => {
    const out = compiled("tenant_id = principal.tenantId AND status != 'it''s' AND total >= -2.5")
    expect(out.sql).toBe('(("t0"."tenant_id" = $1) and ("t0"."status" <> $2) and ("t0"."total" >= $3))')
    expect(out.parameters).toEqual(["t'1; drop table x; --", "it's", -2.5])
  })

  it('sends a principal list as one array parameter with = ANY and <> ALL', () => {
    expect(compiled('tenant_id IN principal.metadata.tenantHierarchy')).toEqual({
      sql: '("t0"."tenant_id" = any($1))',
      parameters: [['t1', 't2']],
    })
    expect(compiled('tenant_id NOT IN principal.metadata.tenantHierarchy')).toEqual({
      sql: '("t0"."tenant_id" <> all($1))',
      parameters: [['t1', 't2']],
    })
  })

  it('sends a literal list as one array parameter, principal values included', () => {
    expect(compiled("status IN ('open', principal.userId, null)")).toEqual({
      sql: '("t0"."status" = any($1))',
      parameters: [['open', 'u1', null]],
    })
  })

  it('expands a list that holds fields into comparisons', () => {
    expect(compiled("principal.userId NOT IN (owner_id, 'u2', manager_id)")).toEqual({
      sql: '(($1 <> "t0"."owner_id") and ($2 <> "t0"."manager_id"))',
      parameters: ['u1', 'u1'],
    })
  })

  it('uses = ANY over an array field', () => {
    expect(compiled("'vip' IN tags")).toEqual({ sql: '($1 = any("t0"."tags"))', parameters: ['vip'] })
  })

  it('decides parts that mention no field at compile time', () => {
    const admin: Principal = { tenantId: 't1', roles: ['super_admin'] }
    expect(compiled("'super_admin' IN principal.roles OR tenant_id = principal.tenantId", admin)).toEqual({
      sql: 'true',
      parameters: [],
    })
    expect(compiled("'super_admin' IN principal.roles AND tenant_id = principal.tenantId", alice)).toEqual({
      sql: 'false',
      parameters: [],
    })
    expect(compiled('principal.userId IS NULL OR owner_id = principal.userId')).toEqual({
      sql: '("t0"."owner_id" = $1)',
      parameters: ['u1'],
    })
    expect(compiled('1 = 1 AND x IS NOT NULL')).toEqual({ sql: '("t0"."x" is not null)', parameters: [] })
  })

  it('keeps NULL constants where three-valued logic needs them', () => {
    expect(compiled('x = null OR y IS NULL')).toEqual({
      sql: '(("t0"."y" is null) or null::boolean)',
      parameters: [],
    })
    expect(compiled('NOT (x = null)')).toEqual({ sql: 'null::boolean', parameters: [] })
    expect(compiled('NOT (a = 1 OR b = 2)').sql).toBe('(not ((("t0"."a" = $1) or ("t0"."b" = $2))))')
  })

  it('throws TENANT_SCOPE_REQUIRED for a principal path that does not resolve, even in a part that is decided', () => {
    const anonymous: Principal = { tenantId: 't1' }
    expect(errorCode(() => compiled('owner_id = principal.userId', anonymous))).toBe('TENANT_SCOPE_REQUIRED')
    expect(errorCode(() => compiled('FALSE AND owner_id = principal.userId', anonymous))).toBe(
      'TENANT_SCOPE_REQUIRED',
    )
    expect(errorCode(() => compiled("'x' IN principal.roles OR a = 1", anonymous))).toBe(
      'TENANT_SCOPE_REQUIRED',
    )
  })

  it('throws TENANT_SCOPE_REQUIRED when IN names a principal value that is not a list', () => {
    expect(errorCode(() => compiled('tenant_id IN principal.metadata.orgId'))).toBe('TENANT_SCOPE_REQUIRED')
    expect(errorCode(() => compiled('tenant_id = principal.metadata.tenantHierarchy'))).toBe(
      'TENANT_SCOPE_REQUIRED',
    )
  })
})
