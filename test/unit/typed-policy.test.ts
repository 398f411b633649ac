import { describe, expect, it } from 'vitest'
import { definePolicy } from '../../src/policy/index.ts'

interface DB {
  orders: { id: string; tenant_id: string; status: string }
}

describe('definePolicy<DB>()', () => {
  it('is the same policy at run time as the untyped call, and validates the same way', () => {
    const input = {
      models: {
        Order: {
          table: 'orders',
          fields: { id: 'allow', status: 'allow' },
          scoping: { tenant_id: 'principal.tenantId' },
        },
      },
    } as const
    const typed = definePolicy<DB>()(input)
    const plain = definePolicy(input)
    expect(typed.versionHash).toBe(plain.versionHash)
    expect(typed.models['Order']?.scoping.map((s) => s.column)).toEqual(['tenant_id'])
    expect(() =>
      definePolicy<DB>()({ models: { Order: { table: 'orders', budget: { maxRows: -1 } } } }),
    ).toThrow(/maxRows/)
  })
})
