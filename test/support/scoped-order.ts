/**
 * The SaaS fixture's `orders` table as most suites model it: scoped to the caller's tenant (`tenant_id =
 * principal.tenantId`), with `org_id` — a reporting label inside a tenant, not a boundary — waived. Each suite
 * names its own fields and adds what it tests (write modes, row policies, budgets, relations); spelling the
 * model out in every file made a change to the fixture's boundary a change to a dozen files.
 */
import type { ModelPolicyInput, PolicyInput } from '../../src/policy/policy-schema.ts'

type Fields = NonNullable<ModelPolicyInput['fields']>

/** The fields of the smallest useful Order: its key, its tenant and one writable column. */
export const ORDER_ID_TENANT_STATUS: Fields = Object.freeze({
  id: 'allow',
  tenant_id: 'allow',
  status: 'allow',
})

/** The fields the read suites show: every column but the denied ones and the soft-delete and audit columns. */
export const ORDER_READ_FIELDS: Fields = Object.freeze({
  id: 'allow',
  tenant_id: 'allow',
  org_id: 'allow',
  customer_id: 'allow',
  status: 'allow',
  total: 'allow',
  created_at: 'allow',
})

/** The Order model over `orders`, scoped to the caller's tenant, with `fields` and whatever `extra` adds. */
export function scopedOrder(
  fields: Fields,
  extra: Omit<ModelPolicyInput, 'table' | 'fields'> = {},
): ModelPolicyInput {
  return {
    table: 'orders',
    unscopedColumns: ['org_id'],
    fields,
    scoping: { tenant_id: 'principal.tenantId' },
    ...extra,
  }
}

/** A policy whose only model is scopedOrder(fields, extra). */
export function orderOnlyPolicy(
  fields: Fields = ORDER_ID_TENANT_STATUS,
  extra: Omit<ModelPolicyInput, 'table' | 'fields'> = {},
): PolicyInput {
  return { models: { Order: scopedOrder(fields, extra) } }
}
