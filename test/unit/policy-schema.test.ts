import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { parse as parseYaml } from 'yaml'
import { isTesseraError, type TesseraError } from '../../src/errors/index.ts'
import {
  PolicyBuilder,
  definePolicy,
  loadPolicyFile,
  profiles,
  type PolicyInput,
} from '../../src/policy/index.ts'
import type { ColumnInfo, DbSchema, TableInfo } from '../../src/schema/types.ts'

const tmp = mkdtempSync(join(tmpdir(), 'tessera-policy-'))
afterAll(() => rmSync(tmp, { recursive: true, force: true }))

function orderModel(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { table: 'orders', scoping: { tenant_id: 'principal.tenantId' }, fields: { id: 'allow' }, ...extra }
}

function policyError(run: () => unknown): TesseraError {
  try {
    run()
  } catch (error) {
    if (isTesseraError(error)) return error
    throw error
  }
  throw new Error('expected POLICY_INVALID, but the policy was accepted')
}

async function policyErrorAsync(run: () => Promise<unknown>): Promise<TesseraError> {
  try {
    await run()
  } catch (error) {
    if (isTesseraError(error)) return error
    throw error
  }
  throw new Error('expected POLICY_INVALID, but the policy was accepted')
}

function problems(error: TesseraError): { path: string; message: string }[] {
  expect(error.code).toBe('POLICY_INVALID')
  return error.details['problems'] as { path: string; message: string }[]
}

function define(input: unknown): ReturnType<typeof definePolicy> {
  return definePolicy(input as PolicyInput)
}

describe('definePolicy: unknown keys', () => {
  const cases: [string, Record<string, unknown>, string][] = [
    ['a misspelt top-level key', { defualts: {}, models: { Order: orderModel() } }, 'defualts'],
    ['a misspelt model key', { models: { Order: orderModel({ scopng: {} }) } }, 'models.Order.scopng'],
    [
      'rowPolicy for rowPolicies',
      { models: { Order: orderModel({ rowPolicy: [] }) } },
      'models.Order.rowPolicy',
    ],
    [
      'a misspelt row policy key',
      {
        models: {
          Order: orderModel({ rowPolicies: [{ name: 'a', condition: 'id IS NOT NULL', bypas: true }] }),
        },
      },
      'models.Order.rowPolicies[0].bypas',
    ],
    [
      'a misspelt write key',
      { models: { Order: orderModel({ write: { create: 'allow', autoset: {} } }) } },
      'models.Order.write.autoset',
    ],
    [
      'a misspelt soft-delete key',
      { models: { Order: orderModel({ write: { softDelete: { column: 'deleted_at' } } }) } },
      'models.Order.write.softDelete.column',
    ],
    [
      'a misspelt model budget key',
      { models: { Order: orderModel({ budget: { maxRow: 5 } }) } },
      'models.Order.budget.maxRow',
    ],
    [
      'a misspelt default budget key',
      { defaults: { budget: { maxrows: 5 } }, models: { Order: orderModel() } },
      'defaults.budget.maxrows',
    ],
    [
      'a misspelt key in the object form of a field rule',
      { models: { Order: orderModel({ fields: { email: { action: 'mask', patern: '{last4}' } } }) } },
      'models.Order.fields.email.patern',
    ],
    [
      'a misspelt relation key',
      { models: { Order: orderModel({ relations: { customer: { model: 'Order', foreignkey: 'x' } } }) } },
      'models.Order.relations.customer.foreignkey',
    ],
    [
      'a misspelt aggregations key',
      { models: { Order: orderModel({ aggregations: { groupby: ['status'] } }) } },
      'models.Order.aggregations.groupby',
    ],
  ]
  for (const [what, input, path] of cases) {
    it(`rejects ${what}, naming the exact path ${path}`, () => {
      const found = problems(policyError(() => define(input)))
      expect(found.map((p) => p.path)).toContain(path)
      expect(found.find((p) => p.path === path)?.message).toMatch(/^unknown key '/)
    })
  }

  it('suggests the closest known key', () => {
    const found = problems(policyError(() => define({ models: { Order: orderModel({ scopng: {} }) } })))
    expect(found).toContainEqual({
      path: 'models.Order.scopng',
      message: "unknown key 'scopng' (did you mean 'scoping'?)",
    })
  })

  it('reports a bad field action as an invalid option rather than a generic union failure', () => {
    const found = problems(
      policyError(() => define({ models: { Order: orderModel({ fields: { id: 'show' } }) } })),
    )
    expect(found).toEqual([{ path: 'models.Order.fields.id', message: expect.stringContaining('"allow"') }])
  })

  it('reports a missing table as required', () => {
    const found = problems(
      policyError(() => define({ models: { Order: { scoping: { tenant_id: 'principal.tenantId' } } } })),
    )
    expect(found).toEqual([{ path: 'models.Order.table', message: 'required (expected string)' }])
  })
})

describe('definePolicy: tenant scoping is mandatory', () => {
  it('rejects a model without scoping, permissive rule or shared', () => {
    const found = problems(policyError(() => define({ models: { Order: { table: 'orders' } } })))
    expect(found).toEqual([
      {
        path: 'models.Order',
        message:
          'model has no tenant scoping: add scoping, a row policy with mode: permissive, or shared: true',
      },
    ])
  })

  it('does not count a restrictive rule or a bypass rule as scoping', () => {
    const input = {
      models: {
        Order: {
          table: 'orders',
          rowPolicies: [
            { name: 'guard', condition: 'tenant_id IS NOT NULL', mode: 'restrictive' },
            { name: 'admin', condition: "'super_admin' IN principal.roles", bypass: true },
          ],
        },
      },
    }
    expect(problems(policyError(() => define(input))).map((p) => p.path)).toEqual(['models.Order'])
  })

  it('treats an empty scoping object as no scoping', () => {
    const found = problems(policyError(() => define({ models: { Order: { table: 'orders', scoping: {} } } })))
    expect(found.map((p) => p.path)).toEqual(['models.Order'])
  })

  it('accepts a model marked shared: true', () => {
    const policy = define({ models: { Country: { table: 'countries', shared: true } } })
    expect(policy.models['Country']?.shared).toBe(true)
    expect(policy.models['Country']?.scoping).toEqual([])
  })

  it('accepts a model scoped only by a permissive row policy', () => {
    const policy = define({
      models: {
        Customer: {
          table: 'customers',
          rowPolicies: [
            {
              name: 'public_or_own',
              condition: 'is_public = true OR tenant_id = principal.tenantId',
              mode: 'permissive',
            },
          ],
        },
      },
    })
    expect(policy.models['Customer']?.rowPolicies[0]?.mode).toBe('permissive')
  })

  it('rejects shared together with scoping', () => {
    const found = problems(policyError(() => define({ models: { Order: orderModel({ shared: true }) } })))
    expect(found).toEqual([
      { path: 'models.Order.shared', message: expect.stringContaining('cannot also have scoping') },
    ])
  })

  it('rejects a permissive rule on a shared model', () => {
    const input = {
      models: {
        Country: {
          table: 'countries',
          shared: true,
          rowPolicies: [{ name: 'eu', condition: "code = 'DE'", mode: 'permissive' }],
        },
      },
    }
    expect(problems(policyError(() => define(input))).map((p) => p.path)).toEqual([
      'models.Country.rowPolicies[0].mode',
    ])
  })

  it('rejects a permissive rule that mentions no row field unless it is declared as a bypass', () => {
    const input = {
      models: {
        Order: orderModel({
          rowPolicies: [{ name: 'admins', condition: "'admin' IN principal.roles", mode: 'permissive' }],
        }),
      },
    }
    const found = problems(policyError(() => define(input)))
    expect(found).toEqual([
      { path: 'models.Order.rowPolicies[0].condition', message: expect.stringContaining('bypass: true') },
    ])
  })

  it('rejects a policy with no models', () => {
    expect(problems(policyError(() => define({ models: {} })))).toEqual([
      { path: 'models', message: 'a policy needs at least one model' },
    ])
  })
})

describe('definePolicy: every problem at once', () => {
  it('lists all three mistakes of a policy with three mistakes', () => {
    const input = {
      models: {
        Order: orderModel({ scopng: {} }),
        Invoice: { table: 'invoices' },
        Customer: {
          table: 'customers',
          scoping: { tenant_id: 'principal.tenantId' },
          rowPolicies: [{ name: 'broken', condition: 'tenant_id = = 1' }],
        },
      },
    }
    const found = problems(policyError(() => define(input)))
    expect(found.map((p) => p.path).sort()).toEqual([
      'models.Customer.rowPolicies[0].condition',
      'models.Invoice',
      'models.Order.scopng',
    ])
  })

  it('names every problem in the error message', () => {
    const error = policyError(() => define({ models: { A: { table: 'a' }, B: { table: 'b' } } }))
    expect(error.message).toContain('models.A: model has no tenant scoping')
    expect(error.message).toContain('models.B: model has no tenant scoping')
  })
})

describe('definePolicy: row policies', () => {
  it('rejects a bypass condition that mentions a row field', () => {
    const input = {
      models: {
        Order: orderModel({
          rowPolicies: [
            { name: 'admin', condition: "'admin' IN principal.roles OR tenant_id IS NULL", bypass: true },
          ],
        }),
      },
    }
    expect(problems(policyError(() => define(input)))).toEqual([
      {
        path: 'models.Order.rowPolicies[0].condition',
        message:
          "bypass rule 'admin' may test only the principal, but its condition mentions row field(s) tenant_id",
      },
    ])
  })

  it('rejects a restrictive bypass rule', () => {
    const input = {
      models: {
        Order: orderModel({
          rowPolicies: [
            { name: 'admin', condition: "'admin' IN principal.roles", bypass: true, mode: 'restrictive' },
          ],
        }),
      },
    }
    expect(problems(policyError(() => define(input))).map((p) => p.path)).toEqual([
      'models.Order.rowPolicies[0].mode',
    ])
  })

  it('reports a condition syntax error with the policy name and the position', () => {
    const input = {
      models: {
        Order: orderModel({
          rowPolicies: [{ name: 'tenant_guard', condition: 'tenant_id IS NOT', mode: 'restrictive' }],
        }),
      },
    }
    const [problem] = problems(policyError(() => define(input)))
    expect(problem?.path).toBe('models.Order.rowPolicies[0].condition')
    expect(problem?.message).toMatch(/^row policy 'tenant_guard': .+ at position 16$/)
  })

  it('rejects two row policies with the same name', () => {
    const rule = { name: 'guard', condition: 'tenant_id IS NOT NULL', mode: 'restrictive' }
    const found = problems(
      policyError(() => define({ models: { Order: orderModel({ rowPolicies: [rule, rule] }) } })),
    )
    expect(found).toEqual([
      { path: 'models.Order.rowPolicies[1].name', message: "duplicate row policy name 'guard'" },
    ])
  })

  it('parses conditions once into frozen ASTs', () => {
    const policy = define({
      models: {
        Order: orderModel({
          rowPolicies: [{ name: 'guard', condition: 'tenant_id IS NOT NULL', mode: 'restrictive' }],
        }),
      },
    })
    const rule = policy.models['Order']?.rowPolicies[0]
    expect(rule).toEqual({
      name: 'guard',
      mode: 'restrictive',
      bypass: false,
      crossTenant: false,
      source: 'tenant_id IS NOT NULL',
      condition: { kind: 'is_null', negated: true, operand: { kind: 'field', name: 'tenant_id' } },
    })
    expect(Object.isFrozen(rule?.condition)).toBe(true)
  })
})

describe('definePolicy: other checks that need no database', () => {
  it('rejects an unknown principal path in scoping and in autoSet', () => {
    const input = {
      models: {
        Order: {
          table: 'orders',
          scoping: { tenant_id: 'principal.tenant' },
          write: { autoSet: { created_by: 'principal.metadata' } },
        },
      },
    }
    expect(problems(policyError(() => define(input))).map((p) => p.path)).toEqual([
      'models.Order.scoping.tenant_id',
      'models.Order.write.autoSet.created_by',
    ])
  })

  it('rejects scoping on the list-valued principal.roles', () => {
    const found = problems(
      policyError(() =>
        define({ models: { Order: { table: 'orders', scoping: { role: 'principal.roles' } } } }),
      ),
    )
    expect(found).toEqual([
      { path: 'models.Order.scoping.role', message: expect.stringContaining('is a list') },
    ])
  })

  it('rejects a relation to a model that is not in the policy', () => {
    const input = { models: { Order: orderModel({ relations: { customer: { model: 'Customer' } } }) } }
    expect(problems(policyError(() => define(input)))).toEqual([
      {
        path: 'models.Order.relations.customer.model',
        message: "relation target 'Customer' is not a model of this policy",
      },
    ])
  })

  it('rejects a mask pattern on a rule that does not mask, and unknown placeholders', () => {
    const input = {
      models: {
        Order: orderModel({
          fields: {
            card: { action: 'allow', pattern: '****{last4}' },
            code: { action: 'mask', pattern: '{middle2}' },
          },
        }),
      },
    }
    expect(problems(policyError(() => define(input)))).toEqual([
      {
        path: 'models.Order.fields.card.pattern',
        message: "pattern is only valid with action 'mask' (field 'card')",
      },
      { path: 'models.Order.fields.code.pattern', message: expect.stringContaining("'{middle2}'") },
    ])
  })

  it('rejects a soft-delete field that is also autoSet', () => {
    const input = {
      models: {
        Order: orderModel({
          write: { autoSet: { deleted_at: 'now()' }, softDelete: { field: 'deleted_at' } },
        }),
      },
    }
    expect(problems(policyError(() => define(input))).map((p) => p.path)).toEqual([
      'models.Order.write.softDelete.field',
    ])
  })

  it('rejects a required field that the server sets itself', () => {
    const input = {
      models: {
        Order: orderModel({
          write: { autoSet: { tenant_id: 'principal.tenantId' }, requiredFields: ['status', 'tenant_id'] },
        }),
      },
    }
    expect(problems(policyError(() => define(input))).map((p) => p.path)).toEqual([
      'models.Order.write.requiredFields[1]',
    ])
  })

  it('rejects allowHardDelete without softDelete', () => {
    const input = { models: { Order: orderModel({ write: { delete: 'allow', allowHardDelete: true } }) } }
    expect(problems(policyError(() => define(input))).map((p) => p.path)).toEqual([
      'models.Order.write.allowHardDelete',
    ])
  })
})

describe('definePolicy: prototype pollution', () => {
  it('rejects a __proto__ key parsed from JSON', () => {
    const input: unknown = JSON.parse(
      '{"models":{"Order":{"table":"orders","scoping":{"tenant_id":"principal.tenantId"},"fields":{"__proto__":{"polluted":"yes"}}}}}',
    )
    const found = problems(policyError(() => define(input)))
    expect(found).toContainEqual({
      path: 'models.Order.fields.__proto__',
      message: "key '__proto__' is not allowed",
    })
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined()
  })

  it('rejects constructor and prototype keys', () => {
    const input = {
      models: {
        Order: orderModel({ fields: { constructor: 'allow' } }),
        prototype: { table: 'x', shared: true },
      },
    }
    const paths = problems(policyError(() => define(input))).map((p) => p.path)
    expect(paths).toContain('models.Order.fields.constructor')
    expect(paths).toContain('models.prototype')
  })

  it('rejects an object literal whose prototype was replaced with __proto__', () => {
    const input = { models: { __proto__: { Order: orderModel() } } }
    expect(problems(policyError(() => define(input)))).toContainEqual({
      path: 'models',
      message: expect.stringContaining('__proto__'),
    })
  })
})

describe('definePolicy: normalised output', () => {
  it('applies the PROD profile by default and merges budgets profile → defaults → model', () => {
    const policy = define({
      defaults: { budget: { maxRows: 50, statementTimeoutMs: 1000 } },
      models: {
        Order: orderModel({ budget: { maxRows: 10 } }),
        Country: { table: 'countries', shared: true },
      },
    })
    expect(policy.profile).toBe('PROD')
    expect(policy.defaults.budget).toEqual({ ...profiles.PROD.budget, maxRows: 50, statementTimeoutMs: 1000 })
    expect(policy.models['Order']?.budget).toEqual({
      ...profiles.PROD.budget,
      maxRows: 10,
      statementTimeoutMs: 1000,
    })
    expect(policy.models['Country']?.budget).toEqual(policy.defaults.budget)
  })

  it('takes budgets from the chosen profile', () => {
    const policy = define({ profile: 'DEV', models: { Order: orderModel() } })
    expect(policy.models['Order']?.budget.broadQueryGuard).toBe(false)
    expect(policy.models['Order']?.budget.maxIncludeDepth).toBe(4)
    expect(policy.defaults.fieldAction).toBe('deny')
  })

  it('denies every write and caps affected rows at 25 unless the policy says otherwise', () => {
    const write = define({ models: { Order: orderModel() } }).models['Order']?.write
    expect(write).toEqual({
      create: 'deny',
      update: 'deny',
      delete: 'deny',
      autoSet: {},
      immutableFields: [],
      requiredFields: [],
      requireReason: false,
      reasonMinCharacters: 3,
      maxAffectedRows: 25,
      softDelete: null,
      allowHardDelete: false,
    })
  })

  it('normalises field rules, autoSet values, foreign keys and the default field action', () => {
    const policy = define({
      defaults: { fieldAction: 'allow' },
      models: {
        Order: orderModel({
          defaultFieldAction: 'mask',
          fields: { id: 'allow', card: { action: 'mask', pattern: '****{last4}' }, ssn: 'hash' },
          relations: { customer: { model: 'Order', foreignKey: 'customer_id' } },
          write: {
            create: 'allow',
            autoSet: {
              tenant_id: 'principal.tenant_id',
              org_id: 'principal.metadata.orgId',
              created_at: 'now()',
            },
          },
        }),
        Country: { table: 'countries', shared: true },
      },
    })
    const order = policy.models['Order']
    expect(order?.fields).toEqual({
      id: { action: 'allow' },
      card: { action: 'mask', pattern: '****{last4}' },
      ssn: { action: 'hash' },
    })
    expect(order?.defaultFieldAction).toBe('mask')
    expect(policy.models['Country']?.defaultFieldAction).toBe('allow')
    expect(order?.relations).toEqual({ customer: { model: 'Order', foreignKey: ['customer_id'] } })
    expect(order?.scoping).toEqual([
      { column: 'tenant_id', path: ['tenantId'], source: 'principal.tenantId' },
    ])
    expect(order?.write.autoSet).toEqual({
      tenant_id: { kind: 'principal', path: ['tenantId'] },
      org_id: { kind: 'principal', path: ['metadata', 'orgId'] },
      created_at: { kind: 'now' },
    })
  })

  it('returns a deeply frozen policy', () => {
    const policy = define({ models: { Order: orderModel({ write: { immutableFields: ['tenant_id'] } }) } })
    expect(Object.isFrozen(policy)).toBe(true)
    expect(Object.isFrozen(policy.models['Order']?.write.immutableFields)).toBe(true)
    expect(Object.isFrozen(policy.source)).toBe(true)
    expect(Object.isFrozen(policy.defaults.budget)).toBe(true)
  })

  it('does not keep a reference to the caller input', () => {
    const input = { models: { Order: orderModel() } }
    const policy = define(input)
    ;(input.models.Order['fields'] as Record<string, string>)['secret'] = 'allow'
    expect(policy.models['Order']?.fields).toEqual({ id: { action: 'allow' } })
  })
})

describe('definePolicy: version hash', () => {
  it('is the same whatever the key order of the input', () => {
    const a = define({
      profile: 'PROD',
      models: {
        Order: {
          table: 'orders',
          scoping: { tenant_id: 'principal.tenantId' },
          fields: { id: 'allow', status: 'allow' },
        },
      },
    })
    const b = define({
      models: {
        Order: {
          fields: { status: 'allow', id: 'allow' },
          scoping: { tenant_id: 'principal.tenantId' },
          table: 'orders',
        },
      },
      profile: 'PROD',
    })
    expect(a.versionHash).toMatch(/^[0-9a-f]{64}$/)
    expect(b.versionHash).toBe(a.versionHash)
  })

  it('changes when the policy changes', () => {
    const a = define({ models: { Order: orderModel() } })
    const b = define({ models: { Order: orderModel({ fields: { id: 'allow', status: 'allow' } }) } })
    expect(b.versionHash).not.toBe(a.versionHash)
  })

  it('ignores the $schema editor hint', () => {
    const a = define({ models: { Order: orderModel() } })
    const b = define({ $schema: './policy.schema.json', models: { Order: orderModel() } })
    expect(b.versionHash).toBe(a.versionHash)
    expect(b).toEqual(a)
  })
})

describe('loadPolicyFile', () => {
  const demoPath = 'policies/demo.yaml'

  it('loads YAML and JSON files to the same Policy as definePolicy on the same object', async () => {
    const object: unknown = parseYaml(readFileSync(demoPath, 'utf8'))
    const jsonPath = join(tmp, 'demo.json')
    writeFileSync(jsonPath, JSON.stringify(object, null, 2))
    const fromYaml = await loadPolicyFile(demoPath)
    const fromJson = await loadPolicyFile(jsonPath)
    const fromObject = define(object)
    expect(fromYaml).toEqual(fromObject)
    expect(fromJson).toEqual(fromObject)
    expect(fromYaml.versionHash).toBe(fromObject.versionHash)
  })

  it('names the file and the key path in the error', async () => {
    const file = join(tmp, 'typo.yaml')
    writeFileSync(
      file,
      'models:\n  Order:\n    table: orders\n    scopng: { tenant_id: principal.tenantId }\n',
    )
    const error = await policyErrorAsync(() => loadPolicyFile(file))
    expect(error.message).toContain(file)
    expect(problems(error).map((p) => p.path)).toEqual(['models.Order.scopng'])
  })

  it('rejects duplicate keys in YAML and in JSON', async () => {
    const yamlFile = join(tmp, 'dup.yaml')
    writeFileSync(yamlFile, 'models:\n  Order:\n    table: orders\n    table: invoices\n    shared: true\n')
    const jsonFile = join(tmp, 'dup.json')
    writeFileSync(jsonFile, '{"models":{"Order":{"table":"orders","table":"invoices","shared":true}}}')
    for (const file of [yamlFile, jsonFile]) {
      const found = problems(await policyErrorAsync(() => loadPolicyFile(file)))
      expect(found[0]?.message).toMatch(/unique/i)
    }
  })

  it('rejects custom and language-specific YAML tags', async () => {
    for (const [name, text] of [
      ['custom.yaml', 'models:\n  Order: !include order.yaml\n'],
      ['binary.yaml', 'models:\n  Order:\n    table: !!binary aGVsbG8=\n    shared: true\n'],
      ['js.yaml', 'models:\n  Order:\n    table: !!js/function "function () {}"\n    shared: true\n'],
    ] as const) {
      const file = join(tmp, name)
      writeFileSync(file, text)
      const found = problems(await policyErrorAsync(() => loadPolicyFile(file)))
      expect(found.length).toBeGreaterThan(0)
      expect(found[0]?.path).toBe('(document)')
    }
  })

  it('rejects YAML merge keys instead of merging', async () => {
    const file = join(tmp, 'merge.yaml')
    writeFileSync(file, 'base: &base { table: orders, shared: true }\nmodels:\n  Order:\n    <<: *base\n')
    const paths = problems(await policyErrorAsync(() => loadPolicyFile(file))).map((p) => p.path)
    expect(paths).toContain('base')
    expect(paths).toContain('models.Order["<<"]')
  })

  it('rejects malformed JSON, unsupported extensions and missing files with POLICY_INVALID', async () => {
    const bad = join(tmp, 'bad.json')
    writeFileSync(bad, '{"models": ')
    const txt = join(tmp, 'policy.txt')
    writeFileSync(txt, 'models: {}')
    for (const file of [bad, txt, join(tmp, 'missing.yaml')]) {
      const error = await policyErrorAsync(() => loadPolicyFile(file))
      expect(error.code).toBe('POLICY_INVALID')
      expect(error.message).toContain(file)
    }
  })
})

function column(name: string, ordinal: number): ColumnInfo {
  return {
    name,
    dataType: 'text',
    udtName: 'text',
    typeClass: 'string',
    nullable: true,
    hasDefault: false,
    defaultExpression: null,
    generated: false,
    ordinal,
  }
}

function table(name: string, columns: string[]): TableInfo {
  return {
    schema: 'public',
    name,
    key: name,
    columns: columns.map((c, i) => column(c, i + 1)),
    primaryKey: [columns[0] ?? 'id'],
    foreignKeys: [],
    indexes: [],
    uniqueKeys: [],
    estimatedRows: 0,
    rlsEnabled: false,
    rlsForced: false,
    cascadingReferences: [],
  }
}

describe('PolicyBuilder', () => {
  it('builds the same Policy as the equivalent hand-written input', () => {
    const built = new PolicyBuilder({ profile: 'PROD' })
      .model('Order', { table: 'orders' })
      .model('Country', { table: 'countries' })
      .denyFields('*password*')
      .maskFields('*email*')
      .tenantScope('tenant_id', 'principal.tenantId')
      .shared('Country')
      .allowFields('Order', ['id', 'status', 'customer_email'])
      .allowFields('Country', ['code', 'name'])
      .rowPolicy('Order', { name: 'guard', condition: 'tenant_id IS NOT NULL', mode: 'restrictive' })
      .enableWrites('Order', { create: 'allow', update: 'allow', delete: 'approval' })
      .build()
    const handWritten = definePolicy({
      profile: 'PROD',
      models: {
        Order: {
          table: 'orders',
          scoping: { tenant_id: 'principal.tenantId' },
          fields: { id: 'allow', status: 'allow', customer_email: 'mask' },
          rowPolicies: [{ name: 'guard', condition: 'tenant_id IS NOT NULL', mode: 'restrictive' }],
          write: { create: 'allow', update: 'allow', delete: 'approval' },
        },
        Country: { table: 'countries', shared: true, fields: { code: 'allow', name: 'allow' } },
      },
    })
    expect(built).toEqual(handWritten)
    expect(built.versionHash).toBe(handWritten.versionHash)
  })

  it('expands globs against the schema columns, the most restrictive rule winning', () => {
    const schema: DbSchema = {
      tables: {
        users: table('users', ['id', 'tenant_id', 'name', 'Email', 'password_hash', 'api_token', 'ssn']),
        countries: table('countries', ['code', 'name']),
      },
    }
    const input = new PolicyBuilder()
      .model('User', { table: 'users' })
      .model('Country', { table: 'countries' })
      .denySensitiveDefaults()
      .maskPiiDefaults()
      .hashFields('ssn')
      .tenantScope('tenant_id', 'principal.tenantId')
      .allowFields('User', ['*'])
      .allowFields('Country', ['*'])
      .toInput(schema)
    expect(input.models['User']).toEqual({
      table: 'users',
      scoping: { tenant_id: 'principal.tenantId' },
      fields: {
        id: 'allow',
        tenant_id: 'allow',
        name: 'allow',
        Email: 'mask',
        password_hash: 'deny',
        api_token: 'deny',
        ssn: 'hash',
      },
    })
    // countries has no tenant_id column, so tenantScope leaves it alone (and it is not shared): build fails.
    expect(input.models['Country']?.scoping).toBeUndefined()
  })

  it('keeps rules written in a model’s own fields over globs', () => {
    const input = new PolicyBuilder()
      .model('User', { table: 'users', fields: { email: 'allow' } })
      .maskPiiDefaults()
      .tenantScope('tenant_id', 'principal.tenantId')
      .allowFields('User', ['id'])
      .toInput()
    expect(input.models['User']?.fields).toEqual({ email: 'allow', id: 'allow' })
  })

  it('scopes a model by its own column with scope()', () => {
    const policy = new PolicyBuilder()
      .model('Tenant', { table: 'tenants' })
      .scope('Tenant', 'id', 'principal.tenantId')
      .build()
    expect(policy.models['Tenant']?.scoping.map((s) => s.column)).toEqual(['id'])
  })

  it('rejects builder calls for models that were never registered', () => {
    const error = policyError(() =>
      new PolicyBuilder().model('Order', { table: 'orders' }).shared('Countri').toInput(),
    )
    expect(problems(error)).toEqual([
      { path: 'models.Countri', message: expect.stringContaining("model('Countri'") },
    ])
  })

  it('fails to build when a model ends up without scoping', () => {
    const error = policyError(() => new PolicyBuilder().model('Order', { table: 'orders' }).build())
    expect(problems(error).map((p) => p.path)).toEqual(['models.Order'])
  })
})

describe('profiles', () => {
  it('deny unlisted fields in every profile and widen budgets from PROD to DEV', () => {
    expect(profiles.PROD.fieldAction).toBe('deny')
    expect(profiles.INTERNAL.fieldAction).toBe('deny')
    expect(profiles.DEV.fieldAction).toBe('deny')
    expect(profiles.PROD.budget).toEqual({
      maxRows: 100,
      maxIncludeDepth: 2,
      maxSelectFields: 40,
      statementTimeoutMs: 5000,
      maxComplexity: 100,
      broadQueryGuard: true,
      broadQueryThreshold: 10000,
      maxInItems: 1000,
      maxFilters: 50,
      maxEstimatedCost: 1e6,
      maxResultRows: 25_000,
      maxResultBytes: 8 * 1_048_576,
      maxConcurrentPerTenant: 8,
    })
    expect(profiles.INTERNAL.budget).toMatchObject({
      maxRows: 1000,
      maxIncludeDepth: 3,
      maxComplexity: 300,
      statementTimeoutMs: 15000,
      broadQueryGuard: true,
      maxResultBytes: 32 * 1_048_576,
    })
    expect(profiles.DEV.budget).toMatchObject({
      maxRows: 1000,
      maxIncludeDepth: 4,
      maxComplexity: 1000,
      statementTimeoutMs: 30000,
      broadQueryGuard: false,
      maxResultBytes: 64 * 1_048_576,
    })
  })
})
