/**
 * Deliberately broken variants of policies/demo.yaml and policies/not-null-tenant.yaml (each still loads and
 * binds): the eval harness must catch every one of them when it judges by the original policy.
 */
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { parse } from 'yaml'
import type { PolicyInput } from '../../src/policy/policy-schema.ts'

function policyInput(name: string): any {
  const file = fileURLToPath(new URL(`../../policies/${name}.yaml`, import.meta.url))
  const input = parse(readFileSync(file, 'utf8'))
  delete input.$schema
  return input
}

export const DEMO: PolicyInput = policyInput('demo')
export const NOT_NULL_TENANT: PolicyInput = policyInput('not-null-tenant')

/** Scoping removed from orders (declared shared, the only way such a policy still loads). */
export function ordersUnscoped(): PolicyInput {
  const p = policyInput('demo')
  delete p.models.Order.scoping
  delete p.models.Order.unscopedColumns
  p.models.Order.shared = true
  return p
}

/** A denied field flipped to allow. */
export function passwordAllowed(): PolicyInput {
  const p = policyInput('demo')
  p.models.User.fields.password_hash = 'allow'
  return p
}

/** A relation's target (Customer, reached from Order.customer) loses its scoping. */
export function customersUnscoped(): PolicyInput {
  const p = policyInput('demo')
  delete p.models.Customer.scoping
  delete p.models.Customer.unscopedColumns
  p.models.Customer.shared = true
  return p
}

/** A masked field flipped to allow. */
export function emailUnmasked(): PolicyInput {
  const p = policyInput('demo')
  p.models.Customer.fields.email = 'allow'
  return p
}

/** The restrictive `tenant_id IS NOT NULL` dropped: the bypass now reaches the order with no tenant. */
export function restrictiveDropped(): PolicyInput {
  const p = policyInput('not-null-tenant')
  p.models.Order.rowPolicies = p.models.Order.rowPolicies.filter(
    (r: { name: string }) => r.name !== 'tenant_required',
  )
  return p
}
