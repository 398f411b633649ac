/** Names of the SaaS fixture's rows and principals, shared by tests, so no test hard-codes a UUID twice. */
import type { Principal, RunContext } from '../../src/context/index.ts'

export const TENANT_A = 'a0000000-0000-4000-8000-000000000000'
export const TENANT_B = 'b0000000-0000-4000-8000-000000000000'
export const TENANT_A1 = 'a1000000-0000-4000-8000-000000000000'
export const TENANT_A2 = 'a2000000-0000-4000-8000-000000000000'

export const USER_ALICE = 'a0000000-0000-4000-8000-0000000000a1'
export const USER_ANDY = 'a0000000-0000-4000-8000-0000000000a2'
export const USER_BOB = 'b0000000-0000-4000-8000-0000000000b1'
export const USER_ERIN = 'a1000000-0000-4000-8000-0000000000e1'

export const CUSTOMER_A1 = 'c0a00000-0000-4000-8000-000000000001'
export const CUSTOMER_A2 = 'c0a00000-0000-4000-8000-000000000002'
export const CUSTOMER_A3_LABS = 'c0a00000-0000-4000-8000-000000000003'
export const CUSTOMER_A_PUBLIC = 'c0a00000-0000-4000-8000-000000000004'
export const CUSTOMER_B1 = 'c0b00000-0000-4000-8000-000000000001'
export const CUSTOMER_B2 = 'c0b00000-0000-4000-8000-000000000002'
export const CUSTOMER_B_PUBLIC = 'c0b00000-0000-4000-8000-000000000003'
export const CUSTOMER_A1_EAST = 'c0e00000-0000-4000-8000-000000000001'

export const ORDER_A1 = '0a000000-0000-4000-8000-000000000001'
export const ORDER_A2 = '0a000000-0000-4000-8000-000000000002'
export const ORDER_A3 = '0a000000-0000-4000-8000-000000000003'
export const ORDER_A4_LABS = '0a000000-0000-4000-8000-000000000004'
export const ORDER_A5_DELETED = '0a000000-0000-4000-8000-000000000005'
/** Acme's order pointing at Globex's customer: the cross-tenant FK plant. */
export const ORDER_A_PLANT = '0a000000-0000-4000-8000-0000000000ff'
export const ORDER_B1 = '0b000000-0000-4000-8000-000000000001'
export const ORDER_B2 = '0b000000-0000-4000-8000-000000000002'
export const ORDER_B3 = '0b000000-0000-4000-8000-000000000003'
export const ORDER_EAST = '0e000000-0000-4000-8000-000000000001'
export const ORDER_WEST = '0f000000-0000-4000-8000-000000000001'
export const ORDER_NO_TENANT = '00000000-0000-4000-8000-0000000000aa'

/** Acme's live (not soft-deleted) orders, main org and labs. */
export const LIVE_ORDERS_A = [ORDER_A1, ORDER_A2, ORDER_A3, ORDER_A4_LABS, ORDER_A_PLANT]

export const ALICE: Principal = {
  tenantId: TENANT_A,
  userId: USER_ALICE,
  roles: ['admin'],
  metadata: { orgId: 'main' },
}
export const ANDY: Principal = {
  tenantId: TENANT_A,
  userId: USER_ANDY,
  roles: ['member'],
  metadata: { orgId: 'labs' },
}
export const BOB: Principal = {
  tenantId: TENANT_B,
  userId: USER_BOB,
  roles: ['admin'],
  metadata: { orgId: 'main' },
}
export const ERIN: Principal = {
  tenantId: TENANT_A1,
  userId: USER_ERIN,
  roles: ['member'],
  metadata: { tenantHierarchy: [TENANT_A1, TENANT_A] },
}
export const SUPER: Principal = { tenantId: TENANT_B, userId: USER_BOB, roles: ['super_admin'] }

export function as(principal: Principal, requestId?: string): RunContext {
  return requestId === undefined ? { principal } : { principal, requestId }
}

export const TEST_SECRET = 'test-secret-0123456789abcdef'
