/**
 * The tool registry (src/tools/tool-registry.ts) is the one source of the tools: tools(ctx) lists exactly the
 * records whose narrowed input exists for the principal, each JSON Schema is z.toJSONSchema of that narrowed
 * zod input (and of the record's zod output), a narrowed input accepts only what the wire format accepts, a
 * principal or policy without a model or field never sees its name, `select` and friends never mix models,
 * and the audit record of a call carries the record's name and action.
 */
import fc from 'fast-check'
import { beforeAll, expect, it } from 'vitest'
import { z } from 'zod'
import type { Principal } from '../../src/context/index.ts'
import type { PolicyInput } from '../../src/policy/policy-schema.ts'
import { TOOL_RECORDS, TOOLS, toolView, type ToolDefinition } from '../../src/tools/index.ts'
import { describeEachDatabase } from '../support/databases.ts'
import { ALICE, as, TENANT_A } from '../support/saas.ts'
import { propertyFor } from '../support/tool-schema.ts'
import { type ToolsetHarness, toolsetFor } from '../support/toolset.ts'
import { scopedOrder } from '../support/scoped-order.ts'

const policy: PolicyInput = {
  models: {
    Order: scopedOrder(
      { id: 'allow', status: 'allow', total: 'allow', customer_id: 'allow', created_at: 'allow' },
      {
        relations: { customer: { model: 'Customer' } },
        aggregations: { fields: ['total'], groupBy: ['status'] },
        write: { create: 'allow', update: 'allow', autoSet: { tenant_id: 'principal.tenantId' } },
      },
    ),
    Customer: {
      table: 'customers',
      fields: { id: 'allow', name: 'allow', email: 'mask', ssn: 'deny', is_public: 'allow' },
      scoping: { tenant_id: 'principal.tenantId', org_id: 'principal.metadata.orgId' },
      relations: { orders: { model: 'Order' } },
      write: { update: 'approval' },
    },
  },
}

/** The same policy where Order.total is denied. */
const withoutTotal: PolicyInput = {
  models: {
    ...policy.models,
    Order: {
      ...policy.models['Order']!,
      fields: { id: 'allow', status: 'allow', total: 'deny', customer_id: 'allow', created_at: 'allow' },
      aggregations: { fields: [], groupBy: ['status'] },
    },
  },
}

/** Cannot use Customer: its scope needs principal.metadata.orgId. */
const NO_ORG: Principal = { tenantId: TENANT_A, userId: ALICE.userId!, roles: ['member'] }

function jsonSchemaOf(schema: z.ZodType, io: 'input' | 'output'): Record<string, unknown> {
  const { $schema: _drop, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: 'throw' }) as Record<
    string,
    unknown
  >
  return rest
}

describeEachDatabase('one tool registry', (db) => {
  let h: ToolsetHarness
  let narrowH: ToolsetHarness
  beforeAll(async () => {
    h = await toolsetFor(db(), policy)
    narrowH = await toolsetFor(db(), withoutTotal)
  })

  const cases = (): [string, ToolsetHarness, Principal][] => [
    ['ALICE, full policy', h, ALICE],
    ['a principal without Customer, full policy', h, NO_ORG],
    ['ALICE, a policy denying Order.total', narrowH, ALICE],
    ['a principal without Customer, a policy denying Order.total', narrowH, NO_ORG],
  ]

  it('lists for each principal and policy every record whose narrowed input exists, its JSON Schemas z.toJSONSchema of the narrowed zod input and the zod output', () => {
    for (const [label, harness, principal] of cases()) {
      const defs = harness.toolset.tools(as(principal))
      const view = toolView(harness.toolset.bound, principal)
      const expected = TOOL_RECORDS.flatMap((record) => {
        const narrowed = record.narrow(view)
        return narrowed === null ? [] : [{ record, narrowed }]
      })
      expect(
        defs.map((d) => d.name),
        label,
      ).toEqual(expected.map((e) => e.record.name))
      for (const { record, narrowed } of expected) {
        const def = defs.find((d) => d.name === record.name) as ToolDefinition
        expect(def.inputSchema, `${label}: ${record.name}`).toEqual(jsonSchemaOf(narrowed.input, 'input'))
        expect(def.outputSchema, `${label}: ${record.name}`).toEqual(jsonSchemaOf(record.output, 'output'))
        expect(def.annotations).toEqual(record.annotations)
        expect(def.description).toBe(narrowed.description)
        // Anthropic's API refuses a top-level oneOf/anyOf/allOf; every client wants an object there.
        expect(def.inputSchema['type']).toBe('object')
        for (const k of ['oneOf', 'anyOf', 'allOf']) expect(def.inputSchema).not.toHaveProperty(k)
      }
    }
  })

  it('never names a model, relation or field the principal or policy does not allow', () => {
    const text = (harness: ToolsetHarness, principal: Principal): string =>
      JSON.stringify(harness.toolset.tools(as(principal)))
    for (const [label, harness, principal] of cases()) {
      const all = text(harness, principal)
      expect(all, label).not.toMatch(/\bssn\b|\btenant_id\b|\borg_id\b|\bdeleted_at\b/)
    }
    for (const harness of [h, narrowH]) {
      const noOrg = text(harness, NO_ORG)
      expect(noOrg).not.toContain('"Customer"')
      expect(noOrg).not.toMatch(/\bis_public\b|"customer"|"orders"/)
      expect(text(harness, ALICE)).toContain('"Customer"')
    }
    expect(text(narrowH, ALICE)).not.toMatch(/\btotal\b/)
    expect(text(narrowH, NO_ORG)).not.toMatch(/\btotal\b/)
    expect(text(h, ALICE)).toMatch(/\btotal\b/)
  })

  it("offers each model's own fields in select, orderBy and filters, never another model's", async () => {
    const defs = h.toolset.tools(as(ALICE))
    const query = defs.find((d) => d.name === 'db_query')
    const described = await h.toolset.describeSchema(as(ALICE))
    for (const model of ['Order', 'Customer']) {
      const fields = described.models[model]?.fields ?? {}
      const select = propertyFor(query, 'select', model) as { items: { enum: string[] } }
      expect(select.items.enum, model).toEqual(Object.keys(fields).sort())
      const where = JSON.stringify(propertyFor(query, 'where', model))
      for (const other of Object.keys(
        described.models['Order' === model ? 'Customer' : 'Order']?.fields ?? {},
      )) {
        if (!(other in fields)) expect(where, `${model} filter names ${other}`).not.toContain(`"${other}"`)
      }
    }
    // A masked field is readable but not filterable; pattern operators only on text fields.
    const customerWhere = JSON.stringify(propertyFor(query, 'where', 'Customer'))
    expect(customerWhere).not.toContain('"email"')
    const orderWhere = propertyFor(query, 'where', 'Order')
    expect(JSON.stringify(orderWhere)).toContain('"contains"')
    // Write tools list a model only with its own writable fields; Customer needs approval for update.
    const update = defs.find((d) => d.name === 'db_update')
    expect(update?.description).toContain('WRITE_APPROVAL_REQUIRED')
    expect(
      Object.keys((propertyFor(update, 'data', 'Customer') as { properties: object }).properties),
    ).toEqual(['is_public', 'name'])
    expect(defs.map((d) => d.name)).not.toContain('db_delete')
  })

  it('narrows to inputs the wire format accepts (a narrowed schema only ever takes names away)', () => {
    const view = toolView(h.toolset.bound, ALICE)
    const name = fc.constantFrom(
      'id',
      'status',
      'total',
      'name',
      'email',
      'ssn',
      'is_public',
      'customer_id',
      'x',
    )
    const comparison = fc.record({
      field: name,
      op: fc.constantFrom('eq', 'lt', 'in', 'is_null', 'contains', 'between', 'like'),
      value: fc.oneof(fc.constant('a'), fc.constant(1), fc.constant(['a', 'b']), fc.constant(true)),
    })
    const request = fc.record(
      {
        model: fc.constantFrom('Order', 'Customer', 'Nope'),
        select: fc.array(name, { maxLength: 3 }),
        where: fc.oneof(comparison, fc.record({ and: fc.array(comparison, { maxLength: 2 }) })),
        orderBy: fc.array(
          fc.oneof(name, fc.record({ field: name, direction: fc.constantFrom('asc', 'up') })),
        ),
        include: fc.dictionary(fc.constantFrom('customer', 'orders', 'x'), fc.constant(true as const), {
          maxKeys: 2,
        }),
        id: fc.constantFrom('a', 1),
        op: fc.constantFrom('count', 'sum', 'median'),
        field: name,
        groupBy: fc.array(name, { minLength: 1, maxLength: 2 }),
      },
      { requiredKeys: ['model'] },
    )
    let narrowedAccepted = 0
    for (const record of [TOOLS.query, TOOLS.get, TOOLS.aggregate, TOOLS.describeSchema]) {
      const narrowed = record.narrow(view)?.input as z.ZodType
      fc.assert(
        fc.property(request, (args) => {
          const subset = Object.fromEntries(
            Object.entries(args).filter(([k]) => k in (narrowed as z.ZodObject).shape),
          )
          if (narrowed.safeParse(subset).success) {
            narrowedAccepted += 1
            expect(record.input.safeParse(subset).success, JSON.stringify(subset)).toBe(true)
          }
        }),
        { numRuns: 400 },
      )
    }
    expect(narrowedAccepted).toBeGreaterThan(100)
  })

  it("records every call under its record's name and audit action", async () => {
    const before = h.audit.all().length
    for (const record of TOOL_RECORDS) await h.toolset.call(as(ALICE), record.name, { model: 'Nope' })
    const seen = h.audit
      .all()
      .slice(before)
      .map((r) => [r.tool, r.action])
    expect(seen).toEqual(TOOL_RECORDS.map((r) => [r.name, r.action]))
  })

  it('exposes one typed method per record, calling that record', async () => {
    for (const record of TOOL_RECORDS) expect(typeof h.toolset[record.key]).toBe('function')
    const before = h.audit.all().length
    await h.toolset.describeSchema(as(ALICE))
    await h.toolset.get(as(ALICE), { model: 'Nope', id: 'x' }).catch(() => undefined)
    const tools = h.audit
      .all()
      .slice(before)
      .map((r) => r.tool)
    expect(tools).toEqual([TOOLS.describeSchema.name, TOOLS.get.name])
  })
})
