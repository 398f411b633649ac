/**
 * Regression: describe_schema listed `primaryKey: ['id']` for a model whose `id` the policy denies, naming a
 * denied field (DESIGN §3: a denied field is invisible everywhere, describe_schema included).
 */
import { describe, expect, it } from 'vitest'
import { describeSchema } from '../../src/tools/describe-schema.ts'
import { bindSynthetic } from '../support/synthetic-schema.ts'

const principal = { tenantId: '0a000000-0000-4000-8000-000000000000' }

describe('describe_schema and a denied primary key', () => {
  it('leaves a denied key column out of primaryKey and fields', () => {
    const bound = bindSynthetic({
      models: {
        Widget: {
          table: 'widgets',
          fields: { id: 'deny', name: 'allow' },
          scoping: { tenant_id: 'principal.tenantId' },
        },
      },
    })
    const widget = describeSchema(bound, principal).models['Widget']
    expect(widget?.primaryKey).toEqual([])
    expect(Object.keys(widget?.fields ?? {})).toEqual(['name'])
    expect(JSON.stringify(widget)).not.toContain('"id"')
  })

  it('still lists a masked key column, which the caller can read', () => {
    const bound = bindSynthetic({
      models: {
        Widget: {
          table: 'widgets',
          fields: { id: 'mask', name: 'allow' },
          scoping: { tenant_id: 'principal.tenantId' },
        },
      },
    })
    expect(describeSchema(bound, principal).models['Widget']?.primaryKey).toEqual(['id'])
  })
})
